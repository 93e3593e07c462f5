"""billing: a payment imported from a bank statement keeps the bank's reference, once

`invoice_payment.bank_reference` holds the statement line's reference (the bank's, or a
fingerprint of the line); a partial unique index makes importing the same statement again
record nothing twice.

Revision ID: 0026_billing_more
Revises: 0025_desk
Create Date: 2026-12-04 15:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0026_billing_more"
down_revision = "0025_desk"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invoice_payment") as batch_op:
        batch_op.add_column(sa.Column("bank_reference", sa.String(length=80), nullable=True))
    op.create_index("uq_invoice_payment_bank_reference", "invoice_payment", ["bank_reference"], unique=True,
                    postgresql_where=sa.text("bank_reference IS NOT NULL"),
                    sqlite_where=sa.text("bank_reference IS NOT NULL"))


def downgrade():
    op.drop_index("uq_invoice_payment_bank_reference", table_name="invoice_payment")
    with op.batch_alter_table("invoice_payment") as batch_op:
        batch_op.drop_column("bank_reference")
