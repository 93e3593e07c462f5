"""The monthly run (B2): on the 15th every partner with something to bill for the previous
month gets one statement.

What is billed comes from the billing sources. The marketplace's lead charges (up to a
million a month) are a set: `marketplace.charge_items` is the SQL of the period's charges no
statement has billed yet, one row per line to write. The rarer items (the credits of
accepted disputes, the fees of returned debits) come as lists per partner (`EXTRA_SOURCES`).

Partners are billed in batches, one transaction per batch (at most `BATCH` partners, and
at least 20 batches per run so that progress moves), all of it set-based:

1. the batch's partners are locked in id order; those with a statement for the month
   meanwhile are skipped;
2. the batch's rarer items go into a temporary table, so that charges and items are one
   set (`UNION ALL`);
3. the statements' numbers are taken from the series' counter row in one UPDATE (the row
   stays locked until the batch commits: gapless, in partner order), the invoices written
   as one multi-row INSERT, their totals still zero;
4. the lines are one `INSERT … SELECT` of the set joined to the new invoices, numbered per
   invoice by date, source and id. A line names what it bills (`source`, `source_id`,
   unique), which is what marks a charge billed: the sources exclude billed items;
5. one UPDATE sets the invoices' totals from their lines, in whole cents (exact on SQLite
   too, where money is a float): the net per VAT rate, its VAT rounded half up once per
   rate (as `billing.sums_per_rate` does for the page and the e-invoice), summed. An
   invoice that got no line (its items billed meanwhile) fails the batch.

A run that dies half-way keeps the batches it finished, and starting it again bills the
rest. Two runs at once meet on the partner locks (the second sees the first's statements
and skips them) and, failing that, on the unique indexes of statement and line: such a
batch is rolled back and billed again one partner at a time, each in its own
transaction, so the loser writes what the winner did not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
    update,
)

from .. import transaction
from ..errors import Conflict
from ..models import (
    Address,
    DebitStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSeries,
    Partner,
    SepaDebit,
)
from ..models.types import MONEY, RATE
from . import marketplace
from .billing import Billable, Period, issue_partner_invoices, statement_values
from .direct_debits import unbilled_return_fees
from .money import ZERO

# VAT on fees the company charges partners (standard rate).
FEE_VAT_RATE = Decimal("19")
BATCH = 2000
RACED = object()

Source = Callable[[object, Period], dict[int, list[Billable]]]


def return_fees(session, period: Period) -> dict[int, list[Billable]]:
    """Fees of debits returned before the period's end that no statement has billed."""
    partner_ids = session.execute(select(SepaDebit.partner_id).where(
        SepaDebit.status == DebitStatus.returned, SepaDebit.return_fee > 0,
        SepaDebit.returned_on < period.end).distinct()).scalars().all()
    items = {pid: [i for i in unbilled_return_fees(session, pid, FEE_VAT_RATE) if i.occurred_on < period.end]
             for pid in partner_ids}
    return {pid: found for pid, found in items.items() if found}


# The sources besides the charges: few items, read as lists per partner.
EXTRA_SOURCES: list[Source] = [marketplace.billable_credits, return_fees]

# A batch's extra items, beside the charges, for the set-based statements (per connection).
_EXTRA = Table("billing_item", MetaData(), Column("partner_id", Integer), Column("source", String(32)),
               Column("source_id", Integer), Column("description", String(300)), Column("net", MONEY),
               Column("vat_rate", RATE), Column("occurred_on", Date), prefixes=["TEMPORARY"])
_CREATE_EXTRA = text("CREATE TEMPORARY TABLE IF NOT EXISTS billing_item (partner_id INTEGER, "
                     "source VARCHAR(32), source_id INTEGER, description VARCHAR(300), net NUMERIC(12, 2), "
                     "vat_rate NUMERIC(4, 2), occurred_on DATE)")


def extras(session, period: Period) -> dict[int, list[Billable]]:
    """Per partner, the extra sources' items for `period`."""
    found: dict[int, list[Billable]] = {}
    for source in EXTRA_SOURCES:
        for partner_id, items in source(session, period).items():
            found.setdefault(partner_id, []).extend(items)
    return found


def _in_cents(net):
    """SQL: a money column as whole cents (exact on SQLite, where it is a float)."""
    return cast(func.round(net * 100), BigInteger)


