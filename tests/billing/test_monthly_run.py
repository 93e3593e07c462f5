"""The monthly run: everything unbilled goes on one statement per partner and month, a
second run, a dry run, a run that died half-way and two runs at once bill nothing twice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import Invoice, InvoiceKind, InvoiceLine, LeadCharge, SepaDebit
from backoffice.services import monthly_invoice
from backoffice.services.billing import Billable, Period, buyer_of, issue_partner_statement, sums_per_rate
from backoffice.services.direct_debits import create_debit_file, record_return
from backoffice.tasks import registry
from tests.support.billing import charge
from tests.support.concurrency import run_together
from tests.support.directory import category

DECEMBER = Period.month(2026, 12)


@pytest.fixture
def returned(app, ctx, make):
    """Two partners whose November debits came back in December with a fee each."""
    partners = [make.partner(name, iban="DE02120300000000202051", mandate_reference=f"PD-{n}",
                             mandate_date=date(2026, 1, 5)) for n, name in enumerate(("schulz", "meier"), 1)]
    for n, partner in enumerate(partners, 1):
        item = Billable("lead_charge", n, f"Anfrage {n}", D("100.00"), D("19"), date(2026, 11, 3))
        with transaction.unit_of_work(ctx):
            issue_partner_statement(ctx, partner, Period.month(2026, 11), [item], date(2026, 12, 15), 7)
    with transaction.unit_of_work(ctx):
        create_debit_file(ctx, date(2026, 12, 15), app.config)
    for debit in ctx.execute(sa.select(SepaDebit)).scalars().all():
        with transaction.unit_of_work(ctx):
            record_return(ctx, debit.id, date(2026, 12, 28), "AC04", D("3.50"))
    return partners


def december_statements(ctx):
    return ctx.execute(sa.select(Invoice).where(Invoice.period_start == DECEMBER.start)
                       .order_by(Invoice.partner_id)).scalars().all()


def test_the_run_bills_each_partner_once(ctx, returned):
    first = monthly_invoice.run(ctx, DECEMBER, date(2027, 1, 15), 7)
    assert len(first.written) == 2
    statements = december_statements(ctx)
    assert [(s.total_net, s.total_vat, s.total_gross) for s in statements] == [
        (D("3.50"), D("0.67"), D("4.17"))] * 2
    assert statements[0].lines[0].description.startswith("Gebühr Rücklastschrift PR-00000")
    again = monthly_invoice.run(ctx, DECEMBER, date(2027, 1, 16), 7)
    assert again.written == [] and again.partners == 0
    assert ctx.execute(sa.select(sa.func.count(InvoiceLine.id)).where(InvoiceLine.source == "return_fee")
                       ).scalar() == 2


def test_a_dry_run_writes_nothing(ctx, returned):
    plan = monthly_invoice.run(ctx, DECEMBER, date(2027, 1, 15), 7, dry_run=True)
    assert sorted(plan.planned) == sorted((p.id, 1, D("3.50")) for p in returned)
    assert december_statements(ctx) == []


def test_a_run_that_died_half_way_finishes_on_the_second_start(ctx, returned):
    def die_after_first(done, total):
        if done == 1:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        monthly_invoice.run(ctx, DECEMBER, date(2027, 1, 15), 7, progress=die_after_first)
    assert len(december_statements(ctx)) == 1
    second = monthly_invoice.run(ctx, DECEMBER, date(2027, 1, 15), 7)
    assert len(second.written) == 1
    numbers = sorted(s.number for s in december_statements(ctx))
    assert numbers == [3, 4]  # November's two, then December's: no gap, no double


def test_the_cli_dry_run_and_the_scheduled_task(app, ctx, returned):
    out = app.test_cli_runner().invoke(args=["billing", "run", "--period", "2026-12", "--dry-run"])
    assert out.exit_code == 0 and "2 partners would be billed for 2026-12" in out.output
    assert december_statements(ctx) == []
    out = app.test_cli_runner().invoke(args=["billing", "run", "--period", "2026-12"])
    assert "2026-12: 2 invoices written" in out.output
    assert "billing.monthly_run" in {kind.name for kind in registry.scheduled()}


def test_two_runs_at_once_write_each_statement_once(app, ctx, database_url, returned):
    if not database_url.startswith("postgresql"):
        pytest.skip("a race needs PostgreSQL (SQLite serialises writers)")
    outcomes = run_together(app, [lambda s: monthly_invoice.run(s, DECEMBER, date(2027, 1, 15), 7)] * 4)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(len(o.written) for o in outcomes) == 2
    ctx.expire_all()
    assert len(december_statements(ctx)) == 2
    assert sorted(s.number for s in december_statements(ctx)) == [3, 4]


def test_runs_at_once_over_many_batches_bill_each_partner_once_without_gaps(app, ctx, make, database_url):
    """Forty partners are billed in batches of two: four runs at once meet in the batches,
    the losers bill what is left one partner at a time, and the numbers have no gap."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a race needs PostgreSQL (SQLite serialises writers)")
    elektro = category("Elektro", "Electrical")
    partners = [make.partner(f"partner{n}") for n in range(40)]
    for n, partner in enumerate(partners):
        charge(partner, elektro, f"{10 + n}.00", datetime(2026, 12, 3, 9, tzinfo=UTC))
    outcomes = run_together(app, [lambda s: monthly_invoice.run(s, DECEMBER, date(2027, 1, 15), 7)] * 4)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(len(o.written) for o in outcomes) == 40
    ctx.expire_all()
    statements = december_statements(ctx)
    assert sorted(s.number for s in statements) == list(range(1, 41))
    assert sorted(s.total_net for s in statements) == [D(f"{10 + n}.00") for n in range(40)]
    assert ctx.execute(sa.select(sa.func.count(InvoiceLine.id))).scalar() == 40


