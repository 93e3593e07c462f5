"""marketplace: bids per category with their history and monthly spending, customers'
requests, direct requests and the charge each costs, once per request and partner, reviews

Revision ID: 0018_marketplace
Revises: 0012_directory
Create Date: 2026-12-04 13:00:00

"""
import sqlalchemy as sa
from alembic import op

from backoffice.models.types import UTCDateTime

revision = "0018_marketplace"
down_revision = "0012_directory"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(precision=12, scale=2)


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, length=24)


def upgrade():
    with op.batch_alter_table("category") as batch_op:
        batch_op.add_column(sa.Column("min_bid", MONEY, nullable=False, server_default="5.00"))
    op.create_table(
        "category_bid",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="CASCADE"), nullable=False),
        sa.Column("category_id", sa.Integer(), sa.ForeignKey("category.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("monthly_budget", MONEY, nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("partner_id", "category_id", name="uq_category_bid_partner_category"),
        sa.CheckConstraint("amount > 0", name="ck_category_bid_amount_positive"),
        sa.CheckConstraint("monthly_budget IS NULL OR monthly_budget > 0", name="ck_category_bid_budget"),
    )
    op.create_index("ix_category_bid_category_active", "category_bid", ["category_id", "paused"])
    op.create_table(
        "bid_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bid_id", sa.Integer(), sa.ForeignKey("category_bid.id", ondelete="CASCADE"), nullable=False),
        sa.Column("changed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("old_amount", MONEY, nullable=True),
        sa.Column("new_amount", MONEY, nullable=False),
        sa.Column("old_budget", MONEY, nullable=True),
        sa.Column("new_budget", MONEY, nullable=True),
        sa.Column("old_paused", sa.Boolean(), nullable=True),
        sa.Column("new_paused", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_bid_change_bid_id", "bid_change", ["bid_id"])
    op.create_table(
        "budget_month",
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("category_id", sa.Integer(), sa.ForeignKey("category.id", ondelete="RESTRICT"),
                  primary_key=True),
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("spent", MONEY, nullable=False),
    )
    op.create_table(
        "lead_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("category_id", sa.Integer(), sa.ForeignKey("category.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("preferred_dates", sa.String(200), nullable=True),
        sa.Column("postal_code", sa.String(5), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("customer_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("address_id", sa.Integer(), sa.ForeignKey("address.id", ondelete="SET NULL"), nullable=True),
        sa.Column("status", _enum("request_status", "unconfirmed", "open", "closed"), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_lead_request_address_id", "lead_request", ["address_id"])
    op.create_index("ix_lead_request_email_day", "lead_request", ["email", "category_id", "postal_code",
                                                                  "created_at"])
    op.create_table(
        "direct_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("lead_request.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("status", _enum("direct_status", "new", "seen", "contacted", "appointment", "done", "lost"),
                  nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_in_time", sa.Boolean(), nullable=True),
        sa.Column("status_changed_at", UTCDateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("request_id", "partner_id", name="uq_direct_request_request_partner"),
    )
    op.create_index("ix_direct_request_partner_status", "direct_request", ["partner_id", "status"])
    op.create_table(
        "lead_charge",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("direct_request_id", sa.Integer(), sa.ForeignKey("direct_request.id", ondelete="RESTRICT"),
                  nullable=False, unique=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("lead_request.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("category_id", sa.Integer(), sa.ForeignKey("category.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("net", MONEY, nullable=False),
        sa.Column("vat_rate", sa.Numeric(precision=4, scale=2), nullable=False),
        sa.Column("charged_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.UniqueConstraint("request_id", "partner_id", name="uq_lead_charge_request_partner"),
    )
    op.create_index("ix_lead_charge_partner_charged", "lead_charge", ["partner_id", "charged_at"])
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("direct_request_id", sa.Integer(), sa.ForeignKey("direct_request.id", ondelete="RESTRICT"),
                  nullable=False, unique=True),
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("hidden_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="ck_review_stars"),
    )
    op.create_index("ix_review_partner_visible", "review", ["partner_id", "hidden"])
    op.create_table(
        "charge_dispute",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("charge_id", sa.Integer(), sa.ForeignKey("lead_charge.id", ondelete="RESTRICT"), nullable=False,
                  unique=True),
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("reason", _enum("dispute_reason", "duplicate", "unreachable", "outside", "fake"), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", _enum("dispute_status", "open", "accepted", "refused"), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_charge_dispute_partner_id", "charge_dispute", ["partner_id"])


def downgrade():
    op.drop_index("ix_charge_dispute_partner_id", table_name="charge_dispute")
    op.drop_table("charge_dispute")
    op.drop_index("ix_review_partner_visible", table_name="review")
    op.drop_table("review")
    op.drop_index("ix_lead_charge_partner_charged", table_name="lead_charge")
    op.drop_table("lead_charge")
    op.drop_index("ix_direct_request_partner_status", table_name="direct_request")
    op.drop_table("direct_request")
    op.drop_index("ix_lead_request_email_day", table_name="lead_request")
    op.drop_index("ix_lead_request_address_id", table_name="lead_request")
    op.drop_table("lead_request")
    op.drop_table("budget_month")
    op.drop_index("ix_bid_change_bid_id", table_name="bid_change")
    op.drop_table("bid_change")
    op.drop_index("ix_category_bid_category_active", table_name="category_bid")
    op.drop_table("category_bid")
    with op.batch_alter_table("category") as batch_op:
        batch_op.drop_column("min_bid")
