"""service orders: request to order with time windows, customers' requests, custom offers

Revision ID: 0022_service_orders
Revises: 0021_jobs
Create Date: 2026-12-04 16:00:00

"""

import sqlalchemy as sa
from alembic import op

from backoffice.models.types import UTCDateTime

revision = "0022_service_orders"
down_revision = "0021_jobs"
branch_labels = None
depends_on = None


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, length=24)


def _party():
    return sa.Enum("customer", "partner", name="party", native_enum=False, length=24)


ORDER_STATUS = ("ordered", "in_progress", "delivered", "revision", "completed", "cancelled")


def _money():
    return sa.Numeric(12, 2)


def upgrade():
    op.create_table(
        "request_to_order",
        sa.Column(
            "service_id", sa.Integer(), sa.ForeignKey("service.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("audience", _enum("order_audience", "new_customers", "all_customers"), nullable=False),
        sa.Column("weekdays", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("weekdays >= 0 AND weekdays <= 127", name="ck_request_to_order_days"),
    )
    op.create_table(
        "request_window",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("request_to_order.service_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.CheckConstraint("start_minute >= 0 AND start_minute < 1440", name="ck_request_window_start"),
        sa.CheckConstraint(
            "end_minute > 0 AND end_minute <= 1440 AND end_minute <> start_minute",
            name="ck_request_window_end",
        ),
    )
    op.create_index("ix_request_window_service_id", "request_window", ["service_id"])
    op.create_table(
        "request_package",
        sa.Column(
            "package_id",
            sa.Integer(),
            sa.ForeignKey("service_package.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "service_id",
            sa.Integer(),
            sa.ForeignKey("request_to_order.service_id", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    op.create_index("ix_request_package_service_id", "request_package", ["service_id"])
    op.create_table(
        "order_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.Integer(), sa.ForeignKey("address.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column(
            "service_id", sa.Integer(), sa.ForeignKey("service.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column(
            "package_id",
            sa.Integer(),
            sa.ForeignKey("service_package.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversation.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("needs", sa.Text(), nullable=False),
        sa.Column("wished_start", sa.Date(), nullable=True),
        sa.Column(
            "state",
            _enum(
                "order_request_state",
                "pending",
                "offer_sent",
                "accepted",
                "offer_expired",
                "declined",
                "withdrawn",
                "expired",
                "closed",
            ),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer_due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("decline_message", sa.Text(), nullable=True),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_order_request_partner_state", "order_request", ["partner_id", "state", "created_at"])
    op.create_index("ix_order_request_customer", "order_request", ["customer_id", "partner_id"])
    op.create_index("ix_order_request_state_due", "order_request", ["state", "answer_due_at"])
    op.create_table(
        "offer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.Integer(), sa.ForeignKey("address.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversation.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column(
            "message_id", sa.Integer(), sa.ForeignKey("message.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column(
            "request_id", sa.Integer(), sa.ForeignKey("order_request.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column(
            "service_id", sa.Integer(), sa.ForeignKey("service.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column(
            "package_id",
            sa.Integer(),
            sa.ForeignKey("service_package.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("price", _money(), nullable=False),
        sa.Column("delivery_days", sa.Integer(), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "state",
            _enum("offer_state", "open", "accepted", "declined", "withdrawn", "expired", "closed"),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "created_by_user_id",
            sa.Integer(),
            sa.ForeignKey("ab_user.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("price >= 0", name="ck_offer_price"),
        sa.CheckConstraint("delivery_days >= 0", name="ck_offer_delivery"),
    )
    op.create_index("ix_offer_request_id", "offer", ["request_id"])
    op.create_index("ix_offer_partner_state", "offer", ["partner_id", "state"])
    op.create_index("ix_offer_customer_state", "offer", ["customer_id", "state"])
    op.create_index("ix_offer_state_expires", "offer", ["state", "expires_at"])
    op.create_table(
        "service_order",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.Integer(), sa.ForeignKey("address.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column(
            "service_id", sa.Integer(), sa.ForeignKey("service.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column(
            "package_id",
            sa.Integer(),
            sa.ForeignKey("service_package.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column(
            "offer_id",
            sa.Integer(),
            sa.ForeignKey("offer.id", ondelete="RESTRICT"),
            nullable=True,
            unique=True,
        ),
        sa.Column("title", sa.String(330), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("gross", _money(), nullable=False),
        sa.Column("vat_rate", sa.Numeric(4, 2), nullable=False),
        sa.Column("net", _money(), nullable=False),
        sa.Column("vat", _money(), nullable=False),
        sa.Column("delivery_days", sa.Integer(), nullable=False),
        sa.Column("status", _enum("service_order_status", *ORDER_STATUS), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", _party(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("gross >= 0 AND net >= 0 AND vat >= 0", name="ck_service_order_amounts"),
    )
    op.create_index(
        "ix_service_order_partner_customer", "service_order", ["partner_id", "customer_id", "status"]
    )
    op.create_index("ix_service_order_partner_created", "service_order", ["partner_id", "created_at"])
    op.create_index("ix_service_order_customer", "service_order", ["customer_id", "created_at"])
    op.create_table(
        "service_order_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "order_id", sa.Integer(), sa.ForeignKey("service_order.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("from_status", _enum("service_order_status", *ORDER_STATUS), nullable=True),
        sa.Column("to_status", _enum("service_order_status", *ORDER_STATUS), nullable=False),
        sa.Column("by", _party(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_service_order_event_order", "service_order_event", ["order_id", "id"])


def downgrade():
    op.drop_table("service_order_event")
    op.drop_table("service_order")
    op.drop_table("offer")
    op.drop_table("order_request")
    op.drop_table("request_package")
    op.drop_table("request_window")
    op.drop_table("request_to_order")