def test_a_run_billed_in_batches_is_the_same_as_one_by_one(ctx, make):
    elektro = category("Elektro", "Electrical")
    partners = [make.partner(f"partner{n}", iban="DE02120300000000202051", mandate_reference=f"PD-{n}",
                             mandate_date=date(2026, 1, 5)) for n in range(45)]
    for n, partner in enumerate(partners):
        for cents_ in (1999, 1):  # 19.99 € and 0.01 € a partner: VAT per rate on the sum
            charge(partner, elektro, f"{cents_ / 100:.2f}", datetime(2026, 12, 1 + n % 28, 9, tzinfo=UTC))
    seen = []
    result = monthly_invoice.run(ctx, DECEMBER, date(2027, 1, 15), 7,
                                 progress=lambda done, total: seen.append((done, total)))
    assert len(result.written) == 45 and seen[-1] == (45, 45) and len(seen) == 23  # batches of two
    statements = december_statements(ctx)
    assert {(s.total_net, s.total_vat, s.total_gross, s.mandate_reference is not None)
            for s in statements} == {(D("20.00"), D("3.80"), D("23.80"), True)}
    assert sorted(s.number for s in statements) == list(range(1, 46))
    assert [len(s.lines) for s in statements] == [2] * 45


OCTOBER = Period.month(2026, 10)  # summer time ends on the 25th in Berlin


