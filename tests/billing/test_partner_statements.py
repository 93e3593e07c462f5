"""Partners' monthly statements: exact sums per VAT rate, one statement per partner and
month, nothing billed twice, and the PDF whose e-invoice carries the stored figures."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from lxml import etree

from backoffice import transaction
from backoffice.models import Invoice, InvoiceKind, InvoiceLine
from backoffice.services.billing import (
    Billable,
    Period,
    issue_partner_statement,
    render_partner_invoice,
    sums_per_rate,
)
from reports.einvoice import broken_rules, xml_of
from tests.support.concurrency import run_together

NOVEMBER = Period.month(2026, 11)
NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"}


def charge(source_id: int, net: str, rate: str = "19", source: str = "lead_charge") -> Billable:
    return Billable(source, source_id, f"Anfrage {source_id} (Elektro)", D(net), D(rate), date(2026, 11, 3))


@pytest.fixture
def schulz(make):
    return make.partner("schulz", iban="DE02120300000000202051", mandate_reference="PD-0001",
                        mandate_date=date(2026, 1, 5))


def test_vat_is_rounded_once_per_rate_from_the_lines_net():
    rates = sums_per_rate([charge(1, "0.33"), charge(2, "0.33"), charge(3, "0.33"), charge(4, "10.00", "7"),
                           charge(5, "-0.33", source="dispute_credit")])
    assert [(r.rate, r.net, r.vat, r.gross) for r in rates] == [
        (D("19"), D("0.66"), D("0.13"), D("0.79")),   # 0.66 × 19 % = 0.1254
        (D("7"), D("10.00"), D("0.70"), D("10.70"))]


def test_the_month_in_the_company_zone():
    assert Period.before(date(2027, 1, 15)) == Period.month(2026, 12)
    assert Period.before(date(2026, 12, 15)) == NOVEMBER
    assert NOVEMBER.last_day == date(2026, 11, 30)
    start, end = NOVEMBER.bounds(ZoneInfo("Europe/Berlin"))
    assert start == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)   # CET
    assert end == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert Period.parse("2026-11") == NOVEMBER
    with pytest.raises(Exception, match="YYYY-MM"):
        Period.parse("November")


def test_a_statement_with_its_lines_and_mandate(ctx, schulz):
    with transaction.unit_of_work(ctx):
        invoice_id = issue_partner_statement(ctx, schulz, NOVEMBER, [charge(1, "12.00"), charge(2, "9.50")],
                                             issued_on=date(2026, 12, 15), due_days=7)
    invoice = ctx.get(Invoice, invoice_id)
    assert invoice.display_number == "PR-000001" and invoice.kind == InvoiceKind.invoice
    assert (invoice.total_net, invoice.total_vat, invoice.total_gross) == (D("21.50"), D("4.09"), D("25.59"))
    assert (invoice.period_start, invoice.period_end, invoice.due_date) == (
        date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 22))
    assert invoice.mandate_reference == "PD-0001" and invoice.order_id is None
    assert [(line.position, line.net, line.source_id) for line in invoice.lines] == [
        (1, D("12.00"), 1), (2, D("9.50"), 2)]


def test_nothing_to_bill_writes_nothing(ctx, schulz):
    assert issue_partner_statement(ctx, schulz, NOVEMBER, [], date(2026, 12, 15), 7) is None
    assert ctx.execute(sa.select(sa.func.count(Invoice.id))).scalar() == 0


def test_a_second_statement_for_the_month_or_a_second_bill_of_a_charge_is_refused(ctx, make, schulz):
    with transaction.unit_of_work(ctx):
        issue_partner_statement(ctx, schulz, NOVEMBER, [charge(1, "12.00")], date(2026, 12, 15), 7)
    with pytest.raises(sa.exc.IntegrityError), transaction.unit_of_work(ctx):
        issue_partner_statement(ctx, schulz, NOVEMBER, [charge(2, "9.00")], date(2026, 12, 15), 7)
    meier = make.partner("meier")
    with pytest.raises(sa.exc.IntegrityError), transaction.unit_of_work(ctx):
        issue_partner_statement(ctx, meier, NOVEMBER, [charge(1, "12.00")], date(2026, 12, 15), 7)
    assert ctx.execute(sa.select(sa.func.count(Invoice.id))).scalar() == 1
    assert ctx.execute(sa.select(sa.func.count(InvoiceLine.id))).scalar() == 1
    with transaction.unit_of_work(ctx):  # the refused attempts gave their numbers back
        later = issue_partner_statement(ctx, meier, NOVEMBER, [charge(3, "5.00")], date(2026, 12, 15), 7)
    assert ctx.get(Invoice, later).number == 2


def test_more_credits_than_charges_make_a_credit_note(ctx, schulz):
    with transaction.unit_of_work(ctx):
        credit = charge(1, "-12.00", source="dispute_credit")
        invoice_id = issue_partner_statement(ctx, schulz, NOVEMBER, [credit], date(2026, 12, 15), 7)
    invoice = ctx.get(Invoice, invoice_id)
    assert invoice.kind == InvoiceKind.credit_note and invoice.total_gross == D("-14.28")


def test_the_pdf_carries_the_stored_figures(app, ctx, schulz):
    with transaction.unit_of_work(ctx):
        invoice_id = issue_partner_statement(ctx, schulz, NOVEMBER, [charge(1, "12.00"), charge(2, "9.50"),
                                                                      charge(3, "3.00", "7")],
                                             date(2026, 12, 15), 7)
    invoice = ctx.get(Invoice, invoice_id)
    xml = xml_of(render_partner_invoice(invoice, app.config))
    assert broken_rules(xml) == []
    root = etree.fromstring(xml)
    summation = ("rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/"
                 "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    assert D(root.findtext(f"{summation}/ram:GrandTotalAmount", namespaces=NS)) == invoice.total_gross
    assert D(root.findtext(f"{summation}/ram:TaxTotalAmount", namespaces=NS)) == invoice.total_vat
    assert root.findtext("rsm:ExchangedDocument/ram:ID", namespaces=NS) == "PR-000001"


def test_two_runs_at_once_write_one_statement(app, ctx, database_url, schulz):
    if not database_url.startswith("postgresql"):
        pytest.skip("a race needs PostgreSQL (SQLite serialises writers)")
    partner_id = schulz.id

    def run(session):
        from backoffice.models import Partner

        return transaction.run(lambda s: issue_partner_statement(
            s, s.get(Partner, partner_id), NOVEMBER, [charge(1, "12.00"), charge(2, "9.50")],
            date(2026, 12, 15), 7), session=session)

    outcomes = run_together(app, [run] * 6)
    assert sum(isinstance(o, int) for o in outcomes) == 1, outcomes
    assert ctx.execute(sa.select(sa.func.count(Invoice.id))).scalar() == 1
    assert ctx.execute(sa.select(sa.func.max(Invoice.number))).scalar() == 1
