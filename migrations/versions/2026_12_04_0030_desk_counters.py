"""desk counters: the number of registered addresses that never ordered, kept

The staff start page shows how many addresses are still new customers; counting them per
page view grows with the table, so the count is kept in a row of `address_counter`,
changed by the transactions that register, retype and delete addresses. The row starts
from the addresses already there.

Revision ID: 0030_desk_counters
Revises: 0027_profiles_more
Create Date: 2026-12-04 18:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0030_desk_counters"
down_revision = "0027_profiles_more"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "address_counter",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.execute("INSERT INTO address_counter (name, value) "
               "SELECT 'never_ordered', COUNT(*) FROM address WHERE type = 'new_customer'")


def downgrade():
    op.drop_table("address_counter")
