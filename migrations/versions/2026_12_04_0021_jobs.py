"""jobs: expert jobs (match, direct, lead), one assignment per partner with its status,
transition log, team notes, store-access requests and reviews

Revision ID: 0021_jobs
Revises: 0020_messages
Create Date: 2026-12-04 16:00:00

"""

import sqlalchemy as sa
from alembic import op

from backoffice.models.types import UTCDateTime

revision = "0021_jobs"
down_revision = "0020_messages"
branch_labels = None
depends_on = None

STATUSES = (
    "new",
    "opened",
    "declined",
    "expired",
    "replied",
    "awaiting_response",
    "inactive",
    "completed",
    "closed",
)


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, length=24)


def _when(name, nullable=True):
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def _user(name):
    return sa.Column(name, sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)


def _assignment():
    return sa.Column(
        "assignment_id", sa.Integer(), sa.ForeignKey("job_assignment.id", ondelete="CASCADE"), nullable=False
    )


def upgrade():
    op.create_table(
        "expert_job",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", _enum("job_kind", "match", "direct", "lead"), nullable=False),
        sa.Column(
            "customer_id", sa.Integer(), sa.ForeignKey("address.id", ondelete="RESTRICT"), nullable=True
        ),
        sa.Column(
            "category_id", sa.Integer(), sa.ForeignKey("category.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column(
            "service_id", sa.Integer(), sa.ForeignKey("service.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("requirements", sa.Text(), nullable=False),
        sa.Column("business_info", sa.Text(), nullable=True),
        sa.Column("store_name", sa.String(200), nullable=True),
        sa.Column("store_url", sa.String(500), nullable=True),
        sa.Column("priority_time", sa.Integer(), nullable=False),
        sa.Column("priority_cost", sa.Integer(), nullable=False),
        sa.Column("priority_quality", sa.Integer(), nullable=False),
        sa.Column("postal_code", sa.String(5), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("merchant_name", sa.String(300), nullable=False),
        sa.Column("contact_email", sa.String(254), nullable=True),
        sa.Column("contact_phone", sa.String(40), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        _when("created_at", nullable=False),
        sa.CheckConstraint("kind = 'lead' OR customer_id IS NOT NULL", name="ck_expert_job_customer"),
        sa.CheckConstraint(
            "priority_time BETWEEN 1 AND 3 AND priority_cost BETWEEN 1 AND 3 "
            "AND priority_quality BETWEEN 1 AND 3",
            name="ck_expert_job_priorities",
        ),
    )
    op.create_index("ix_expert_job_customer_created", "expert_job", ["customer_id", "created_at"])
    op.create_table(
        "job_assignment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("expert_job.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False
        ),
        sa.Column("status", _enum("job_status", *STATUSES), nullable=False),
        _when("created_at", nullable=False),
        _when("expires_at"),
        _when("reminded_at"),
        _when("opened_at"),
        _when("first_reply_at"),
        _when("status_changed_at"),
        sa.Column(
            "conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversation.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        _when("review_requested_at"),
        sa.UniqueConstraint("job_id", "partner_id", name="uq_job_assignment_job_partner"),
    )
    op.create_index(
        "ix_job_assignment_partner_status", "job_assignment", ["partner_id", "status", "created_at"]
    )
    for status in ("new", "opened"):
        where = sa.text(f"status = '{status}'")
        op.create_index(
            f"ix_job_assignment_{status}_due",
            "job_assignment",
            ["expires_at"],
            postgresql_where=where,
            sqlite_where=where,
        )
    linked = sa.text("conversation_id IS NOT NULL")
    op.create_index(
        "ix_job_assignment_conversation",
        "job_assignment",
        ["conversation_id"],
        postgresql_where=linked,
        sqlite_where=linked,
    )
    op.create_table(
        "job_transition",
        sa.Column("id", sa.Integer(), primary_key=True),
        _assignment(),
        sa.Column("from_status", _enum("job_status", *STATUSES), nullable=True),
        sa.Column("to_status", _enum("job_status", *STATUSES), nullable=False),
        _when("at", nullable=False),
        sa.Column("actor", _enum("job_actor", "customer", "partner", "system"), nullable=False),
        _user("user_id"),
        sa.Column("reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_job_transition_assignment", "job_transition", ["assignment_id", "id"])
    op.create_table(
        "job_note",
        sa.Column("id", sa.Integer(), primary_key=True),
        _assignment(),
        _user("author_user_id"),
        sa.Column("body", sa.Text(), nullable=False),
        _when("created_at", nullable=False),
    )
    op.create_index("ix_job_note_assignment", "job_note", ["assignment_id", "id"])
    op.create_table(
        "store_access_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        _assignment(),
        _user("requested_by_user_id"),
        _when("requested_at", nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("status", _enum("store_access_status", "requested", "granted", "refused"), nullable=False),
        _when("decided_at"),
    )
    op.create_index("ix_store_access_assignment", "store_access_request", ["assignment_id"])
    op.create_table(
        "job_review",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "assignment_id",
            sa.Integer(),
            sa.ForeignKey("job_assignment.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column(
            "partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("author_name", sa.String(200), nullable=False),
        _when("created_at", nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="ck_job_review_stars"),
    )
    op.create_index("ix_job_review_partner_id", "job_review", ["partner_id"])


def downgrade():
    op.drop_table("job_review")
    op.drop_table("store_access_request")
    op.drop_table("job_note")
    op.drop_table("job_transition")
    op.drop_table("job_assignment")
    op.drop_table("expert_job")
