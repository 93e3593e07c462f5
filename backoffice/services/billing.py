"""Invoices: numbering per gapless series, the invoice of a shop order, partners' monthly
statements and their PDF with the e-invoice inside.

A number is taken by an UPDATE of the series' counter row in the invoice's own transaction:
the row stays locked until that transaction ends, so two invoices never share a number, and
a rolled-back invoice gives its number back (no gaps). The first number of a new series
creates the counter row once, also when two transactions race for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Integer, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from reports import einvoice

from ..errors import InvalidInput
from ..models import Address, Invoice, InvoiceCounter, InvoiceKind, InvoiceLine, InvoiceSeries, Order, Partner
from .money import ZERO, cents
from .vouchers import company_zone

_COUNTERS, _INVOICES = InvoiceCounter.__table__, Invoice.__table__
# Built once, run with parameters (building a statement per checkout cost more than running it).
_NEXT_NUMBER = (update(_COUNTERS).where(_COUNTERS.c.series == bindparam("counter_series"))
                .values(last_number=_COUNTERS.c.last_number + 1).returning(_COUNTERS.c.last_number))
_INSERT_INVOICE = insert(_INVOICES).returning(_INVOICES.c.id)
_TAKE_NUMBERS = (update(_COUNTERS).where(_COUNTERS.c.series == bindparam("counter_series"))
                 .values(last_number=_COUNTERS.c.last_number + bindparam("count", type_=Integer))
                 .returning(_COUNTERS.c.last_number))
# PostgreSQL numbers and writes an invoice in one statement (a data-modifying WITH). Its
# parameters are prefixed: a parameter named like a counter column (`series`) would
# become part of the counter's UPDATE.
_INVOICE_VALUES = ("series", "kind", "order_id", "partner_id", "cancels_invoice_id", "issued_at",
                   "delivery_date", "buyer_name", "buyer_address", "total_net", "total_vat", "total_gross",
                   "period_start", "period_end", "due_date", "buyer_vat_id", "mandate_reference")
_NUMBER = _NEXT_NUMBER.cte("number")
_INSERT_NUMBERED_INVOICE = (
    insert(_INVOICES)
    .from_select(["number", *_INVOICE_VALUES],
                 select(_NUMBER.c.last_number,
                        *(bindparam(f"invoice_{name}", type_=_INVOICES.c[name].type)
                          for name in _INVOICE_VALUES)))
    .returning(_INVOICES.c.id, _INVOICES.c.number).add_cte(_NUMBER))


def next_number(session, series: InvoiceSeries = InvoiceSeries.order) -> int:
    """Take the series' next number; its counter row stays locked until the transaction ends."""
    conn = session.connection()
    params = {"counter_series": InvoiceSeries(series).value}
    number = conn.execute(_NEXT_NUMBER, params).scalar()
    if number is None:  # first number of a new series: create its row once, even in a race
        _create_counter(conn, params["counter_series"])
        number = conn.execute(_NEXT_NUMBER, params).scalar()
    return number


def take_numbers(session, series: InvoiceSeries, count: int) -> list[int]:
    """`count` consecutive numbers of the series in one UPDATE (the counter row stays locked
    until the transaction ends; a rollback gives them all back)."""
    conn = session.connection()
    params = {"counter_series": InvoiceSeries(series).value, "count": count}
    last = conn.execute(_TAKE_NUMBERS, params).scalar()
    if last is None:
        _create_counter(conn, params["counter_series"])
        last = conn.execute(_TAKE_NUMBERS, params).scalar()
    return list(range(last - count + 1, last + 1))


def _create_counter(conn, series: str) -> None:
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(dialect_insert(_COUNTERS).values(series=series, last_number=0)
                 .on_conflict_do_nothing(index_elements=["series"]))


