"""billing: partners' statements with their lines, one per partner and month

An invoice gets its service period, due date and the buyer's VAT id and mandate as invoiced;
`invoice_line` holds a statement's lines, each naming what it bills (`source`, `source_id`)
under a unique index, so nothing is billed twice. A partial unique index allows one
statement per partner and period. The invoice kind gains `credit_note` (a VARCHAR, no
database type to change).

Revision ID: 0016_partner_invoices
Revises: 0009_billing_invoices
Create Date: 2026-12-04 12:30:00

"""
import sqlalchemy as sa
from alembic import op

import backoffice.models.types  # noqa: F401

revision = "0016_partner_invoices"
down_revision = "0009_billing_invoices"
branch_labels = None
depends_on = None

PARTNER_STATEMENT = sa.text("partner_id IS NOT NULL AND cancels_invoice_id IS NULL")
BILLED = sa.text("source IS NOT NULL")


def upgrade():
    with op.batch_alter_table("invoice") as batch_op:
        batch_op.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("period_end", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("buyer_vat_id", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("mandate_reference", sa.String(length=35), nullable=True))
    op.create_index("uq_invoice_partner_period", "invoice", ["partner_id", "period_start"], unique=True,
                    postgresql_where=PARTNER_STATEMENT, sqlite_where=PARTNER_STATEMENT)
    op.create_table(
        "invoice_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("unit_net", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("vat_rate", sa.Numeric(precision=4, scale=2), nullable=False),
        sa.Column("net", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invoice_id", "position", name="uq_invoice_line_position"),
    )
    op.create_index("uq_invoice_line_source", "invoice_line", ["source", "source_id"], unique=True,
                    postgresql_where=BILLED, sqlite_where=BILLED)


def downgrade():
    if op.get_bind().execute(sa.text("SELECT count(*) FROM invoice WHERE kind = 'credit_note'")).scalar():
        raise RuntimeError("credit notes exist: the older schema has no place for them")
    op.drop_index("uq_invoice_line_source", table_name="invoice_line")
    op.drop_table("invoice_line")
    op.drop_index("uq_invoice_partner_period", table_name="invoice")
    with op.batch_alter_table("invoice") as batch_op:
        for column in ("mandate_reference", "buyer_vat_id", "due_date", "period_end", "period_start"):
            batch_op.drop_column(column)
