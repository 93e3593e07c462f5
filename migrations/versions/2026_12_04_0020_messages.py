"""messages: files, per-member reads, team tags, digest stamps, abuse reports, search indexes

Revision ID: 0020_messages
Revises: 0019_conversations
Create Date: 2026-12-04 16:00:00

"""
import sqlalchemy as sa
from alembic import op

from backoffice.models.conversations import NAMES_EXPRESSION as NAMES
from backoffice.models.types import UTCDateTime

revision = "0020_messages"
down_revision = "0019_conversations"
branch_labels = None
depends_on = None

SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE message_fts USING fts5(body, content='message', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN "
    "INSERT INTO message_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER message_fts_update AFTER UPDATE OF body ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO message_fts(rowid, body) VALUES (new.id, new.body); END",
    "CREATE VIRTUAL TABLE conversation_fts USING fts5(contact_name, store_name, store_url, "
    "content='conversation', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER conversation_fts_insert AFTER INSERT ON conversation BEGIN "
    "INSERT INTO conversation_fts(rowid, contact_name, store_name, store_url) "
    "VALUES (new.id, new.contact_name, new.store_name, new.store_url); END",
    "CREATE TRIGGER conversation_fts_delete AFTER DELETE ON conversation BEGIN "
    "INSERT INTO conversation_fts(conversation_fts, rowid, contact_name, store_name, store_url) "
    "VALUES ('delete', old.id, old.contact_name, old.store_name, old.store_url); END",
    "CREATE TRIGGER conversation_fts_update AFTER UPDATE OF contact_name, store_name, store_url "
    "ON conversation BEGIN "
    "INSERT INTO conversation_fts(conversation_fts, rowid, contact_name, store_name, store_url) "
    "VALUES ('delete', old.id, old.contact_name, old.store_name, old.store_url); "
    "INSERT INTO conversation_fts(rowid, contact_name, store_name, store_url) "
    "VALUES (new.id, new.contact_name, new.store_name, new.store_url); END",
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
    "INSERT INTO conversation_fts(conversation_fts) VALUES ('rebuild')",
]

POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_message_body_fts ON message USING gin (to_tsvector('german', body))",
    f"CREATE INDEX ix_conversation_names_trgm ON conversation USING gin ({NAMES} gin_trgm_ops)",
]


def _party():
    return sa.Enum("customer", "partner", name="party", native_enum=False, length=24)


def upgrade():
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(sa.Column("contact_name", sa.String(300), nullable=False, server_default=""))
        batch.add_column(sa.Column("last_customer_message_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column("digest_claim", sa.String(32), nullable=True))
        batch.add_column(sa.Column("digest_claimed_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("digested_at", UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_message_digest", "message", ["digest_claim", "digested_at", "created_at"])
    op.create_table(
        "message_file",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("message.id", ondelete="CASCADE"), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_message_file_message_id", "message_file", ["message_id"])
    op.create_table(
        "conversation_read",
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversation.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("read_message_id", sa.Integer(), nullable=False),
        sa.Column("read_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "conversation_tag",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("partner.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.UniqueConstraint("partner_id", "name", name="uq_conversation_tag_name"),
    )
    op.create_table(
        "conversation_tagging",
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversation.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("tag_id", sa.Integer(), sa.ForeignKey("conversation_tag.id", ondelete="CASCADE"),
                  primary_key=True),
    )
    op.create_index("ix_conversation_tagging_tag", "conversation_tagging", ["tag_id", "conversation_id"])
    op.create_table(
        "conversation_report",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversation.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("reported_by", _party(), nullable=False),
        sa.Column("reporter_user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversation_report_conversation_id", "conversation_report", ["conversation_id"])
    op.create_table(
        "conversation_staff_read",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.Integer(), sa.ForeignKey("conversation.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True),
        sa.Column("read_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversation_staff_read_conversation_id", "conversation_staff_read",
                    ["conversation_id"])
    bind = op.get_bind()
    for statement in POSTGRES_SEARCH if bind.dialect.name == "postgresql" else SQLITE_SEARCH:
        if "gin_trgm_ops" in statement:
            # The extension may live in another schema than ours (it exists once per database):
            # name its operator class with that schema.
            schema = bind.exec_driver_sql("SELECT extnamespace::regnamespace::text FROM pg_extension"
                                          " WHERE extname = 'pg_trgm'").scalar()
            statement = statement.replace("gin_trgm_ops", f"{schema}.gin_trgm_ops")
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_conversation_names_trgm")
        op.execute("DROP INDEX IF EXISTS ix_message_body_fts")
    else:
        for name in ("message_fts_insert", "message_fts_delete", "message_fts_update",
                     "conversation_fts_insert", "conversation_fts_delete", "conversation_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS message_fts")
        op.execute("DROP TABLE IF EXISTS conversation_fts")
    op.drop_table("conversation_staff_read")
    op.drop_table("conversation_report")
    op.drop_table("conversation_tagging")
    op.drop_table("conversation_tag")
    op.drop_table("conversation_read")
    op.drop_table("message_file")
    op.drop_index("ix_message_digest", table_name="message")
    with op.batch_alter_table("message") as batch:
        batch.drop_column("digested_at")
        batch.drop_column("digest_claimed_at")
        batch.drop_column("digest_claim")
    with op.batch_alter_table("conversation") as batch:
        batch.drop_column("last_customer_message_id")
        batch.drop_column("contact_name")
