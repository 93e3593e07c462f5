"""The monthly run: everything unbilled goes on one statement per partner and month, a
second run, a dry run, a run that died half-way and two runs at once bill nothing twice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import Invoice, InvoiceLine, SepaDebit
from backoffice.services import monthly_invoice
from backoffice.services.billing import Billable, Period, issue_partner_statement
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
