"""mail outbox: an index on the lower-cased recipient

The personal data export and the erasure find a person's mails by `lower(recipient)` (an
address is the same in any case); without an index on that expression each of them reads
the whole outbox, which keeps every mail ever sent. Nothing is rewritten: recipients stay
as they were written.

Revision ID: 0036_outbox_recipient
Revises: 0035_lead_month
Create Date: 2026-12-05 01:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0036_outbox_recipient"
down_revision = "0035_lead_month"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_mail_outbox_recipient_lower", "mail_outbox", [sa.text("lower(recipient)")])


def downgrade():
    op.drop_index("ix_mail_outbox_recipient_lower", table_name="mail_outbox")
