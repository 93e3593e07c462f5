"""conversations: customer-started threads with partners, their messages, and blocked customers

Revision ID: 0019_conversations
Revises: 0010_integrity
Create Date: 2026-12-04 15:00:00

"""
import sqlalchemy as sa
from alembic import op

from backoffice.models.types import UTCDateTime

revision = "0019_conversations"
down_revision = "0010_integrity"
branch_labels = None
depends_on = None


def _party():
    return sa.Enum("customer", "partner", name="party", native_enum=False, length=24)


def upgrade():
    op.create_table(
        "conversation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("address.id", ondelete="RESTRICT"),
                  nullable=False),
        sa.Column("service_id", sa.Integer(), sa.ForeignKey("service.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("store_name", sa.String(200), nullable=True),
        sa.Column("store_url", sa.String(500), nullable=True),
        sa.Column("requirements", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_message_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_message_by", _party(), nullable=False),
        sa.Column("declined_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("declined_by", _party(), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_conversation_partner_last", "conversation", ["partner_id", "last_message_at"])
    op.create_index("ix_conversation_customer_last", "conversation", ["customer_id", "last_message_at"])
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversation.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("sender", _party(), nullable=False),
        sa.Column("author_user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_message_conversation_id", "message", ["conversation_id", "id"])
    op.create_table(
        "customer_block",
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("address.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("blocked_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_by_user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
    )


def downgrade():
    op.drop_table("customer_block")
    op.drop_index("ix_message_conversation_id", table_name="message")
    op.drop_table("message")
    op.drop_index("ix_conversation_customer_last", table_name="conversation")
    op.drop_index("ix_conversation_partner_last", table_name="conversation")
    op.drop_table("conversation")
