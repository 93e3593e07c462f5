"""marketplace: appointment dates, review requests once, the ranking shown to the customer

`direct_request.appointment_on` is the day the partner agreed with the customer;
`review_asked_at` records that the customer was asked for a review (after "done" or 14 days
after the appointment), so the periodic sweep asks exactly once. `lead_request.ranking` keeps
the ranking the customer was shown (JSON), which a direct request's receipt quotes.

Revision ID: 0031_appointments
Revises: 0030_desk_counters
Create Date: 2026-12-04 18:00:00

"""
import sqlalchemy as sa
from alembic import op

from backoffice.models.types import UTCDateTime

revision = "0031_appointments"
down_revision = "0030_desk_counters"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("direct_request") as batch:
        batch.add_column(sa.Column("appointment_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("review_asked_at", UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_direct_request_appointment_ask", "direct_request", ["appointment_on", "review_asked_at"])
    with op.batch_alter_table("lead_request") as batch:
        batch.add_column(sa.Column("ranking", sa.Text(), nullable=True))
        batch.add_column(sa.Column("ranked_at", UTCDateTime(timezone=True), nullable=True))
    # Jobs marked done before this revision asked for their review already.
    op.execute("UPDATE direct_request SET review_asked_at = COALESCE(status_changed_at, created_at) WHERE status = 'done'")


def downgrade():
    with op.batch_alter_table("lead_request") as batch:
        batch.drop_column("ranked_at")
        batch.drop_column("ranking")
    op.drop_index("ix_direct_request_appointment_ask", table_name="direct_request")
    with op.batch_alter_table("direct_request") as batch:
        batch.drop_column("review_asked_at")
        batch.drop_column("appointment_on")
