"""desk: a sponsor's firstline by downline size

The drawn downline shows a firstline's biggest downlines first, a page at a time; with
`(sponsor_id, downline_count, id)` the first page of a 25,000 firstline is an index range
instead of a sort of the whole firstline.

Revision ID: 0025_desk
Revises: 0023_marketplace_more
Create Date: 2026-12-04 16:00:00

"""
from alembic import op

revision = "0025_desk"
down_revision = "0023_marketplace_more"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_address_sponsor_downline", "address", ["sponsor_id", "downline_count", "id"])


def downgrade():
    op.drop_index("ix_address_sponsor_downline", table_name="address")
