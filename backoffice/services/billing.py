"""Invoices: numbering per gapless series and the invoice of a shop order.

A number is taken by an UPDATE of the series' counter row in the invoice's own transaction:
the row stays locked until that transaction ends, so two invoices never share a number, and
a rolled-back invoice gives its number back (no gaps). The first number of a new series
creates the counter row once, also when two transactions race for it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..models import Address, Invoice, InvoiceCounter, InvoiceKind, InvoiceSeries, Order
from .vouchers import company_zone

_COUNTERS, _INVOICES = InvoiceCounter.__table__, Invoice.__table__
# Built once, run with parameters (building a statement per checkout cost more than running it).
_NEXT_NUMBER = (update(_COUNTERS).where(_COUNTERS.c.series == bindparam("counter_series"))
                .values(last_number=_COUNTERS.c.last_number + 1).returning(_COUNTERS.c.last_number))
_INSERT_INVOICE = insert(_INVOICES)
# PostgreSQL numbers and writes an invoice in one statement (a data-modifying WITH). Its
# parameters are prefixed: a parameter named like a counter column (`series`) would
# become part of the counter's UPDATE.
_INVOICE_VALUES = ("series", "kind", "order_id", "partner_id", "cancels_invoice_id", "issued_at",
                   "delivery_date", "buyer_name", "buyer_address", "total_net", "total_vat", "total_gross")
_NUMBER = _NEXT_NUMBER.cte("number")
_INSERT_NUMBERED_INVOICE = (
    insert(_INVOICES)
    .from_select(["number", *_INVOICE_VALUES],
                 select(_NUMBER.c.last_number,
                        *(bindparam(f"invoice_{name}", type_=_INVOICES.c[name].type)
                          for name in _INVOICE_VALUES)))
    .returning(_INVOICES.c.number).add_cte(_NUMBER))


def next_number(session, series: InvoiceSeries = InvoiceSeries.order) -> int:
    """Take the series' next number; its counter row stays locked until the transaction ends."""
    conn = session.connection()
    params = {"counter_series": InvoiceSeries(series).value}
    number = conn.execute(_NEXT_NUMBER, params).scalar()
    if number is None:  # first number of a new series: create its row once, even in a race
        dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(dialect_insert(_COUNTERS).values(series=params["counter_series"], last_number=0)
                     .on_conflict_do_nothing(index_elements=["series"]))
        number = conn.execute(_NEXT_NUMBER, params).scalar()
    return number


def issue(session, values: dict) -> int:
    """Number and write an invoice (`values`: its columns without `number`); the number.

    A plain INSERT: nothing reads the invoice back as an object in the same transaction.
    Everything else of the transaction is flushed first, so the counter row stays locked as
    briefly as possible."""
    session.flush()
    values = {name: values.get(name) for name in _INVOICE_VALUES}
    values["series"] = InvoiceSeries(values["series"] or InvoiceSeries.order)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        params = {f"invoice_{name}": value for name, value in values.items()}
        number = conn.execute(_INSERT_NUMBERED_INVOICE,
                              dict(params, counter_series=values["series"].value)).scalar()
        if number is not None:
            return number
        # No counter row yet (the series' first number): created by `next_number`.
    number = next_number(session, values["series"])
    conn.execute(_INSERT_INVOICE, dict(values, number=number))
    return number


def buyer_of(address: Address) -> tuple[str, str]:
    """Name and postal address as printed on the invoice (kept even if the address changes)."""
    lines = [address.street, " ".join(p for p in (address.postal_code, address.city) if p),
             address.country]
    return address.name or "?", "\n".join(p for p in lines if p)


def invoice_order(session, order: Order, now: datetime, *, cancels: Invoice | None = None,
                  cancellation: bool = False) -> int:
    """The order's invoice, or its cancellation invoice (negative amounts, referring to the
    invoice it cancels); the number."""
    sign = -1 if cancellation else 1
    name, postal = buyer_of(order.address)
    return issue(session, dict(
        series=InvoiceSeries.order, order_id=order.id,
        kind=InvoiceKind.cancellation if cancellation else InvoiceKind.invoice,
        cancels_invoice_id=cancels.id if cancels is not None else None, issued_at=now,
        delivery_date=order.placed_at.astimezone(company_zone()).date(),
        buyer_name=name, buyer_address=postal, total_net=sign * order.total_net,
        total_vat=sign * order.total_vat, total_gross=sign * order.total_gross))
