"""billing: SEPA files and their debits, payments against invoices

`sepa_file` keeps each pain.008 file as handed to the bank (downloadable again);
`sepa_debit` is one invoice in one file, at most one submitted debit per invoice (partial
unique index), returned debits with reason and fee; `invoice_payment` records money in
(collected debits, transfers) and out (returns) against an invoice.

Revision ID: 0017_sepa_debits
Revises: 0016_partner_invoices
Create Date: 2026-12-04 13:00:00

"""
import sqlalchemy as sa
from alembic import op

import backoffice.models.types

revision = "0017_sepa_debits"
down_revision = "0016_partner_invoices"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'submitted'")
MONEY = sa.Numeric(precision=12, scale=2)


def upgrade():
    op.create_table(
        "sepa_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("created_at", backoffice.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("debit_count", sa.Integer(), nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["ab_user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_table(
        "sepa_debit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("sequence", sa.String(length=4), nullable=False),
        sa.Column("mandate_reference", sa.String(length=35), nullable=False),
        sa.Column("collect_on", sa.Date(), nullable=False),
        sa.Column("status", sa.Enum("submitted", "returned", name="debit_status", native_enum=False, length=24),
                  nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("return_reason", sa.String(length=200), nullable=True),
        sa.Column("return_fee", MONEY, nullable=True),
        sa.CheckConstraint("amount > 0", name="ck_sepa_debit_amount_positive"),
        sa.ForeignKeyConstraint(["file_id"], ["sepa_file.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["partner_id"], ["partner.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("file_id", "invoice_id", "partner_id"):
        op.create_index(f"ix_sepa_debit_{column}", "sepa_debit", [column], unique=False)
    op.create_index("uq_sepa_debit_pending", "sepa_debit", ["invoice_id"], unique=True,
                    postgresql_where=PENDING, sqlite_where=PENDING)
    op.create_table(
        "invoice_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=140), nullable=True),
        sa.Column("debit_id", sa.Integer(), nullable=True),
        sa.Column("created_at", backoffice.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["ab_user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["debit_id"], ["sepa_debit.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_invoice_payment_invoice_id", "invoice_payment", ["invoice_id"], unique=False)


def downgrade():
    op.drop_index("ix_invoice_payment_invoice_id", table_name="invoice_payment")
    op.drop_table("invoice_payment")
    op.drop_index("uq_sepa_debit_pending", table_name="sepa_debit")
    for column in ("partner_id", "invoice_id", "file_id"):
        op.drop_index(f"ix_sepa_debit_{column}", table_name="sepa_debit")
    op.drop_table("sepa_debit")
    op.drop_table("sepa_file")
