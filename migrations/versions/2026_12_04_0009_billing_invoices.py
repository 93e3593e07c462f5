"""billing: an invoice belongs to an order or to a partner, numbered per series

Invoices become a billing concept: `order_id` may be empty when `partner_id` is set (a
partner's monthly statement), exactly one of the two is set, and numbers are unique per
series (`invoice` for shop orders, `partner` for partner statements), each series gapless
through its own counter row. Existing invoices keep their numbers in the `invoice` series.

Revision ID: 0009_billing_invoices
Revises: 0008_tasks
Create Date: 2026-12-04 12:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0009_billing_invoices"
down_revision = "0008_tasks"
branch_labels = None
depends_on = None

# SQLite reflects the old unnamed UNIQUE(number) without a name: this names it for the drop.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_unique_name() -> str:
    return "invoice_number_key" if op.get_bind().dialect.name == "postgresql" else "uq_invoice_number"


def upgrade():
    with op.batch_alter_table("invoice", naming_convention=NAMING) as batch_op:
        batch_op.add_column(sa.Column("series", sa.Enum("invoice", "partner", name="invoice_series",
                                                        native_enum=False, length=24),
                                      nullable=False, server_default="invoice"))
        batch_op.add_column(sa.Column("partner_id", sa.Integer(), nullable=True))
        batch_op.alter_column("order_id", existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint(_old_unique_name(), type_="unique")
        batch_op.create_unique_constraint("uq_invoice_series_number", ["series", "number"])
        batch_op.create_foreign_key("fk_invoice_partner_id", "partner", ["partner_id"], ["id"],
                                    ondelete="RESTRICT")
        batch_op.create_index("ix_invoice_partner_id", ["partner_id"], unique=False)
        batch_op.create_check_constraint("ck_invoice_one_owner", "(order_id IS NULL) <> (partner_id IS NULL)")
    op.execute("INSERT INTO invoice_counter (series, last_number) SELECT 'partner', 0 "
               "WHERE NOT EXISTS (SELECT 1 FROM invoice_counter WHERE series = 'partner')")


def downgrade():
    if op.get_bind().execute(sa.text("SELECT count(*) FROM invoice WHERE partner_id IS NOT NULL")).scalar():
        raise RuntimeError("partner invoices exist: they have no place in the older schema")
    op.execute("DELETE FROM invoice_counter WHERE series = 'partner'")
    with op.batch_alter_table("invoice", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint("ck_invoice_one_owner", type_="check")
        batch_op.drop_index("ix_invoice_partner_id")
        batch_op.drop_constraint("fk_invoice_partner_id", type_="foreignkey")
        batch_op.drop_constraint("uq_invoice_series_number", type_="unique")
        batch_op.create_unique_constraint(_old_unique_name(), ["number"])
        batch_op.alter_column("order_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("partner_id")
        batch_op.drop_column("series")
