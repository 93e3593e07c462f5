"""Shop use cases: place an order (with a voucher), cancel it.

`place_order` is the work of one checkout transaction (V7): order, lines, the voucher's
lines, the redemption, the address type change (A3), the sponsor move for a partner code
(V9) and the invoice number. The caller runs it in one unit of work
(`backoffice.transaction.run`, with `CHECKOUT_RETRIES` and `on_order_conflict`), so all of
it is committed together or nothing is.

Exactly-once (V11) on PostgreSQL:
- counters are raised by conditional UPDATEs (`... WHERE redeemed_count < max_total`);
  a racer whose UPDATE matches no row gets `used_up`, nothing of its order is kept;
- the customer's address row is locked (`SELECT ... FOR UPDATE`) for the checkout, so one
  customer's orders run one after another: the new-customer check and the per-customer
  maximum see the other order's outcome; a unique index on
  `redemption.new_customer_address_id` backs the new-customer rule up;
- `external_order_id` is unique: a repeated or concurrent duplicate returns the first order,
  if it is the same request (the order keeps a hash of customer, lines and code); with
  another basket it is a `Conflict` `idempotency_conflict`;
- invoice numbers come from a counter row raised by an UPDATE in the same transaction
  (`backoffice.services.billing`): a rolled-back checkout gives its number back.
SQLite serialises writers itself (one writer at a time), so the same code is safe there.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import bindparam, exists, func, insert, or_, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload, make_transient_to_detached

from downline.sponsors import SponsorError, assign_sponsor

from ..audit import acting_as
from ..errors import Conflict, DomainError, NotFound
from ..models import (
    Address,
    AddressType,
    InvoiceKind,
    LineKind,
    Order,
    OrderLine,
    OrderStatus,
    Redemption,
    Voucher,
    VoucherCode,
    VoucherKind,
)
from ..models.types import utcnow
from . import billing
from .customers import SHOP_ACTOR
from .money import ZERO, RateTotal, basket_totals, vat_of
from .vouchers import VoucherRefused, basket, evaluate, normalize

# Deadlocks against a concurrent staff move of the customer's new upline: run again.
CHECKOUT_RETRIES = 2




# The checkout's statements are built once and run with parameters. Building a statement and
# its cache key on every call cost more than executing it (cProfile of 400 checkouts:
# about 1.5 ms a checkout, of 9 ms).
_ORDERS = Order.__table__
_VOUCHERS, _CODES = Voucher.__table__, VoucherCode.__table__
# The customer's row, locked, and the id of an order with this external id if there is one.
# Without the joined tree row: the downline hooks read places themselves (0.2 ms a checkout).
_LOCK_CUSTOMER = (
    select(Address, select(_ORDERS.c.id).where(_ORDERS.c.external_order_id == bindparam("external_id"))
           .scalar_subquery())
    .options(lazyload(Address.tree))
    .where(Address.id == bindparam("customer_id")).with_for_update(of=Address)
    .execution_options(populate_existing=True))
# Code, voucher and owner partner, fresh, in one query.
_CODE = (select(VoucherCode).options(joinedload(VoucherCode.voucher), joinedload(VoucherCode.owner))
         .where(VoucherCode.code_normalized == bindparam("code"))
         .execution_options(populate_existing=True))
_COUNT_VOUCHER = (
    update(_VOUCHERS).where(_VOUCHERS.c.id == bindparam("counted_voucher_id"),
                            or_(_VOUCHERS.c.max_total.is_(None),
                                _VOUCHERS.c.redeemed_count < _VOUCHERS.c.max_total))
    .values(redeemed_count=_VOUCHERS.c.redeemed_count + 1))
_COUNT_CODE = (update(_CODES).where(_CODES.c.id == bindparam("code_id"))
               .values(redeemed_count=_CODES.c.redeemed_count + 1))
_COUNT_SINGLE_CODE = _COUNT_CODE.where(_CODES.c.redeemed_count < 1)
_INSERT_ORDER = insert(_ORDERS).returning(_ORDERS.c.id)
_INSERT_LINES = insert(OrderLine.__table__)
_INSERT_REDEMPTION = insert(Redemption.__table__)


# PostgreSQL runs these two as one statement (a data-modifying WITH), one round trip fewer:
# the code's counter is raised only if the voucher's UPDATE found a slot. SQLite (no UPDATE
# inside WITH) runs them one after the other, with the same locks and outcome.
_VOUCHER_SLOT = _COUNT_VOUCHER.returning(_VOUCHERS.c.id).cte("voucher_slot")
_COUNT_BOTH = {single: statement.where(exists(select(_VOUCHER_SLOT.c.id))).add_cte(_VOUCHER_SLOT)
               for single, statement in ((False, _COUNT_CODE), (True, _COUNT_SINGLE_CODE))}

# The columns `_write_order` writes, in the order of its PostgreSQL statement.
_ORDER_VALUES = ("external_order_id", "address_id", "status", "voucher_code_id", "subtotal_gross",
                 "discount", "total_gross", "total_net", "total_vat", "placed_at", "cancelled_at",
                 "payload_fingerprint")
_LINE_VALUES = ("position", "kind", "article_id", "article_no", "name", "quantity", "unit_gross",
                "vat_rate", "line_gross")
_REDEMPTION_VALUES = ("voucher_id", "code_id", "address_id", "new_customer_address_id",
                      "owner_partner_id", "amount", "was_new_customer", "redeemed_at")


def _order_statement(with_redemption: bool):
    """PostgreSQL: order, its lines (one array parameter per column, `unnest`ed) and the
    redemption in one statement; parameters are prefixed `order_`, `lines_`, `redemption_`."""
    orders, lines, redemptions = _ORDERS, OrderLine.__table__, Redemption.__table__
    order = (insert(orders).values({name: bindparam(f"order_{name}", type_=orders.c[name].type)
                                    for name in _ORDER_VALUES})
             .returning(orders.c.id).cte("new_order"))
    arrays = func.unnest(*(bindparam(f"lines_{name}", type_=ARRAY(lines.c[name].type))
                           for name in _LINE_VALUES)).table_valued(*_LINE_VALUES).render_derived("line")
    statement = select(order.c.id).add_cte(insert(lines).from_select(
        ["order_id", *_LINE_VALUES],
        select(order.c.id, *(arrays.c[name] for name in _LINE_VALUES)).select_from(order.join(arrays, true()))
    ).cte("new_lines"))
    if with_redemption:
        statement = statement.add_cte(insert(redemptions).from_select(
            ["order_id", *_REDEMPTION_VALUES],
            select(order.c.id, *(bindparam(f"redemption_{name}", type_=redemptions.c[name].type)
                                 for name in _REDEMPTION_VALUES))).cte("new_redemption"))
    return statement


_WRITE_ORDER = {with_redemption: _order_statement(with_redemption) for with_redemption in (False, True)}


def _write_order(conn, values: dict, lines: list[dict], redemption: dict | None) -> int:
    """Insert the order, its lines and the redemption (if any); the order's id.

    One statement on PostgreSQL (a data-modifying WITH; the lines' foreign key is checked at
    its end), three on SQLite."""
    if conn.dialect.name == "postgresql":
        params = {f"order_{name}": values[name] for name in _ORDER_VALUES}
        params.update({f"lines_{name}": [row[name] for row in lines] for name in _LINE_VALUES})
        if redemption is not None:
            params.update({f"redemption_{name}": redemption[name] for name in _REDEMPTION_VALUES})
        return conn.execute(_WRITE_ORDER[redemption is not None], params).scalar_one()
    order_id = conn.execute(_INSERT_ORDER, values).scalar_one()
    conn.execute(_INSERT_LINES, [dict(row, order_id=order_id) for row in lines])
    if redemption is not None:
        conn.execute(_INSERT_REDEMPTION, dict(redemption, order_id=order_id))
    return order_id


@dataclass(frozen=True)
class OrderSummary:
    """What the shop learns about an order: plain values, read before the commit (reading
    the order afterwards would reload it, its lines, invoices, code and address)."""

    id: int
    external_order_id: str
    status: OrderStatus
    invoice_number: int | None
    cancellation_number: int | None
    subtotal: Decimal
    discount: Decimal
    total_gross: Decimal
    total_net: Decimal
    total_vat: Decimal
    vat: list[RateTotal]
    voucher_code: str | None
    customer_id: int
    customer_type: AddressType
    customer_sponsor_id: int | None


@dataclass(frozen=True)
class OrderResult:
    summary: OrderSummary
    repeated: bool = False  # this external id (or cancel) was handled before: its first result

    @property
    def order_id(self) -> int:
        return self.summary.id


def _summary(order: Order, invoice_number: int | None, cancellation_number: int | None,
             vat_lines) -> OrderSummary:
    """`vat_lines` are (VAT rate, line gross) pairs of the order's lines."""
    return OrderSummary(
        id=order.id, external_order_id=order.external_order_id, status=order.status,
        invoice_number=invoice_number, cancellation_number=cancellation_number,
        subtotal=order.subtotal_gross, discount=order.discount, total_gross=order.total_gross,
        total_net=order.total_net, total_vat=order.total_vat, vat=vat_of(vat_lines),
        voucher_code=order.voucher_code.code if order.voucher_code else None,
        customer_id=order.address.id, customer_type=order.address.type,
        customer_sponsor_id=order.address.sponsor_id)


