"""expert jobs: staff hide a job review with a reason, as a direct request's review

`hidden` and `hidden_reason` on `job_review`: a hidden review leaves the public profile and
the partner's rating.

Revision ID: 0034_job_review_hide
Revises: 0032_orders_more
Create Date: 2026-12-04 21:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0034_job_review_hide"
down_revision = "0032_orders_more"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("job_review", sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("job_review", sa.Column("hidden_reason", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("job_review") as batch:
        batch.drop_column("hidden_reason")
        batch.drop_column("hidden")
