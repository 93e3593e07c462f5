"""The figures of partner billing for finance's start page and the partner's billing page.

`partner_billing` is the one place a partner's pages (start page, *My invoices*, the
marketplace's *My requests*) get what the partner is charged and billed: the running month's
charges are read once, and their sums, what is not invoiced yet and the invoices' figures
come from that one reading.

Each figure is one aggregate query: what is open on partner invoices (gross minus
payments), the charges of the running month that no statement has billed yet, net revenue
per billed month, the invoices and credit notes issued this month, the last SEPA files,
returns and monthly runs. Months are calendar months in the company's time zone, as the
monthly run bills them. With `partner_id` every figure is that partner's alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from ..models import (
    ChargeDispute,
    DebitStatus,
    DisputeStatus,
    Invoice,
    InvoiceKind,
    InvoiceSeries,
    LeadCharge,
    Payment,
    SepaDebit,
    SepaFile,
    Task,
    TaskStatus,
)
from .billing import Period, billed_as
from .marketplace import DISPUTE_CREDIT, LEAD_CHARGE
from .money import ZERO, cents
from .vouchers import company_zone

MONTHS = 12
RUN_KIND = "billing.monthly_run"


@dataclass(frozen=True)
class OpenInvoice:
    id: int
    number: str
    kind: InvoiceKind
    partner: str
    period_start: date | None
    issued_at: datetime
    due_date: date | None
    gross: Decimal
    open: Decimal
    corrects: str | None = None  # a credit note: the number of the invoice it corrects


@dataclass(frozen=True)
class ReturnRow:
    debit_id: int
    invoice_id: int
    invoice_number: str
    partner: str
    amount: Decimal
    fee: Decimal
    reason: str
    returned_on: date


@dataclass(frozen=True)
class RunRow:
    task_id: int
    created_at: datetime
    status: TaskStatus
    period: str
    invoices: int | None


@dataclass
class BillingFigures:
    today: date
    open_amount: Decimal          # what partners owe on invoices (positive open amounts)
    open_invoices: int
    owed_to_partners: Decimal     # credit notes not paid out yet (shown positive)
    uninvoiced_net: Decimal       # charges of the running month no statement has billed
    uninvoiced_charges: int
    revenue_per_month: list[tuple[str, Decimal]]   # "YYYY-MM" of the service period → net
    invoices_this_month: int
    credit_notes_this_month: int
    invoiced_this_month: Decimal  # gross of invoices and credit notes issued this month
    files: list[SepaFile] = field(default_factory=list)
    returns: list[ReturnRow] = field(default_factory=list)
    runs: list[RunRow] = field(default_factory=list)
    invoices: list[OpenInvoice] = field(default_factory=list)


def _paid():
    return (select(Payment.invoice_id, func.sum(Payment.amount).label("paid"))
            .group_by(Payment.invoice_id).subquery())


def _scope(partner_id: int | None, column=Invoice.partner_id):
    return [column == partner_id] if partner_id is not None else []


def _statements(partner_id: int | None):
    return [Invoice.series == InvoiceSeries.partner, *_scope(partner_id)]


def invoices_with_open(session, partner_id: int | None = None, *, open_only: bool = False,
                       limit: int | None = None) -> list[OpenInvoice]:
    """Partner invoices and credit notes, newest first, with what is still open on each."""
    paid = _paid()
    open_ = Invoice.total_gross - func.coalesce(paid.c.paid, 0)
    query = (select(Invoice, open_).outerjoin(paid, paid.c.invoice_id == Invoice.id)
             .where(*_statements(partner_id)).order_by(Invoice.id.desc()))
    if open_only:
        query = query.where(open_ != 0)
    if limit:
        query = query.limit(limit)
    return [OpenInvoice(i.id, i.display_number, i.kind, i.buyer_name, i.period_start, i.issued_at, i.due_date,
                        i.total_gross, cents(Decimal(left)),
                        i.cancels.display_number if i.cancels_invoice_id is not None else None)
            for i, left in session.execute(query)]


def _open_totals(session, partner_id: int | None) -> tuple[Decimal, int, Decimal]:
    paid = _paid()
    per_invoice = (select((Invoice.total_gross - func.coalesce(paid.c.paid, 0)).label("open"))
                   .outerjoin(paid, paid.c.invoice_id == Invoice.id)
                   .where(*_statements(partner_id)).subquery())
    owed, count = session.execute(select(func.coalesce(func.sum(per_invoice.c.open), 0), func.count())
                                  .where(per_invoice.c.open > 0)).one()
    credit = session.execute(select(func.coalesce(func.sum(per_invoice.c.open), 0))
                             .where(per_invoice.c.open < 0)).scalar_one()
    return cents(Decimal(owed)), count, cents(-Decimal(credit))


def _uninvoiced(session, partner_id: int | None, month: Period) -> tuple[Decimal, int]:
    start, end = month.bounds(company_zone())
    net, count = session.execute(
        select(func.coalesce(func.sum(LeadCharge.net), 0), func.count(LeadCharge.id))
        .where(LeadCharge.charged_at >= start, LeadCharge.charged_at < end,
               ~billed_as(LEAD_CHARGE, LeadCharge.id), *_scope(partner_id, LeadCharge.partner_id))).one()
    return cents(Decimal(net)), count


def recent_months(today: date, count: int = MONTHS) -> list[Period]:
    """The last `count` months up to `today`'s, oldest first."""
    months, current = [], Period.month(today.year, today.month)
    for _n in range(count):
        months.append(current)
        current = Period.before(current.start)
    return months[::-1]