def _billed(period: Period):
    """SQL: the partners with a statement for `period` (a run leaves them alone)."""
    return select(Invoice.partner_id).where(
        Invoice.partner_id.is_not(None), Invoice.series == InvoiceSeries.partner,
        Invoice.period_start == period.start, Invoice.cancels_invoice_id.is_(None))


def charge_totals(session, period: Period) -> dict[int, tuple[int, Decimal]]:
    """Per partner without a statement for `period`, the number and net sum of the period's
    unbilled charges. Partners billed before are left out first, as a set: a run started
    again over a billed month reads the charges once and probes none of them."""
    items = marketplace.charge_items(session, period, described=False).subquery()
    rows = session.execute(select(items.c.partner_id, func.count(), func.sum(_in_cents(items.c.net)))
                           .where(items.c.partner_id.not_in(_billed(period)))
                           .group_by(items.c.partner_id))
    return {pid: (count, Decimal(total).scaleb(-2)) for pid, count, total in rows}


@dataclass
class RunResult:
    period: Period
    dry_run: bool
    partners: int = 0
    written: list[int] = field(default_factory=list)       # invoice ids
    skipped: list[int] = field(default_factory=list)       # partner ids billed meanwhile (a concurrent run)
    planned: list[tuple[int, int, Decimal]] = field(default_factory=list)  # partner, items, net