def issue(session, values: dict) -> tuple[int, int]:
    """Number and write an invoice (`values`: its columns without `number`); its id and number.

    A plain INSERT: nothing reads the invoice back as an object in the same transaction.
    Everything else of the transaction is flushed first, so the counter row stays locked as
    briefly as possible."""
    session.flush()
    values = {name: values.get(name) for name in _INVOICE_VALUES}
    values["series"] = InvoiceSeries(values["series"] or InvoiceSeries.order)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        params = {f"invoice_{name}": value for name, value in values.items()}
        row = conn.execute(_INSERT_NUMBERED_INVOICE,
                           dict(params, counter_series=values["series"].value)).first()
        if row is not None:
            return row.id, row.number
        # No counter row yet (the series' first number): created by `next_number`.
    number = next_number(session, values["series"])
    return conn.execute(_INSERT_INVOICE, dict(values, number=number)).scalar_one(), number


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
    _id, number = issue(session, dict(
        series=InvoiceSeries.order, order_id=order.id,
        kind=InvoiceKind.cancellation if cancellation else InvoiceKind.invoice,
        cancels_invoice_id=cancels.id if cancels is not None else None, issued_at=now,
        delivery_date=order.placed_at.astimezone(company_zone()).date(),
        buyer_name=name, buyer_address=postal, total_net=sign * order.total_net,
        total_vat=sign * order.total_vat, total_gross=sign * order.total_gross))
    return number


