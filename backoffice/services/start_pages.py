"""The figures of each role's start page: what staff, a partner and finance ask first.

Every figure is one indexed query (counts and sums over a date range or a sponsor's
firstline) or kept counts (`downline.counters`: registered, never ordered; registrations and
first orders per day), so a start page stays fast with a million addresses. Days are UTC days; a
month is the calendar month of `today`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from downline import counters

from ..models import (
    Address,
    AddressType,
    AuditEntry,
    ImportRun,
    ImportStatus,
    Invoice,
    InvoiceKind,
    Redemption,
    Task,
    TaskStatus,
    VoucherCode,
)

DAYS = 30
MONTHS = 12


@dataclass
class StaffFigures:
    registrations_per_day: list[tuple[dt.date, int]]
    first_orders_per_day: list[tuple[dt.date, int]]
    never_ordered: int
    redemptions_this_month: int
    voucher_cost_this_month: Decimal
    open_imports: int
    open_tasks: int
    recent_audit: list[AuditEntry] = field(default_factory=list)


@dataclass
class PartnerFigures:
    firstline: int
    downline: int
    firstline_new_last_30_days: int
    new_customers_to_follow_up: int
    codes: list[tuple[str, int]]          # own code → redemptions this month
    redemptions_this_month: int
    firstline_per_day: list[tuple[dt.date, int]]


@dataclass
class FinanceFigures:
    voucher_cost_per_month: list[tuple[str, Decimal]]
    invoices_this_month: int
    cancellations_this_month: int
    invoiced_this_month: Decimal


def _start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _month_start(today: dt.date) -> dt.datetime:
    return _start_of_day(today.replace(day=1))


def _per_day(session, column, today: dt.date, *conditions) -> list[tuple[dt.date, int]]:
    """Counts per UTC day of the last `DAYS` days up to `today`, days without any as 0."""
    first = today - dt.timedelta(days=DAYS - 1)
    day = sa.func.date(column)
    rows = session.execute(sa.select(day, sa.func.count()).where(
        column >= _start_of_day(first), column < _start_of_day(today + dt.timedelta(days=1)),
        *conditions).group_by(day))
    counts = {str(d): n for d, n in rows}
    return [(first + dt.timedelta(days=i), counts.get(str(first + dt.timedelta(days=i)), 0))
            for i in range(DAYS)]


def _kept_per_day(session, prefix: str, today: dt.date) -> list[tuple[dt.date, int]]:
    """The kept counts (`downline.counters`) of the last `DAYS` UTC days, days without any as 0."""
    first = today - dt.timedelta(days=DAYS - 1)
    counts = counters.per_day(session, prefix, first, today)
    return [(day, counts.get(day, 0)) for day in (first + dt.timedelta(days=i) for i in range(DAYS))]


def _count(session, *conditions, of=None) -> int:
    query = sa.select(sa.func.count()).select_from(of) if of is not None else None
    return session.execute(query.where(*conditions)).scalar_one()


_kept = Redemption.released_at.is_(None)


def staff_figures(session, today: dt.date) -> StaffFigures:
    month = _month_start(today)
    redemptions, cost = session.execute(
        sa.select(sa.func.count(Redemption.id), sa.func.coalesce(sa.func.sum(Redemption.amount), 0))
        .where(Redemption.redeemed_at >= month, _kept)).one()
    return StaffFigures(
        registrations_per_day=_kept_per_day(session, counters.REGISTERED, today),
        first_orders_per_day=_kept_per_day(session, counters.FIRST_ORDER, today),
        never_ordered=counters.never_ordered(session),
        redemptions_this_month=redemptions,
        voucher_cost_this_month=Decimal(cost).quantize(Decimal("0.01")),
        open_imports=_count(session, ImportRun.status.in_([ImportStatus.uploaded, ImportStatus.running]),
                            of=ImportRun),
        open_tasks=_count(session, Task.status.in_([TaskStatus.queued, TaskStatus.running]), of=Task),
        recent_audit=list(session.execute(
            sa.select(AuditEntry).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc()).limit(8)
        ).scalars()),
    )


def partner_figures(session, address_id: int, partner_id: int, today: dt.date) -> PartnerFigures:
    address = session.get(Address, address_id)
    month = _month_start(today)
    codes = session.execute(
        sa.select(VoucherCode.code, sa.func.count(Redemption.id))
        .outerjoin(Redemption, sa.and_(Redemption.code_id == VoucherCode.id,
                                       Redemption.redeemed_at >= month, _kept))
        .where(VoucherCode.owner_partner_id == partner_id)
        .group_by(VoucherCode.id, VoucherCode.code).order_by(VoucherCode.code)).all()
    # The chart's days are the same 30 days as the figure: one read gives both.
    per_day = _per_day(session, Address.registered_at, today, Address.sponsor_id == address_id)
    return PartnerFigures(
        firstline=address.firstline_count if address else 0,
        downline=address.downline_count if address else 0,
        firstline_new_last_30_days=sum(n for _, n in per_day),
        new_customers_to_follow_up=_count(session, Address.sponsor_id == address_id,
                                          Address.type == AddressType.new_customer, of=Address),
        codes=[(code, n) for code, n in codes],
        redemptions_this_month=sum(n for _, n in codes),
        firstline_per_day=per_day,
    )


def _months_back(today: dt.date, count: int) -> list[str]:
    year, month = today.year, today.month
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def finance_figures(session, today: dt.date) -> FinanceFigures:
    months = _months_back(today, MONTHS)
    first = _start_of_day(dt.date.fromisoformat(months[0] + "-01"))
    month_of = sa.func.substr(sa.cast(Redemption.redeemed_at, sa.String), 1, 7)
    costs = dict(session.execute(
        sa.select(month_of, sa.func.coalesce(sa.func.sum(Redemption.amount), 0))
        .where(Redemption.redeemed_at >= first, _kept).group_by(month_of)).all())
    month = _month_start(today)
    per_kind = dict(session.execute(
        sa.select(Invoice.kind, sa.func.count(Invoice.id)).where(Invoice.issued_at >= month)
        .group_by(Invoice.kind)).all())
    invoiced = session.execute(sa.select(sa.func.coalesce(sa.func.sum(Invoice.total_gross), 0))
                               .where(Invoice.issued_at >= month)).scalar_one()
    return FinanceFigures(
        voucher_cost_per_month=[(m, Decimal(costs.get(m, 0)).quantize(Decimal("0.01"))) for m in months],
        invoices_this_month=per_kind.get(InvoiceKind.invoice, 0),
        cancellations_this_month=per_kind.get(InvoiceKind.cancellation, 0),
        invoiced_this_month=Decimal(invoiced).quantize(Decimal("0.01")),
    )
