"""marketplace: indexes for the ranking's prefilter and its responsiveness signal

`partner_profile.radius_km` is indexed so the ranking finds the few partners whose radius
is wider than its box directly; `direct_request (partner_id, created_at, answered_in_time)`
answers the responsiveness of the last 90 days from the index alone.

Revision ID: 0023_marketplace_more
Revises: 0022_service_orders
Create Date: 2026-12-04 15:00:00

"""
from alembic import op

revision = "0023_marketplace_more"
down_revision = "0022_service_orders"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_partner_profile_radius", "partner_profile", ["radius_km"])
    op.create_index("ix_direct_request_partner_created", "direct_request",
                    ["partner_id", "created_at", "answered_in_time"])


def downgrade():
    op.drop_index("ix_direct_request_partner_created", table_name="direct_request")
    op.drop_index("ix_partner_profile_radius", table_name="partner_profile")
