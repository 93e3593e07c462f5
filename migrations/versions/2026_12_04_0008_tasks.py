"""tasks: the background-job table becomes `task` ("job" now means the marketplace's jobs)

The rows stay. `job_status` was never a database type (a VARCHAR without CHECK constraint,
native_enum=False), so only the table, its indexes and, on PostgreSQL, the names the
database derived from the table (sequence, primary and foreign key) are renamed. The cleanup
task's kind follows its new name, and an import's link to its task becomes `task_id`.

Revision ID: 0008_tasks
Revises: 0007_address_tree
Create Date: 2026-12-04 09:00:00

"""
from alembic import op


revision = "0008_tasks"
down_revision = "0007_address_tree"
branch_labels = None
depends_on = None

INDEXES = {"user_created": ["user_id", "created_at"], "status": ["status"]}


def _rename(old: str, new: str, old_kind: str, new_kind: str, old_column: str, new_column: str) -> None:
    op.rename_table(old, new)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER SEQUENCE {old}_id_seq RENAME TO {new}_id_seq")
        op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT {old}_pkey TO {new}_pkey")
        op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT {old}_user_id_fkey TO {new}_user_id_fkey")
        for name in INDEXES:
            op.execute(f"ALTER INDEX ix_{old}_{name} RENAME TO ix_{new}_{name}")
    else:
        # SQLite cannot rename an index: build it again under its new name.
        with op.batch_alter_table(new) as batch_op:
            for name, columns in INDEXES.items():
                batch_op.drop_index(f"ix_{old}_{name}")
                batch_op.create_index(f"ix_{new}_{name}", columns, unique=False)
    op.execute(f"UPDATE {new} SET kind = '{new_kind}' WHERE kind = '{old_kind}'")
    with op.batch_alter_table("import_run") as batch_op:
        batch_op.alter_column(old_column, new_column_name=new_column)


def upgrade():
    _rename("job", "task", "jobs.cleanup", "tasks.cleanup", "job_id", "task_id")


def downgrade():
    _rename("task", "job", "tasks.cleanup", "jobs.cleanup", "task_id", "job_id")
