"""integrity: order lines point at their article; an order keeps its request's fingerprint

`order_line.article_id` is filled for the lines already stored (by article number) and
indexed, so deleting an ordered article is refused (and answered quickly); `shop_order`
keeps a hash of what the shop sent (`payload_fingerprint`), so the same external order id
with another basket is refused instead of answered with the first order.

Revision ID: 0010_integrity
Revises: 0018_marketplace
Create Date: 2026-12-04 13:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0010_integrity"
down_revision = "0018_marketplace"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shop_order") as batch_op:
        batch_op.add_column(sa.Column("payload_fingerprint", sa.String(length=64), nullable=True))
    op.execute("UPDATE order_line SET article_id = (SELECT article.id FROM article"
               " WHERE article.article_no = order_line.article_no)"
               " WHERE kind = 'article' AND article_id IS NULL")
    op.create_index("ix_order_line_article_id", "order_line", ["article_id"])


def downgrade():
    op.drop_index("ix_order_line_article_id", table_name="order_line")
    with op.batch_alter_table("shop_order") as batch_op:
        batch_op.drop_column("payload_fingerprint")
