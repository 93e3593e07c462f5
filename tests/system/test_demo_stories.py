"""The demo shows every voucher feature with something in it, and nothing in the future."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from backoffice.demo import bulk_insert, seed_articles, seed_logins, seed_vouchers_and_orders
from backoffice.models import (
    Address,
    Invoice,
    InvoiceKind,
    Order,
    Redemption,
    Voucher,
    VoucherCode,
    VoucherKind,
)


def test_demo_has_vouchers_codes_orders_invoices_and_a_cancellation_all_in_the_past(app, ctx, ids_high_again):
    bulk_insert(ctx, 600)
    seed_articles(ctx)
    seed_logins(ctx, app.appbuilder.sm)
    placed = seed_vouchers_and_orders(ctx, orders=12)
    assert placed >= 10
    def count(query):
        return ctx.execute(query).scalar()

    assert {v.kind for v in ctx.execute(select(Voucher)).scalars()} == set(VoucherKind)
    owned = VoucherCode.owner_partner_id.is_not(None)
    assert count(select(func.count()).select_from(VoucherCode).where(owned)) == 2
    assert count(select(func.count()).select_from(Redemption)) >= 8
    cancellations = Invoice.kind == InvoiceKind.cancellation
    assert count(select(func.count()).select_from(Invoice).where(cancellations)) == 1
    now = datetime.now(UTC)
    assert count(select(func.max(Order.placed_at))) < now
    assert count(select(func.max(Address.first_order_at))) < now
    too_early = Address.first_order_at < Address.registered_at
    assert count(select(func.count()).select_from(Address).where(too_early)) == 0
    assert seed_vouchers_and_orders(ctx) == 0  # once only