def test_the_statements_figures_and_lines_are_exact(ctx, make, monkeypatch):
    """Charges at the month's edges and around the change from summer time, two VAT rates
    with half cents to round, and extra items (credits) between the charges: each line with
    its Berlin day, text and position, the sums per rate rounded once per rate."""
    handwerk = category("Handwerk", "Crafts")
    elektro = category("Elektro", "Electrical", parent=handwerk)
    maler = category("Maler", "Painters")
    schulz = make.partner("schulz", iban="DE02120300000000202051", mandate_reference="PD-1",
                          mandate_date=date(2026, 1, 5))
    meier, huber, other = make.partner("meier"), make.partner("huber"), make.partner("other")
    at = lambda *parts: datetime(*parts, tzinfo=UTC)  # noqa: E731
    made = {
        "first": charge(schulz, elektro, "19.99", at(2026, 9, 30, 22, 30)),      # 1 Oct 00:30 CEST
        "before": charge(schulz, elektro, "50.00", at(2026, 9, 30, 21, 30)),     # 30 Sep: not October
        "summer": charge(schulz, maler, "0.01", at(2026, 10, 24, 22, 30)),       # 25 Oct 00:30 CEST
        "winter": charge(schulz, maler, "10.05", at(2026, 10, 25, 22, 30)),      # 25 Oct 23:30 CET
        "last": charge(schulz, elektro, "0.05", at(2026, 10, 31, 22, 30)),       # 31 Oct 23:30 CET
        "after": charge(schulz, elektro, "70.00", at(2026, 10, 31, 23, 30)),     # 1 Nov: not October
        "meier1": charge(meier, maler, "12.50", at(2026, 10, 7, 8)),
        "meier2": charge(meier, maler, "0.07", at(2026, 10, 7, 8)),
        "other": charge(other, maler, "3.00", at(2026, 10, 7, 8)),
        "other2": charge(other, maler, "4.00", at(2026, 10, 8, 8)),
    }
    with transaction.unit_of_work(ctx):
        ctx.execute(sa.update(LeadCharge).where(LeadCharge.id.in_(
            [made[k] for k in ("winter", "last", "meier1", "meier2")])).values(vat_rate=D("7")))
    request = dict(ctx.execute(sa.select(LeadCharge.id, LeadCharge.request_id)).all())
    credits = {schulz.id: [Billable("dispute_credit", 7, "Gutschrift Anfrage 1", D("-5.00"), D("19"),
                                    date(2026, 10, 25))],
               huber.id: [Billable("dispute_credit", 8, "Gutschrift Anfrage 2", D("-8.40"), D("7"),
                                   date(2026, 10, 2))]}
    monkeypatch.setattr(monthly_invoice, "EXTRA_SOURCES", [lambda _s, _p: credits])
    billed_before = Billable("lead_charge", made["other"], "x", D("3.00"), D("19"), date(2026, 10, 7))
    with transaction.unit_of_work(ctx):  # the other partner has October's statement: left out
        issue_partner_statement(ctx, other, OCTOBER, [billed_before], date(2026, 11, 1), 7)

    result = monthly_invoice.run(ctx, OCTOBER, date(2026, 11, 15), 14)

    assert result.partners == 3 and result.skipped == [] and len(result.written) == 3
    rows = ctx.execute(sa.select(Invoice).where(Invoice.id.in_(result.written)).order_by(Invoice.number)
                       ).scalars().all()
    assert [(i.partner_id, i.number, i.kind, i.total_net, i.total_vat, i.total_gross, i.mandate_reference,
             i.due_date, i.period_start, i.period_end) for i in rows] == [
        (schulz.id, 2, InvoiceKind.invoice, D("25.10"), D("3.56"), D("28.66"), "PD-1", date(2026, 11, 29),
         OCTOBER.start, date(2026, 10, 31)),
        (meier.id, 3, InvoiceKind.invoice, D("12.57"), D("0.88"), D("13.45"), None, date(2026, 11, 29),
         OCTOBER.start, date(2026, 10, 31)),
        (huber.id, 4, InvoiceKind.credit_note, D("-8.40"), D("-0.59"), D("-8.99"), None, date(2026, 11, 29),
         OCTOBER.start, date(2026, 10, 31))]
    assert rows[0].issued_at == datetime(2026, 11, 15, 11, tzinfo=UTC)
    assert (rows[0].buyer_name, rows[0].buyer_address) == (schulz.address.name, buyer_of(schulz.address)[1])
    # Schulz: 19 % on 19.99 - 5.00 + 0.01 = 15.00 → 2.85; 7 % on 10.05 + 0.05 = 10.10 → 0.707 → 0.71.
    assert [(line.position, line.description, line.net, line.unit_net, line.quantity, line.vat_rate,
             line.occurred_on, line.source, line.source_id) for line in rows[0].lines] == [
        (1, f"Anfrage {request[made['first']]} (Handwerk › Elektro), 01.10.2026", D("19.99"), D("19.99"),
         D("1.000"), D("19.00"), date(2026, 10, 1), "lead_charge", made["first"]),
        (2, "Gutschrift Anfrage 1", D("-5.00"), D("-5.00"), D("1.000"), D("19.00"), date(2026, 10, 25),
         "dispute_credit", 7),
        (3, f"Anfrage {request[made['summer']]} (Maler), 25.10.2026", D("0.01"), D("0.01"), D("1.000"),
         D("19.00"), date(2026, 10, 25), "lead_charge", made["summer"]),
        (4, f"Anfrage {request[made['winter']]} (Maler), 25.10.2026", D("10.05"), D("10.05"), D("1.000"),
         D("7.00"), date(2026, 10, 25), "lead_charge", made["winter"]),
        (5, f"Anfrage {request[made['last']]} (Handwerk › Elektro), 31.10.2026", D("0.05"), D("0.05"),
         D("1.000"), D("7.00"), date(2026, 10, 31), "lead_charge", made["last"])]
    assert [(r.rate, r.net, r.vat) for r in sums_per_rate(
        [Billable("", 0, "", line.net, line.vat_rate, line.occurred_on) for line in rows[0].lines])] == [
        (D("19.00"), D("15.00"), D("2.85")), (D("7.00"), D("10.10"), D("0.71"))]
    # Meier: 7 % on 12.57 = 0.8799 → 0.88 (per line it would be 0.88 + 0.00).
    assert [(line.position, line.net, line.source_id) for line in rows[1].lines] == [
        (1, D("12.50"), made["meier1"]), (2, D("0.07"), made["meier2"])]
    assert [(line.position, line.description, line.net) for line in rows[2].lines] == [
        (1, "Gutschrift Anfrage 2", D("-8.40"))]
    # Outside October: not billed; the other partner's: billed before, or left for a correction.
    billed = set(ctx.execute(sa.select(InvoiceLine.source_id).where(InvoiceLine.source == "lead_charge"))
                 .scalars())
    assert made["before"] not in billed and made["after"] not in billed and made["other"] in billed
    assert made["other2"] not in billed
    assert monthly_invoice.run(ctx, OCTOBER, date(2026, 11, 15), 14).written == []
