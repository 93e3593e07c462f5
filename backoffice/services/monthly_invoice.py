"""The monthly run (B2): on the 15th every partner with something to bill for the previous
month gets one statement.

What is billed comes from the billing sources: each returns, per partner, the items of a
period that no statement has billed yet (the marketplace's lead charges and the credits of
accepted disputes, the fees of returned debits). Each partner's statement is its own
transaction, so a run that dies half-way keeps the statements it finished, and starting it
again bills the rest: a partner with a statement for the month is skipped, and an item
billed before is excluded by its source query and, under a race, by the unique index of
the statement's lines. Two runs at once therefore write each statement once; the loser of
a race for a partner moves on.

Partners are billed in batches, one transaction per batch (at most `BATCH` partners, and
at least 20 batches per run so that progress moves): the batch's partners are locked in
id order, those billed meanwhile are skipped, the others' numbers are taken in one UPDATE
and their invoices and lines written as multi-row INSERTs. A batch that meets a
concurrent run's statement (a unique index) is rolled back and billed again one partner at
a time, each in its own transaction, so the loser writes what the winner did not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import transaction
from ..errors import Conflict
from ..models import DebitStatus, Invoice, InvoiceSeries, Partner, SepaDebit
from . import marketplace
from .billing import Billable, Period, issue_partner_statement, issue_partner_statements
from .direct_debits import unbilled_return_fees

# VAT on fees the company charges partners (standard rate).
FEE_VAT_RATE = Decimal("19")
BATCH = 500
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


SOURCES: list[Source] = [marketplace.billable_charges, marketplace.billable_credits, return_fees]


def billable(session, period: Period) -> dict[int, list[Billable]]:
    """Per partner, everything to bill for `period`, in a stable order."""
    found: dict[int, list[Billable]] = {}
    for source in SOURCES:
        for partner_id, items in source(session, period).items():
            found.setdefault(partner_id, []).extend(items)
    return {pid: sorted(items, key=lambda i: (i.occurred_on, i.source, i.source_id))
            for pid, items in sorted(found.items())}


def _has_statement(session, partner_id: int, period: Period) -> bool:
    return session.execute(select(Invoice.id).where(
        Invoice.partner_id == partner_id, Invoice.series == InvoiceSeries.partner,
        Invoice.period_start == period.start, Invoice.cancels_invoice_id.is_(None))).first() is not None


@dataclass
class RunResult:
    period: Period
    dry_run: bool
    partners: int = 0
    written: list[int] = field(default_factory=list)       # invoice ids
    skipped: list[int] = field(default_factory=list)       # partner ids billed before
    planned: list[tuple[int, int, Decimal]] = field(default_factory=list)  # partner, items, net


def run(session, period: Period, issued_on: date, due_days: int, *, dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Bill `period`; one committed transaction per batch of partners (none in a dry run)."""
    plan = billable(session, period)
    transaction.discard(session)
    result = RunResult(period, dry_run, partners=len(plan))
    todo = list(plan.items())
    if dry_run:
        result.planned = [(pid, len(items), sum((i.net for i in items), Decimal("0.00")))
                          for pid, items in todo]
        if progress:
            progress(len(todo), len(todo))
        return result
    size = max(1, min(BATCH, len(todo) // 20))
    for start in range(0, len(todo), size):
        batch = todo[start:start + size]
        outcome = _bill_batch(session, batch, period, issued_on, due_days)
        if outcome is RACED:  # a concurrent run billed some of them: one partner at a time
            outcome = [], []
            for partner_id, items in batch:
                invoice_id = _bill(session, partner_id, period, items, issued_on, due_days)
                (outcome[0] if invoice_id else outcome[1]).append(invoice_id or partner_id)
        result.written.extend(outcome[0])
        result.skipped.extend(outcome[1])
        if progress:
            progress(start + len(batch), len(todo))
    return result


def _bill_batch(session, batch: list[tuple[int, list[Billable]]], period: Period, issued_on: date,
                due_days: int):
    """(invoice ids written, partner ids billed before) of one batch in one transaction, or
    RACED when a concurrent run's statement met a unique index (nothing of it is kept)."""
    ids = [partner_id for partner_id, _items in batch]

    def work(s):
        partners = {p.id: p for p in s.execute(
            select(Partner).options(selectinload(Partner.address)).where(Partner.id.in_(ids))
            .order_by(Partner.id).with_for_update(of=Partner)).scalars()}
        billed = set(s.execute(select(Invoice.partner_id).where(
            Invoice.partner_id.in_(ids), Invoice.series == InvoiceSeries.partner,
            Invoice.period_start == period.start, Invoice.cancels_invoice_id.is_(None))).scalars())
        todo = [(partners[pid], items) for pid, items in batch if pid not in billed]
        return issue_partner_statements(s, todo, period, issued_on, due_days), sorted(billed)

    try:
        return transaction.run(work, session=session, retries=2, on_conflict=lambda _s, _exc: RACED)
    except Conflict:
        return RACED


def _bill(session, partner_id: int, period: Period, items: list[Billable], issued_on: date,
          due_days: int) -> int | None:
    def work(s):
        partner = s.execute(select(Partner).where(Partner.id == partner_id).with_for_update()).scalar_one()
        if _has_statement(s, partner_id, period):
            return None
        return issue_partner_statement(s, partner, period, items, issued_on, due_days)

    def raced(_session, _exc: IntegrityError):
        return None  # another run wrote this partner's statement (or billed an item) first

    try:
        return transaction.run(work, session=session, retries=2, on_conflict=raced)
    except Conflict:
        return None
