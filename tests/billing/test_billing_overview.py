"""Finance's and the partner's billing figures, called as services: what is open, what the
running month has charged so far, revenue per billed month, this month's invoices and credit
notes, the last files, returns and runs; a partner's figures hold nothing of another's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import sqlalchemy as sa

from backoffice.models import Category, InvoiceKind, LeadCharge, TaskStatus
from backoffice.services import billing_overview
from tests.billing.conftest import TODAY
from tests.support.billing import charge


def test_finance_sees_open_amounts_and_the_running_month_separately(ctx, month):
    f = billing_overview.figures(ctx, TODAY)
    # Schulz 119.00 (returned) + Meier 23.80 − 10.00; the credit note is owed the other way.
    assert (f.open_amount, f.open_invoices, f.owed_to_partners) == (D("132.80"), 2, D("11.90"))
    assert (f.uninvoiced_net, f.uninvoiced_charges) == (D("21.00"), 2)
    assert (f.invoices_this_month, f.credit_notes_this_month, f.invoiced_this_month) == (2, 1, D("130.90"))
    assert f.revenue_per_month[-3:] == [("2026-10", D("-10.00")), ("2026-11", D("120.00")),
                                        ("2026-12", D("0.00"))]
    assert len(f.revenue_per_month) == 12 and f.revenue_per_month[0] == ("2026-01", D("0.00"))
    assert [(file.debit_count, file.total) for file in f.files] == [(1, D("119.00"))]
    [returned] = f.returns
    assert (returned.invoice_number, returned.amount, returned.fee, returned.reason,
            returned.returned_on) == ("PR-000001", D("119.00"), D("3.50"), "MD06 Rückgabe auf Verlangen",
                                      date(2026, 12, 21))
    assert [(r.period, r.status, r.invoices) for r in f.runs] == [("2026-11", TaskStatus.done, 2)]


def test_a_partner_sees_its_own_figures_only(ctx, month):
    meier = billing_overview.figures(ctx, TODAY, month["meier"].id)
    assert (meier.open_amount, meier.open_invoices, meier.owed_to_partners) == (D("13.80"), 1, D("0.00"))
    assert (meier.uninvoiced_net, meier.uninvoiced_charges) == (D("9.00"), 1)
    assert [(i.number, i.gross, i.open) for i in meier.invoices] == [("PR-000002", D("23.80"), D("13.80"))]
    assert meier.returns == [] and meier.files == [] and meier.runs == []
    assert meier.revenue_per_month[-2:] == [("2026-11", D("20.00")), ("2026-12", D("0.00"))]
    schulz = billing_overview.figures(ctx, TODAY, month["schulz"].id)
    assert (schulz.open_amount, schulz.uninvoiced_net, schulz.uninvoiced_charges) == (
        D("119.00"), D("12.00"), 1)
    assert [r.invoice_number for r in schulz.returns] == ["PR-000001"]
    huber = billing_overview.figures(ctx, TODAY, month["huber"].id)
    assert [(i.kind, i.open) for i in huber.invoices] == [(InvoiceKind.credit_note, D("-11.90"))]
    assert (huber.open_amount, huber.owed_to_partners, huber.credit_notes_this_month) == (
        D("0.00"), D("11.90"), 1)
    # The partner's start page reads it through the one billing read of a partner's pages.
    assert [billing_overview.partner_billing(ctx, month[name].id, TODAY).figures.open_amount
            for name in ("meier", "schulz", "huber")] == [D("13.80"), D("119.00"), D("0.00")]


def test_nothing_billed_yet_gives_zeros(ctx, make):
    f = billing_overview.figures(ctx, TODAY)
    assert (f.open_amount, f.open_invoices, f.uninvoiced_net, f.uninvoiced_charges) == (
        D("0.00"), 0, D("0.00"), 0)
    assert {v for _m, v in f.revenue_per_month} == {D("0.00")} and f.files == [] and f.runs == []


def test_a_partners_pages_read_charges_and_invoices_from_one_call(ctx, month):
    elektro = ctx.get(Category, ctx.scalar(sa.select(LeadCharge.category_id).limit(1)))
    # Huber: an October charge no statement billed (October was never run) and one in December.
    october = charge(month["huber"], elektro, "5.00", datetime(2026, 10, 31, 22, 30, tzinfo=UTC))
    december = charge(month["huber"], elektro, "7.00", datetime(2026, 12, 9, 8, tzinfo=UTC))
    huber = billing_overview.partner_billing(ctx, month["huber"].id, TODAY)
    assert [c.id for c in huber.month_charges] == [december]
    assert (huber.month_net, huber.unbilled_net, huber.uninvoiced_net) == (D("7.00"), D("12.00"), D("7.00"))
    assert (huber.figures.uninvoiced_net, huber.figures.uninvoiced_charges) == (D("7.00"), 1)
    assert [(i.kind, i.open) for i in huber.figures.invoices] == [(InvoiceKind.credit_note, D("-11.90"))]
    assert october not in [c.id for c in huber.month_charges]
    meier = billing_overview.partner_billing(ctx, month["meier"].id, TODAY)
    assert [(c.partner_id, c.net) for c in meier.month_charges] == [(month["meier"].id, D("9.00"))]
    assert (meier.month_net, meier.unbilled_net) == (D("9.00"), D("9.00"))
    assert (meier.figures.open_amount, meier.figures.open_invoices) == (D("13.80"), 1)
    assert [i.number for i in meier.figures.invoices] == ["PR-000002"]
    # The same figures as finance's function gives for the partner.
    assert meier.figures == billing_overview.figures(ctx, TODAY, month["meier"].id)
    # A team member's pages ask for the charges only.
    charges_only = billing_overview.partner_billing(ctx, month["schulz"].id, TODAY, invoices=False)
    assert (charges_only.figures, charges_only.month_net, charges_only.unbilled_net) == (
        None, D("12.00"), D("12.00"))


def test_the_running_month_is_read_once_for_a_partners_page(ctx, month):
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        if "FROM lead_charge" in statement and "charged_at >=" in statement:
            statements.append(statement)

    engine = ctx.get_bind()
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        billing_overview.partner_billing(ctx, month["meier"].id, TODAY)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    month_reads = [s for s in statements if "charged_at <" in s and " OR " not in s]
    assert len(month_reads) == 1, statements
