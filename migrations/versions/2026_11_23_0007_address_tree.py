"""downline: the tree's path, depth and a copy of the type in a narrow table of their own

A move rewrites path and depth of the whole moved downline; in the wide address row every
new row version entered all 12 of its indexes. The rows are copied over as they are (the
previous release kept them in step), then the columns leave `address`.

Revision ID: 0007_address_tree
Revises: 0006_level_counts_index
Create Date: 2026-11-23 05:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0007_address_tree"
down_revision = "0006_level_counts_index"
branch_labels = None
depends_on = None

TREE_PATH = sa.String(2000).with_variant(sa.String(2000, collation="C"), "postgresql")


def upgrade():
    op.create_table(
        "address_tree",
        sa.Column("address_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("path", TREE_PATH, nullable=True),
        sa.Column("depth", sa.Integer(), nullable=True),
        sa.Column("type", sa.Enum("new_customer", "customer", "partner", name="address_type",
                                  native_enum=False, length=24), nullable=False),
        sa.ForeignKeyConstraint(["address_id"], ["address.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("address_id"),
    )
    op.execute("INSERT INTO address_tree (address_id, path, depth, type) "
               "SELECT id, path, depth, type FROM address")
    # Indexes after the rows: one sort each instead of a million inserts.
    op.create_index("ix_address_tree_path", "address_tree", ["path", "depth", "type"], unique=False,
                    postgresql_include=["address_id"])
    op.create_index("ix_address_tree_depth_type_path", "address_tree", ["depth", "type", "path"],
                    unique=False)
    with op.batch_alter_table("address") as batch_op:
        batch_op.drop_index("ix_address_depth_type_path")
        batch_op.drop_index("ix_address_path")
        batch_op.drop_column("depth")
        batch_op.drop_column("path")


def downgrade():
    with op.batch_alter_table("address") as batch_op:
        batch_op.add_column(sa.Column("path", TREE_PATH, nullable=True))
        batch_op.add_column(sa.Column("depth", sa.Integer(), nullable=True))
    op.execute("UPDATE address SET path = (SELECT t.path FROM address_tree t WHERE t.address_id = address.id), "
               "depth = (SELECT t.depth FROM address_tree t WHERE t.address_id = address.id)")
    with op.batch_alter_table("address") as batch_op:
        batch_op.create_index("ix_address_path", ["path", "depth", "type"], unique=False)
        batch_op.create_index("ix_address_depth_type_path", ["depth", "type", "path"], unique=False)
    op.drop_index("ix_address_tree_depth_type_path", table_name="address_tree")
    op.drop_index("ix_address_tree_path", table_name="address_tree")
    op.drop_table("address_tree")
