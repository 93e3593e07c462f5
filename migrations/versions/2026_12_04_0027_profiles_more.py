"""directory: the search's service indexes carry the partner id (index-only scans)

The radius search reads the partner ids of a category's active services inside a box, and of
its Germany-wide ones; with `partner_id` as the last key column both come from the index
alone, without visiting the table's pages (a plain column, not `INCLUDE`, so SQLite has the
same index).

Revision ID: 0027_profiles_more
Revises: 0026_billing_more
Create Date: 2026-12-04 15:10:00

"""
from alembic import op

revision = "0027_profiles_more"
down_revision = "0026_billing_more"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_service_category_location", table_name="service")
    op.create_index("ix_service_category_location", "service",
                    ["category_id", "active", "latitude", "longitude", "partner_id"])
    op.drop_index("ix_service_category_germany_wide", table_name="service")
    op.create_index("ix_service_category_germany_wide", "service",
                    ["category_id", "active", "germany_wide", "partner_id"])


def downgrade():
    op.drop_index("ix_service_category_germany_wide", table_name="service")
    op.create_index("ix_service_category_germany_wide", "service", ["category_id", "active", "germany_wide"])
    op.drop_index("ix_service_category_location", table_name="service")
    op.create_index("ix_service_category_location", "service",
                    ["category_id", "active", "latitude", "longitude"])