def _stored(order: Order, repeated: bool = False) -> OrderResult:
    """The result of an order as stored (a repeat or a cancellation reads it back)."""
    numbers = {invoice.kind: invoice.number for invoice in order.invoices}
    return OrderResult(_summary(order, numbers.get(InvoiceKind.invoice),
                                numbers.get(InvoiceKind.cancellation),
                                [(line.vat_rate, line.line_gross) for line in order.lines]),
                       repeated=repeated)


def fingerprint(customer_id, lines, voucher_code) -> str:
    """The checkout request as the shop sent it, hashed: customer, lines in their order, code."""
    basket = [[str(item.get("article_no")), item.get("quantity")] if isinstance(item, dict) else item
              for item in (lines if isinstance(lines, list) else [lines])]
    payload = {"customer_id": customer_id, "lines": basket,
               "voucher_code": normalize(voucher_code) if voucher_code else None}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _repeat(order: Order, payload_fingerprint: str | None) -> OrderResult:
    """The first result of this external id, if the shop sent the same order again."""
    if None not in (order.payload_fingerprint, payload_fingerprint) \
            and order.payload_fingerprint != payload_fingerprint:
        raise Conflict("idempotency_conflict", _(
            "An order with this external_order_id and a different customer, basket or voucher code "
            "exists (id %(id)s).", id=order.id), id=order.id)
    return _stored(order, repeated=True)


