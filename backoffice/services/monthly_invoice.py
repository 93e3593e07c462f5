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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import transaction
from ..errors import Conflict
from ..models import DebitStatus, Invoice, InvoiceSeries, Partner, SepaDebit
from . import marketplace
from .billing import Billable, Period, issue_partner_statement
from .direct_debits import unbilled_return_fees

# VAT on fees the company charges partners (standard rate).
FEE_VAT_RATE = Decimal("19")

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
    """Bill `period`; one committed transaction per partner (none in a dry run)."""
    plan = billable(session, period)
    transaction.discard(session)
    result = RunResult(period, dry_run, partners=len(plan))
    for done, (partner_id, items) in enumerate(plan.items(), 1):
        if dry_run:
            result.planned.append((partner_id, len(items), sum((i.net for i in items), Decimal("0.00"))))
        else:
            invoice_id = _bill(session, partner_id, period, items, issued_on, due_days)
            (result.written if invoice_id else result.skipped).append(invoice_id or partner_id)
        if progress:
            progress(done, len(plan))
    return result


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
