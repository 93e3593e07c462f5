"""downline tree: materialized path, depth, maintained sizes; visibility; export log

Revision ID: 0003_downline
Revises: 0002_vouchers
Create Date: 2026-11-22 21:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0003_downline"
down_revision = "0002_vouchers"
branch_labels = None
depends_on = None

TREE_PATH = sa.String(2000).with_variant(sa.String(2000, collation="C"), "postgresql")


def upgrade():
    with op.batch_alter_table("address", schema=None) as batch_op:
        batch_op.add_column(sa.Column("path", TREE_PATH, nullable=True))
        batch_op.add_column(sa.Column("depth", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("firstline_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("downline_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index("ix_address_path", ["path", "depth", "type"], unique=False)
        batch_op.create_index("ix_address_sponsor_name", ["sponsor_id", "last_name", "first_name", "id"],
                              unique=False)
        batch_op.create_index("ix_address_sponsor_type_registered",
                              ["sponsor_id", "type", "registered_at", "id"], unique=False)
        batch_op.create_index("ix_address_depth", ["depth"], unique=False)

    op.create_table(
        "downline_visibility",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "field", name="uq_downline_visibility_scope_field"),
    )
    op.create_table(
        "personal_data_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=100), nullable=False),
        sa.Column("root_address_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("personal_data_export", schema=None) as batch_op:
        batch_op.create_index("ix_personal_data_export_time", ["occurred_at"], unique=False)

    _backfill(op.get_bind())


def _backfill(conn):
    """Paths, depths and sizes from sponsor_id, level by level (a no-op on an empty table).

    Written out here rather than calling downline.maintenance: the tree moved to its own
    table in 0007, and a migration must keep doing what it did at its own revision."""
    conn.execute(sa.text("UPDATE address SET path = '/', depth = 0 WHERE sponsor_id IS NULL"))
    depth = 0
    while conn.execute(sa.text(
            "UPDATE address SET depth = :d + 1, path = (SELECT s.path || CAST(s.id AS TEXT) || '/' "
            "FROM address s WHERE s.id = address.sponsor_id) "
            "WHERE path IS NULL AND sponsor_id IN (SELECT id FROM address WHERE depth = :d)"),
            {"d": depth}).rowcount:
        depth += 1
    conn.execute(sa.text("UPDATE address SET firstline_count = (SELECT COUNT(*) FROM address c "
                         "WHERE c.sponsor_id = address.id)"))
    for level in range(depth, -1, -1):
        conn.execute(sa.text("UPDATE address SET downline_count = (SELECT COALESCE(SUM(c.downline_count + 1), 0) "
                             "FROM address c WHERE c.sponsor_id = address.id) WHERE depth = :d"), {"d": level})


def downgrade():
    with op.batch_alter_table("personal_data_export", schema=None) as batch_op:
        batch_op.drop_index("ix_personal_data_export_time")
    op.drop_table("personal_data_export")
    op.drop_table("downline_visibility")
    with op.batch_alter_table("address", schema=None) as batch_op:
        batch_op.drop_index("ix_address_depth")
        batch_op.drop_index("ix_address_sponsor_type_registered")
        batch_op.drop_index("ix_address_sponsor_name")
        batch_op.drop_index("ix_address_path")
        batch_op.drop_column("downline_count")
        batch_op.drop_column("firstline_count")
        batch_op.drop_column("depth")
        batch_op.drop_column("path")