def run(session, period: Period, issued_on: date, due_days: int, *, dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Bill `period`; one committed transaction per batch of partners (none in a dry run)."""
    charges = charge_totals(session, period)
    billed = set(session.execute(_billed(period)).scalars())
    more = {pid: items for pid, items in extras(session, period).items() if pid not in billed}
    transaction.discard(session)
    todo = sorted(charges.keys() | more.keys())
    result = RunResult(period, dry_run, partners=len(todo))
    if dry_run:
        for pid in todo:
            count, net = charges.get(pid, (0, ZERO))
            result.planned.append((pid, count + len(more.get(pid, [])),
                                   net + sum((i.net for i in more.get(pid, [])), ZERO)))
        if progress:
            progress(len(todo), len(todo))
        return result
    size = max(1, min(BATCH, len(todo) // 20))
    for start in range(0, len(todo), size):
        batch = todo[start:start + size]
        outcome = _bill_batch(session, batch, more, period, issued_on, due_days)
        if outcome is RACED:  # a concurrent run billed some of them: one partner at a time
            outcome = [], []
            for partner_id in batch:
                one = _bill_batch(session, [partner_id], more, period, issued_on, due_days)
                if one is not RACED:
                    outcome[0].extend(one[0])
                    outcome[1].extend(one[1])
        result.written.extend(outcome[0])
        result.skipped.extend(outcome[1])
        if progress:
            progress(start + len(batch), len(todo))
    return result


def _bill_batch(session, batch: list[int], more: dict[int, list[Billable]], period: Period,
                issued_on: date, due_days: int):
    """(invoice ids written, partner ids billed before) of one batch in one transaction, or
    RACED when a concurrent run's statement met a unique index (nothing of it is kept)."""

    def work(s):
        partners = _lock_partners(s, batch)
        billed = set(s.execute(_billed(period).where(Invoice.partner_id.in_(batch))).scalars())
        todo = [partners[pid] for pid in batch if pid not in billed and pid in partners]
        return _write_statements(s, todo, more, period, issued_on, due_days), sorted(billed)

    try:
        return transaction.run(work, session=session, retries=2, on_conflict=lambda _s, _exc: RACED)
    except Conflict:
        return RACED


def _lock_partners(session, ids: list[int]) -> dict[int, SimpleNamespace]:
    """The partners, locked in id order, with what their statements print: plain rows (a
    run reads tens of thousands), shaped like a partner with its address for
    `statement_values`."""
    vat_id = getattr(Partner, "vat_id", None)
    rows = session.execute(
        select(Partner.id, Partner.iban, Partner.mandate_reference, Partner.mandate_date,
               Address.first_name, Address.last_name, Address.company, Address.street, Address.postal_code,
               Address.city, Address.country, *([vat_id.label("vat_id")] if vat_id is not None else []))
        .join(Address, Address.id == Partner.address_id).where(Partner.id.in_(ids))
        .order_by(Partner.id).with_for_update(of=Partner))
    return {row.id: SimpleNamespace(
        id=row.id, mandate_reference=row.mandate_reference, has_mandate=Partner.has_mandate.fget(row),
        vat_id=getattr(row, "vat_id", None),
        address=SimpleNamespace(name=Address.name.fget(row), street=row.street, postal_code=row.postal_code,
                                city=row.city, country=row.country)) for row in rows}


def _write_statements(session, partners: list[SimpleNamespace], more: dict[int, list[Billable]],
                      period: Period, issued_on: date, due_days: int) -> list[int]:
    """The statements of `partners` (locked, none billed for the period): invoices numbered in
    partner order, their lines written from the set of their items, then their totals summed
    from their lines; the invoice ids."""
    if not partners:
        return []
    ids = [p.id for p in partners]
    items = _items(session, period, ids, [(pid, item) for pid in ids for item in more.get(pid, [])])
    invoice_ids = issue_partner_invoices(session, [statement_values(p, period, [], issued_on, due_days)
                                                   for p in partners])
    conn = session.connection()
    position = func.row_number().over(partition_by=items.c.partner_id,
                                      order_by=(items.c.occurred_on, items.c.source, items.c.source_id))
    conn.execute(insert(InvoiceLine.__table__).from_select(
        ["invoice_id", "position", "description", "quantity", "unit_net", "vat_rate", "net", "occurred_on",
         "source", "source_id"],
        select(Invoice.id, position, items.c.description, literal(1), items.c.net, items.c.vat_rate,
               items.c.net, items.c.occurred_on, items.c.source, items.c.source_id)
        .select_from(items).join(Invoice, Invoice.partner_id == items.c.partner_id)
        .where(Invoice.id.in_(invoice_ids))))
    if conn.execute(_TOTALS, {"ids": invoice_ids}).rowcount != len(invoice_ids):
        raise Conflict("nothing_to_bill")  # a partner's items were billed meanwhile: one by one
    return invoice_ids


def _totals():
    """UPDATE the invoices `ids` with their totals from their lines, in whole cents: the net per
    VAT rate, its VAT rounded half up (away from zero) once per rate (BR-S-08/09, as
    `billing.sums_per_rate`), summed over the rates; a negative total is a credit note."""
    lines, invoices = InvoiceLine.__table__, Invoice.__table__
    net = cast(func.sum(_in_cents(lines.c.net)), BigInteger)  # PostgreSQL's sum of bigints is numeric
    basis_points = cast(func.round(lines.c.vat_rate * 100), BigInteger)
    vat = case((net < 0, -((-net * basis_points + 5000) // 10000)),
               else_=(net * basis_points + 5000) // 10000)
    per_rate = (select(lines.c.invoice_id, net.label("net"), vat.label("vat"))
                .where(lines.c.invoice_id.in_(bindparam("ids", expanding=True)))
                .group_by(lines.c.invoice_id, lines.c.vat_rate).subquery())
    totals = (select(per_rate.c.invoice_id, func.sum(per_rate.c.net).label("net"),
                     func.sum(per_rate.c.vat).label("vat"))
              .group_by(per_rate.c.invoice_id).subquery())
    euros, kind = literal_column("100.0"), invoices.c.kind.type
    return (update(invoices).where(invoices.c.id == totals.c.invoice_id)
            .values(total_net=totals.c.net / euros, total_vat=totals.c.vat / euros,
                    total_gross=(totals.c.net + totals.c.vat) / euros,
                    kind=case((totals.c.net + totals.c.vat < 0, literal(InvoiceKind.credit_note, kind)),
                              else_=literal(InvoiceKind.invoice, kind))))


_TOTALS = _totals()


def _items(session, period: Period, partner_ids: list[int], extra: list[tuple[int, Billable]]):
    """The set of the partners' unbilled items: their charges and, through the temporary
    table, their extra items."""
    charges = marketplace.charge_items(session, period, partner_ids)
    if not extra:
        return charges.subquery("items")
    conn = session.connection()
    conn.execute(_CREATE_EXTRA)
    conn.execute(_EXTRA.delete())
    conn.execute(insert(_EXTRA), [dict(partner_id=pid, source=i.source, source_id=i.source_id,
                                       description=i.description[:300], net=i.net, vat_rate=i.vat_rate,
                                       occurred_on=i.occurred_on) for pid, i in extra])
    return union_all(charges, select(*_EXTRA.c)).subquery("items")