# --- partners' monthly statements -----------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A calendar month in the company's time zone: [first day, first day of the next)."""

    start: date
    end: date  # exclusive

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        start = date(year, month, 1)
        return cls(start, date(year + month // 12, month % 12 + 1, 1))

    @classmethod
    def parse(cls, text: str) -> Period:
        """`2026-11` → November 2026."""
        try:
            year, month = (int(part) for part in str(text).split("-"))
            return cls.month(year, month)
        except ValueError as exc:
            raise InvalidInput("invalid_period", _("Give the month as YYYY-MM, e.g. 2026-11.")) from exc

    @classmethod
    def before(cls, day: date) -> Period:
        """The month before `day`'s month (what the run on the 15th bills)."""
        return cls.month(day.year - (day.month == 1), (day.month - 2) % 12 + 1)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as UTC instants: what happened at or after the first, before the second."""
        return (datetime.combine(self.start, time(), zone).astimezone(UTC),
                datetime.combine(self.end, time(), zone).astimezone(UTC))


@dataclass(frozen=True)
class Billable:
    """Something a partner is billed for (a charge) or credited (negative net)."""

    source: str          # what kind of thing, e.g. "lead_charge", "dispute_credit"
    source_id: int
    description: str
    net: Decimal
    vat_rate: Decimal
    occurred_on: date


@dataclass(frozen=True)
class RateSum:
    rate: Decimal
    net: Decimal
    vat: Decimal

    @property
    def gross(self) -> Decimal:
        return self.net + self.vat


def billed_as(source: str, id_column):
    """EXISTS an invoice line that bills the row of `id_column` as `source`: the sources'
    "not billed yet" is `~billed_as(...)`."""
    return (select(InvoiceLine.id)
            .where(InvoiceLine.source == source, InvoiceLine.source_id == id_column).exists())


def sums_per_rate(items: list[Billable]) -> list[RateSum]:
    """Net per VAT rate (the lines, each to the cent) and the VAT of that sum, rounded half
    up once per rate: what EN 16931 requires (BR-S-08/09) and what the page prints."""
    nets: dict[Decimal, Decimal] = {}
    for item in items:
        rate = Decimal(item.vat_rate)
        nets[rate] = nets.get(rate, ZERO) + cents(item.net)
    return [RateSum(rate, net, cents(net * rate / 100)) for rate, net in sorted(nets.items(), reverse=True)]


def statement_values(partner: Partner, period: Period, rates: list[RateSum], issued_on: date,
                     due_days: int) -> dict:
    """The statement's invoice columns (without its number) for its sums per rate (none: zero
    totals, for a writer that sums the lines afterwards)."""
    name, postal = buyer_of(partner.address)
    net = sum((r.net for r in rates), ZERO)
    vat = sum((r.vat for r in rates), ZERO)
    return dict(
        series=InvoiceSeries.partner, kind=InvoiceKind.invoice if net + vat >= 0 else InvoiceKind.credit_note,
        order_id=None, partner_id=partner.id, cancels_invoice_id=None,
        issued_at=datetime.combine(issued_on, time(12), company_zone()).astimezone(UTC),
        delivery_date=period.last_day, buyer_name=name, buyer_address=postal,
        total_net=net, total_vat=vat, total_gross=net + vat, period_start=period.start,
        period_end=period.last_day, due_date=issued_on + timedelta(days=due_days),
        buyer_vat_id=getattr(partner, "vat_id", None),
        mandate_reference=partner.mandate_reference if partner.has_mandate else None)


def _statement(partner: Partner, period: Period, items: list[Billable], issued_on: date,
               due_days: int) -> tuple[dict, list[dict]]:
    """The statement's invoice columns (without its number) and its lines (without the invoice)."""
    values = statement_values(partner, period, sums_per_rate(items), issued_on, due_days)
    lines = [dict(position=position, description=item.description[:300], quantity=Decimal("1"),
                  unit_net=cents(item.net), vat_rate=Decimal(item.vat_rate), net=cents(item.net),
                  occurred_on=item.occurred_on, source=item.source, source_id=item.source_id)
             for position, item in enumerate(items, 1)]
    return values, lines


def issue_partner_statement(session, partner: Partner, period: Period, items: list[Billable],
                            issued_on: date, due_days: int) -> int | None:
    """The partner's statement for `period` with one line per item; its invoice id, or None
    when there is nothing to bill. The caller commits; a second statement for the same
    partner and period, or an item billed before, meets a unique index and nothing of the
    second attempt is kept."""
    if not items:
        return None
    values, lines = _statement(partner, period, items, issued_on, due_days)
    invoice_id, _number = issue(session, values)
    session.execute(insert(InvoiceLine.__table__), [dict(line, invoice_id=invoice_id) for line in lines])
    return invoice_id


def issue_partner_invoices(session, statements: list[dict]) -> list[int]:
    """Several statements' invoices at once (`statement_values` each, in the order their
    numbers are to follow): their numbers taken in one UPDATE, the invoices written as one
    multi-row INSERT; their ids, in the order given. The caller writes their lines."""
    if not statements:
        return []
    session.flush()
    numbers = take_numbers(session, InvoiceSeries.partner, len(statements))
    conn = session.connection()
    # Without RETURNING: ids in the order given would make PostgreSQL insert row by row. The
    # numbers are the series' own, so the ids are read back by them.
    conn.execute(insert(_INVOICES), [dict(values, number=number)
                                     for values, number in zip(statements, numbers, strict=True)])
    return conn.execute(select(_INVOICES.c.id).where(
        _INVOICES.c.series == InvoiceSeries.partner, _INVOICES.c.number.between(numbers[0], numbers[-1]))
        .order_by(_INVOICES.c.number)).scalars().all()


def _seller(config: Mapping) -> einvoice.Party:
    lines = [line.strip() for line in str(config.get("COMPANY_ADDRESS", "")).splitlines() if line.strip()]
    street = lines[0] if lines else ""
    postal_code, _, city = (lines[1] if len(lines) > 1 else "").partition(" ")
    return einvoice.Party(config.get("COMPANY_NAME", ""), street, postal_code, city, "DE",
                          config.get("COMPANY_VAT_ID") or None)


def _buyer(invoice: Invoice, address: Address) -> einvoice.Party:
    return einvoice.Party(invoice.buyer_name, address.street or "", address.postal_code or "",
                          address.city or "", address.country or "DE", invoice.buyer_vat_id)


def partner_document(invoice: Invoice, config: Mapping) -> einvoice.EInvoice:
    """The statement as the e-invoice and the page show it."""
    partner = invoice.partner
    lines = [einvoice.Line(line.description, line.quantity, line.unit_net, line.vat_rate, line.net)
             for line in invoice.lines]
    items = [Billable("", 0, "", line.net, line.vat_rate, invoice.period_end) for line in invoice.lines]
    rates = [einvoice.RateSum(r.rate, r.net, r.vat) for r in sums_per_rate(items)]
    debit = None
    if invoice.mandate_reference and partner.iban and invoice.total_gross > 0:
        debit = einvoice.DirectDebit(invoice.mandate_reference, config.get("SEPA_CREDITOR_ID", ""),
                                     partner.iban)
    corrects = None
    if invoice.cancels is not None:
        corrects = (invoice.cancels.display_number,
                    invoice.cancels.issued_at.astimezone(company_zone()).date())
    return einvoice.EInvoice(
        number=invoice.display_number, issued_on=invoice.issued_at.astimezone(company_zone()).date(),
        period_start=invoice.period_start, period_end=invoice.period_end, seller=_seller(config),
        buyer=_buyer(invoice, partner.address), lines=lines, rates=rates, due_on=invoice.due_date,
        type_code=einvoice.CREDIT_NOTE if invoice.kind == InvoiceKind.credit_note else einvoice.INVOICE,
        debit=debit, payee_iban=config.get("COMPANY_IBAN") or None, corrects=corrects)


def render_partner_invoice(invoice: Invoice, config: Mapping) -> bytes:
    """The statement's PDF with its e-invoice inside."""
    return einvoice.render(partner_document(invoice, config))
