"""service orders: a reminder before a request to order or an offer expires, sent once

`reminded_at` on `order_request` and `offer`: the sweep claims a reminder with a guarded
UPDATE (`reminded_at IS NULL`) in the transaction of its outbox mail.

Revision ID: 0032_orders_more
Revises: 0031_appointments
Create Date: 2026-12-04 18:20:00

"""
import sqlalchemy as sa
from alembic import op

from backoffice.models.types import UTCDateTime

revision = "0032_orders_more"
down_revision = "0031_appointments"
branch_labels = None
depends_on = None


def upgrade():
    for table in ("order_request", "offer"):
        op.add_column(table, sa.Column("reminded_at", UTCDateTime(timezone=True), nullable=True))


def downgrade():
    for table in ("offer", "order_request"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("reminded_at")