def revenue_per_month(session, today: date, partner_id: int | None = None,
                      months: int = MONTHS) -> list[tuple[str, Decimal]]:
    """Net billed per service month (credit notes subtract), the last `months` months."""
    periods = recent_months(today, months)
    rows = dict(session.execute(
        select(Invoice.period_start, func.sum(Invoice.total_net))
        .where(*_statements(partner_id), Invoice.period_start >= periods[0].start,
               Invoice.period_start < periods[-1].end)
        .group_by(Invoice.period_start)).all())
    return [(f"{p.start:%Y-%m}", cents(Decimal(rows.get(p.start) or 0))) for p in periods]


def last_returns(session, partner_id: int | None = None, limit: int = 5) -> list[ReturnRow]:
    rows = session.execute(
        select(SepaDebit, Invoice).join(Invoice, Invoice.id == SepaDebit.invoice_id)
        .where(SepaDebit.status == DebitStatus.returned, *_scope(partner_id, SepaDebit.partner_id))
        .order_by(SepaDebit.returned_on.desc(), SepaDebit.id.desc()).limit(limit)).all()
    return [ReturnRow(d.id, i.id, i.display_number, i.buyer_name, d.amount, d.return_fee or ZERO,
                      d.return_reason or "", d.returned_on) for d, i in rows]


def last_runs(session, limit: int = 5) -> list[RunRow]:
    tasks = session.execute(select(Task).where(Task.kind == RUN_KIND)
                            .order_by(Task.id.desc()).limit(limit)).scalars()
    runs = []
    for task in tasks:
        result = json.loads(task.result) if task.result else {}
        params = json.loads(task.params or "{}")
        runs.append(RunRow(task.id, task.created_at, task.status,
                           result.get("period") or params.get("period") or "", result.get("invoices")))
    return runs


def figures(session, today: date, partner_id: int | None = None) -> BillingFigures:
    """Finance's figures (all partners), or one partner's with `partner_id`."""
    month = Period.month(today.year, today.month)
    return _figures(session, today, partner_id, _uninvoiced(session, partner_id, month))


