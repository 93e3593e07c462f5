"""sessions: a login generation per user; raising it ends the user's sessions and tokens

Revision ID: 0015_sessions
Revises: 0011_teams
Create Date: 2026-12-04 13:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0015_sessions"
down_revision = "0011_teams"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_generation",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade():
    op.drop_table("login_generation")
