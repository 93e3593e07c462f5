"""Shared builders for the voucher tests."""

from __future__ import annotations

from decimal import Decimal

from backoffice import transaction
from backoffice.extensions import db
from backoffice.models import Order, Voucher, VoucherKind
from backoffice.services import orders
from backoffice.services.orders import OrderResult
from backoffice.services.vouchers import add_code


def permanent_voucher(**values) -> Voucher:
    values.setdefault("name", "5 € für Neukunden")
    values.setdefault("kind", VoucherKind.permanent)
    values.setdefault("amount", Decimal("5.00"))
    voucher = Voucher(**values)
    db.session.add(voucher)
    db.session.commit()
    return voucher


def voucher_with_code(code: str, **values):
    voucher = permanent_voucher(**values)
    voucher_code = add_code(db.session, voucher, code)
    db.session.commit()
    return voucher, voucher_code


def new_customer_voucher(**values) -> Voucher:
    """The story's voucher: 5 € for new customers from 20 € order value, for partner codes."""
    values.setdefault("new_customers_only", True)
    values.setdefault("min_order_value", Decimal("20.00"))
    values.setdefault("released_for_partner_codes", True)
    return permanent_voucher(**values)


def checkout(session, external_id, customer_id, lines, code=None, now=None) -> OrderResult:
    """A checkout as the shop API runs it: one unit of work, run again after a deadlock, a
    concurrent duplicate answered with the first result."""
    return transaction.run(
        lambda s: orders.place_order(s, external_id, customer_id, lines, code, now), session=session,
        retries=orders.CHECKOUT_RETRIES,
        on_conflict=orders.on_order_conflict(external_id, customer_id, lines, code))


def ordered(session, external_id, customer_id, lines, code=None, now=None) -> Order:
    """The order a checkout stored, as the database holds it."""
    result = checkout(session, external_id, customer_id, lines, code, now)
    return session.get(Order, result.order_id)


def cancel(session, order_id, now=None) -> OrderResult:
    """A cancellation as the shop API runs it."""
    return transaction.run(lambda s: orders.cancel_order(s, order_id, now), session=session,
                           on_conflict=orders.on_cancel_conflict(order_id))