def _by_external_id(session, external_order_id: str) -> Order | None:
    return session.execute(select(Order).where(Order.external_order_id == external_order_id)
                           .execution_options(populate_existing=True)).scalar_one_or_none()


def place_order(session, external_order_id: str, customer_id: int, lines: list[dict],
                voucher_code: str | None = None, now: datetime | None = None) -> OrderResult:
    """Validate again and write the whole checkout; idempotent by external id (a repeat
    returns the first result and writes nothing; the same id with another customer, basket
    or code is a `Conflict` `idempotency_conflict`)."""
    external_order_id = str(external_order_id or "").strip()
    if not external_order_id or len(external_order_id) > 64:
        message = _("external_order_id needs 1 to 64 characters.")
        raise DomainError("invalid_external_order_id", message, fields={"external_order_id": [message]})
    # Lazy: translated only when an audit entry is written (a repeat or refusal writes none).
    reason = lazy_gettext("order %(id)s", id=external_order_id)
    if voucher_code:
        reason = lazy_gettext("partner code %(code)s in order %(id)s", code=voucher_code,
                              id=external_order_id)
    with acting_as(SHOP_ACTOR, reason=reason), session.no_autoflush:
        return _checkout(session, external_order_id, customer_id, lines, voucher_code, now or utcnow(),
                         fingerprint(customer_id, lines, voucher_code))


