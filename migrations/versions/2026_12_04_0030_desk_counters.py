"""desk counters: registered addresses that never ordered, registrations and first orders per day, kept

The staff start page shows how many addresses are still new customers and the registrations
and first orders of the last 30 days; counting them per page view grows with the table, so
the counts are kept in rows of `address_counter`, changed by the transactions that register,
retype, order and delete addresses. The rows start from the addresses already there. The newest audit entries (the start page's "recent
changes", the trail's list) come from an index on the time instead of a sort of the trail.

Revision ID: 0030_desk_counters
Revises: 0029_invoice_mail
Create Date: 2026-12-04 18:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0030_desk_counters"
down_revision = "0029_invoice_mail"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "address_counter",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False, server_default="0"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"

    def day(column):
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')" if postgres else f"substr({column}, 1, 10)"

    op.execute("INSERT INTO address_counter (name, value) "
               "SELECT 'never_ordered', COUNT(*) FROM address WHERE type = 'new_customer'")
    op.execute(f"INSERT INTO address_counter (name, value) SELECT 'registered:' || {day('registered_at')}, "
               f"COUNT(*) FROM address GROUP BY {day('registered_at')}")
    op.execute(f"INSERT INTO address_counter (name, value) SELECT 'first_order:' || {day('first_order_at')}, "
               f"COUNT(*) FROM address WHERE first_order_at IS NOT NULL GROUP BY {day('first_order_at')}")
    op.create_index("ix_audit_entry_time", "audit_entry", ["occurred_at", "id"])


def downgrade():
    op.drop_index("ix_audit_entry_time", table_name="audit_entry")
    op.drop_table("address_counter")
