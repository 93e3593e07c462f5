"""downline: index (depth, type, path) for counts per level instead of the index on depth

Revision ID: 0006_level_counts_index
Revises: 0005_imports
Create Date: 2026-11-23 01:40:00

"""
from alembic import op


revision = "0006_level_counts_index"
down_revision = "0005_imports"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("address") as batch_op:
        batch_op.drop_index("ix_address_depth")
        batch_op.create_index("ix_address_depth_type_path", ["depth", "type", "path"], unique=False)


def downgrade():
    with op.batch_alter_table("address") as batch_op:
        batch_op.drop_index("ix_address_depth_type_path")
        batch_op.create_index("ix_address_depth", ["depth"], unique=False)