def on_order_conflict(external_order_id: str, customer_id=None, lines=None, voucher_code=None):
    """For `transaction.run`: a unique index refused the checkout. A concurrent duplicate of
    the same order won (answer with it), or a concurrent order took the new-customer
    discount (refused), or something else clashed (retry)."""
    external_order_id = str(external_order_id or "").strip()
    payload_fingerprint = fingerprint(customer_id, lines, voucher_code) if lines is not None else None

    def settle(session, exc: IntegrityError) -> OrderResult:
        existing = _by_external_id(session, external_order_id)
        if existing is not None:
            return _repeat(existing, payload_fingerprint)
        if "new_customer_address_id" in str(exc.orig) or "redemption" in str(exc.orig):
            raise VoucherRefused("not_new_customer") from exc
        raise Conflict("conflict", _("The order conflicts with another one; please retry.")) from exc
    return settle


def _checkout(session, external_order_id, customer_id, lines, voucher_code, now,
              payload_fingerprint) -> OrderResult:
    # The customer's row lock serialises this customer's checkouts (new-customer rule, per
    # customer maximum); fresh values, not what the session may have cached. The same query
    # asks whether this order exists already (a repeat returns it before any voucher check):
    # one round trip instead of two. A duplicate racing past it meets the unique index.
    row = session.execute(_LOCK_CUSTOMER, {"external_id": external_order_id,
                                           "customer_id": customer_id}).first()
    if row is None:
        first = _by_external_id(session, external_order_id)
        if first is not None:
            return _repeat(first, payload_fingerprint)
        raise NotFound("unknown_customer", _("There is no customer with this id."))
    address, existing_id = row
    if existing_id is not None:
        return _repeat(session.get(Order, existing_id, populate_existing=True), payload_fingerprint)
    priced = basket(session, lines)
    shares: dict[Decimal, Decimal] = {}
    code = None
    if voucher_code:
        # The counters' UPDATEs below have the last word.
        code = session.execute(_CODE, {"code": normalize(voucher_code)}).scalar_one_or_none()
        if code is None or not code.active or not code.voucher.active:
            raise VoucherRefused("unknown")
        result = evaluate(session, code.voucher, code, priced, address, now)
        if not result.valid:
            raise VoucherRefused(result.reason)
        shares = result.discount_by_rate

    subtotal = sum((line.gross for line in priced), ZERO)
    discount = sum(shares.values(), ZERO)
    rates = basket_totals(priced, shares)
    values = dict(external_order_id=external_order_id, address_id=address.id,
                  voucher_code_id=code.id if code is not None else None, subtotal_gross=subtotal,
                  discount=discount, total_gross=subtotal - discount,
                  total_net=sum((r.net for r in rates), ZERO), total_vat=sum((r.vat for r in rates), ZERO),
                  placed_at=now, status=OrderStatus.completed, cancelled_at=None,
                  payload_fingerprint=payload_fingerprint)
    line_rows = [dict(position=position, kind=LineKind.article, article_id=line.article_id,
                      article_no=line.article_no, name=line.name,
                      quantity=line.quantity, unit_gross=line.unit_gross, vat_rate=line.vat_rate,
                      line_gross=line.gross)
                 for position, line in enumerate(priced, 1)]
    # The voucher as its own line(s), one per VAT rate; stored in the invoice's language (German).
    line_rows += [dict(position=position, kind=LineKind.voucher, article_id=None, article_no=code.code,
                       name=f"Gutschein {code.code}", quantity=1, unit_gross=-shares[rate], vat_rate=rate,
                       line_gross=-shares[rate])
                  for position, rate in enumerate(sorted(shares, reverse=True), len(priced) + 1)]
    was_new_customer = address.type == AddressType.new_customer
    redemption = None if code is None else dict(
        voucher_id=code.voucher_id, code_id=code.id, address_id=address.id,
        new_customer_address_id=address.id if code.voucher.new_customers_only else None,
        owner_partner_id=code.owner_partner_id, amount=discount, was_new_customer=was_new_customer,
        redeemed_at=now)
    order_id = _write_order(session.connection(), values, line_rows, redemption)
    # The order as if loaded: the unit of work has only the address left.
    order = Order(id=order_id, address=address, voucher_code=code, **values)
    make_transient_to_detached(order)
    session.add(order)
    # A3: the first completed order makes a new customer a customer, once, dated.
    if was_new_customer:
        address.type = AddressType.customer
    if address.first_order_at is None:
        address.first_order_at = now
    # V9: a new customer ordering with a partner code joins that partner's firstline.
    if was_new_customer and code is not None and code.owner_partner_id is not None:
        owner_address_id = code.owner.address_id  # loaded with the code above
        if address.sponsor_id != owner_address_id:
            try:
                assign_sponsor(session, address, owner_address_id)
            except SponsorError:
                pass  # the code owner sits in this address's own downline: keep the tree sound
    # One flush: the address (with the downline and audit hooks). Order, lines, redemption and
    # invoice are plain INSERTs: the unit of work for them cost more than the rest of the
    # checkout's Python.
    session.flush()
    # The rows every checkout with this code shares come last, so each checkout holds their
    # locks for the fewest statements before its commit: the code owner's sizes (in the flush
    # above), the voucher's and the code's counters, the invoice counter.
    if code is not None:
        _count_redemption(session, code)
    number = billing.invoice_order(session, order, now)
    return OrderResult(_summary(order, number, None, [(row["vat_rate"], row["line_gross"])
                                                      for row in line_rows]))


