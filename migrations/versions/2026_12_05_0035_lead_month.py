"""marketplace: each partner's direct requests per month and how many it answered in time

`lead_month` keeps the responsiveness signal's counts per partner and month (company time
zone), raised as direct requests are sent and answered; the ranking sums a partner's last
months instead of counting its direct requests. Filled from the direct requests stored.

Revision ID: 0035_lead_month
Revises: 0034_job_review_hide
Create Date: 2026-12-05 00:10:00

"""
from collections import Counter
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from flask import current_app, has_app_context

from backoffice.models.types import UTCDateTime

revision = "0035_lead_month"
down_revision = "0034_job_review_hide"
branch_labels = None
depends_on = None


def _zone() -> str:
    return current_app.config.get("COMPANY_TIME_ZONE", "Europe/Berlin") if has_app_context() else "Europe/Berlin"


def upgrade():
    op.create_table(
        "lead_month",
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="CASCADE"), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("leads", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "month"),
        sa.CheckConstraint("answered <= leads", name="ck_lead_month_answered"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_lead_month_counts", "lead_month", ["partner_id", "month", "leads", "answered"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.execute(
            sa.text(
                "INSERT INTO lead_month (partner_id, month, leads, answered) "
                "SELECT partner_id, date_trunc('month', created_at AT TIME ZONE :zone)::date, count(*), "
                "count(*) FILTER (WHERE answered_in_time) FROM direct_request GROUP BY 1, 2"
            ),
            {"zone": _zone()},
        )
        return
    # SQLite has no time zones: the months are counted here, reading the rows in order.
    zone = ZoneInfo(_zone())
    direct = sa.table("direct_request", sa.column("partner_id", sa.Integer()), sa.column("created_at", UTCDateTime()),
                      sa.column("answered_in_time", sa.Boolean()))
    leads, answered = Counter(), Counter()
    for partner_id, created_at, in_time in bind.execute(
        sa.select(direct.c.partner_id, direct.c.created_at, direct.c.answered_in_time)
    ):
        key = (partner_id, created_at.astimezone(zone).date().replace(day=1))
        leads[key] += 1
        answered[key] += bool(in_time)
    months = sa.table("lead_month", sa.column("partner_id"), sa.column("month", sa.Date()), sa.column("leads"),
                      sa.column("answered"))
    rows = [{"partner_id": p, "month": m, "leads": n, "answered": answered[(p, m)]} for (p, m), n in leads.items()]
    for start in range(0, len(rows), 20_000):
        bind.execute(sa.insert(months), rows[start : start + 20_000])


def downgrade():
    op.drop_table("lead_month")
