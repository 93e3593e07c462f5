"""billing: partner invoices are rendered once, stored, and mailed with their PDF attached

`stored_file` keeps files the system made (an invoice's PDF) in the database, where every
machine reads the same bytes; `mail_attachment` lets an outbox mail carry such files;
`invoice_document` is the rendered PDF of a partner invoice with the claim and stamp of its
rendering. Partner invoices issued before get a stamped row without a file: they are still
rendered on demand and are not mailed afterwards.

Revision ID: 0029_invoice_mail
Revises: 0027_profiles_more
Create Date: 2026-12-04 18:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0029_invoice_mail"
down_revision = "0027_profiles_more"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stored_file",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "mail_attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mail_id", sa.Integer(), sa.ForeignKey("mail_outbox.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("file_id", sa.Integer(), sa.ForeignKey("stored_file.id", ondelete="RESTRICT"), nullable=False),
        sa.UniqueConstraint("mail_id", "position", name="uq_mail_attachment_position"),
    )
    op.create_index("ix_mail_attachment_file_id", "mail_attachment", ["file_id"])
    op.create_table(
        "invoice_document",
        sa.Column("invoice_id", sa.Integer(), sa.ForeignKey("invoice.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("file_id", sa.Integer(), sa.ForeignKey("stored_file.id", ondelete="RESTRICT"), nullable=True),
        sa.Column("mail_id", sa.Integer(), sa.ForeignKey("mail_outbox.id", ondelete="SET NULL"), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rendered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.execute("INSERT INTO invoice_document (invoice_id, attempts, rendered_at) "
               "SELECT id, 0, CURRENT_TIMESTAMP FROM invoice WHERE partner_id IS NOT NULL")


def downgrade():
    op.drop_table("invoice_document")
    op.drop_index("ix_mail_attachment_file_id", table_name="mail_attachment")
    op.drop_table("mail_attachment")
    op.drop_table("stored_file")
