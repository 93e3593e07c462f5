"""imports: import log, voucher external key, codes reserved for a customer

Revision ID: 0005_imports
Revises: 0004_jobs
Create Date: 2026-11-22 22:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0005_imports"
down_revision = "0004_jobs"
branch_labels = None
depends_on = None

STATUS = ("uploaded", "running", "checked", "rejected", "imported", "failed")


def upgrade():
    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_path", sa.String(length=1000), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("encoding", sa.String(length=32), nullable=True),
        sa.Column("separator", sa.String(length=8), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Enum(*STATUS, name="import_status", native_enum=False, length=24),
                  nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("errors_json", sa.Text(), nullable=True),
        sa.Column("columns_json", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_import_run_kind", "import_run", ["kind"])
    op.create_index("ix_import_run_user_id", "import_run", ["user_id"])
    op.create_index("ix_import_run_created_at", "import_run", ["created_at"])
    with op.batch_alter_table("voucher", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_voucher_external_key", ["external_key"])
    with op.batch_alter_table("voucher_code", schema=None) as batch_op:
        batch_op.add_column(sa.Column("for_customer_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_voucher_code_for_customer_id", "address", ["for_customer_id"], ["id"],
                                    ondelete="RESTRICT")
        batch_op.create_index("ix_voucher_code_for_customer_id", ["for_customer_id"])


def downgrade():
    with op.batch_alter_table("voucher_code", schema=None) as batch_op:
        batch_op.drop_index("ix_voucher_code_for_customer_id")
        batch_op.drop_constraint("fk_voucher_code_for_customer_id", type_="foreignkey")
        batch_op.drop_column("for_customer_id")
    with op.batch_alter_table("voucher", schema=None) as batch_op:
        batch_op.drop_constraint("uq_voucher_external_key", type_="unique")
        batch_op.drop_column("external_key")
    op.drop_index("ix_import_run_created_at", table_name="import_run")
    op.drop_index("ix_import_run_user_id", table_name="import_run")
    op.drop_index("ix_import_run_kind", table_name="import_run")
    op.drop_table("import_run")