def _figures(session, today: date, partner_id: int | None, uninvoiced: tuple[Decimal, int]) -> BillingFigures:
    month = Period.month(today.year, today.month)
    owed, open_count, credit = _open_totals(session, partner_id)
    uninvoiced_net, uninvoiced_count = uninvoiced
    start, end = month.bounds(company_zone())
    per_kind = {kind: (n, cents(Decimal(gross))) for kind, n, gross in session.execute(
        select(Invoice.kind, func.count(Invoice.id), func.coalesce(func.sum(Invoice.total_gross), 0))
        .where(*_statements(partner_id), Invoice.issued_at >= start, Invoice.issued_at < end)
        .group_by(Invoice.kind))}
    result = BillingFigures(
        today=today, open_amount=owed, open_invoices=open_count, owed_to_partners=credit,
        uninvoiced_net=uninvoiced_net, uninvoiced_charges=uninvoiced_count,
        revenue_per_month=revenue_per_month(session, today, partner_id),
        invoices_this_month=per_kind.get(InvoiceKind.invoice, (0, ZERO))[0],
        credit_notes_this_month=per_kind.get(InvoiceKind.credit_note, (0, ZERO))[0],
        invoiced_this_month=sum((gross for _n, gross in per_kind.values()), ZERO),
        returns=last_returns(session, partner_id))
    if partner_id is None:
        result.files = list(session.execute(select(SepaFile).order_by(SepaFile.id.desc()).limit(5)).scalars())
        result.runs = last_runs(session)
    else:
        result.invoices = invoices_with_open(session, partner_id)
    return result


@dataclass
class PartnerBilling:
    """What a partner's pages show of its charges and invoices."""

    month_charges: list[LeadCharge]  # the running month's charges, oldest first
    month_net: Decimal               # their net sum
    unbilled_net: Decimal            # what the next statement asks: charges of any month no
                                     # statement billed, less accepted disputes' credits not billed
    figures: BillingFigures | None   # invoices, open amounts, returns (the owner's pages only)

    @property
    def uninvoiced_net(self) -> Decimal:
        return self.figures.uninvoiced_net if self.figures else self.month_net


def partner_billing(session, partner_id: int, today: date, *, invoices: bool = True) -> PartnerBilling:
    """The partner's charges of `today`'s month (read once), what no statement has billed yet,
    and with `invoices` its invoice figures (as `figures` gives them for the partner)."""
    month = Period.month(today.year, today.month)
    start, end = month.bounds(company_zone())
    rows = session.execute(
        select(LeadCharge, billed_as(LEAD_CHARGE, LeadCharge.id))
        .where(LeadCharge.partner_id == partner_id, LeadCharge.charged_at >= start,
               LeadCharge.charged_at < end)
        .order_by(LeadCharge.id)).all()
    charges = [charge for charge, _billed in rows]
    unbilled = [charge.net for charge, billed in rows if not billed]
    uninvoiced = (cents(sum(unbilled, ZERO)), len(unbilled))
    other_months = session.scalar(
        select(func.coalesce(func.sum(LeadCharge.net), 0))
        .where(LeadCharge.partner_id == partner_id, ~billed_as(LEAD_CHARGE, LeadCharge.id),
               (LeadCharge.charged_at < start) | (LeadCharge.charged_at >= end)))
    credited = session.scalar(
        select(func.coalesce(func.sum(LeadCharge.net), 0))
        .join(ChargeDispute, ChargeDispute.charge_id == LeadCharge.id)
        .where(ChargeDispute.partner_id == partner_id, ChargeDispute.status == DisputeStatus.accepted,
               ~billed_as(DISPUTE_CREDIT, ChargeDispute.id)))
    return PartnerBilling(
        month_charges=charges, month_net=cents(sum((c.net for c in charges), ZERO)),
        unbilled_net=cents(uninvoiced[0] + Decimal(other_months) - Decimal(credited)),
        figures=_figures(session, today, partner_id, uninvoiced) if invoices else None)