def _count_redemption(session, code: VoucherCode) -> None:
    """Raise the counters only if a slot is left; otherwise the voucher is used up."""
    # Core statements on the tables, not the ORM's bulk UPDATE (cProfile: 1.7 -> 1.2 ms a call).
    conn = session.connection()
    single = code.voucher.kind == VoucherKind.single
    params = {"counted_voucher_id": code.voucher_id, "code_id": code.id}
    if conn.dialect.name == "postgresql":
        if conn.execute(_COUNT_BOTH[single], params).rowcount != 1:
            raise VoucherRefused("used_up")
        return
    if conn.execute(_COUNT_VOUCHER, params).rowcount != 1:
        raise VoucherRefused("used_up")
    if conn.execute(_COUNT_SINGLE_CODE if single else _COUNT_CODE, params).rowcount != 1:
        raise VoucherRefused("used_up")


def cancel_order(session, order_id: int, now: datetime | None = None) -> OrderResult:
    """Cancel an order: release its redemption once and issue a cancellation invoice.

    The address stays a customer and keeps its sponsor: it did complete an order (A3 is
    "exactly once", `first_order_at` stays), and turning it back into a new customer would let
    order-and-cancel earn a second new-customer discount (V8). A sponsor won by a partner
    code stays too; staff move addresses in the Desk, with reason and audit, if needed.
    A second cancel changes nothing: the order row is locked and its status re-read; two
    cancels racing meet the unique (order, kind) of the invoice (`on_cancel_conflict`).
    """
    now = now or utcnow()
    order = session.execute(select(Order).where(Order.id == order_id).with_for_update()
                            .execution_options(populate_existing=True)).scalar_one_or_none()
    if order is None:
        raise NotFound("unknown_order", _("There is no order with this id."))
    if order.status == OrderStatus.cancelled:
        return _stored(order, repeated=True)
    order.status = OrderStatus.cancelled
    order.cancelled_at = now
    redemption = session.execute(select(Redemption).where(
        Redemption.order_id == order.id, Redemption.released_at.is_(None))).scalar_one_or_none()
    if redemption is not None:
        redemption.released_at = now
        session.execute(update(Voucher).where(Voucher.id == redemption.voucher_id)
                        .values(redeemed_count=Voucher.redeemed_count - 1)
                        .execution_options(synchronize_session=False))
        session.execute(update(VoucherCode).where(VoucherCode.id == redemption.code_id)
                        .values(redeemed_count=VoucherCode.redeemed_count - 1)
                        .execution_options(synchronize_session=False))
    original = next((i for i in order.invoices if i.kind == InvoiceKind.invoice), None)
    number = billing.invoice_order(session, order, now, cancels=original, cancellation=True)
    return OrderResult(_summary(order, original.number if original else None, number,
                                [(line.vat_rate, line.line_gross) for line in order.lines]))


def on_cancel_conflict(order_id: int):
    """For `transaction.run`: a concurrent cancel of the same order won; answer with it."""
    def settle(session, exc: IntegrityError) -> OrderResult:
        order = session.get(Order, order_id, populate_existing=True)
        if order is not None and order.status == OrderStatus.cancelled:
            return _stored(order, repeated=True)
        raise Conflict("conflict", _("The cancellation conflicts with another one; please retry.")) from exc
    return settle
