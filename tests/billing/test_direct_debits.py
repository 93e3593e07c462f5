"""Collecting partner invoices by SEPA direct debit: one file per collection, each invoice
in at most one pending debit, returns that reopen the invoice, transfers, open amounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from lxml import etree

from backoffice import transaction
from backoffice.errors import Conflict, InvalidInput
from backoffice.models import Invoice, Payment, SepaDebit, SepaFile
from backoffice.services.billing import Billable, Period, issue_partner_statement
from backoffice.services.direct_debits import (
    create_debit_file,
    open_amounts,
    record_return,
    record_transfer,
    unbilled_return_fees,
)
from tests.support.concurrency import run_together

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
MANDATE = dict(iban="DE02120300000000202051", mandate_date=date(2026, 1, 5))


def statement(ctx, partner, month: int, net: str, source_id: int) -> int:
    item = Billable("lead_charge", source_id, f"Anfrage {source_id}", D(net), D("19"), date(2026, month, 3))
    with transaction.unit_of_work(ctx):
        return issue_partner_statement(ctx, partner, Period.month(2026, month), [item],
                                       issued_on=date(2026, month + 1, 15), due_days=7)


def make_file(ctx, app, made_on: date):
    with transaction.unit_of_work(ctx):
        return create_debit_file(ctx, made_on, app.config)


@pytest.fixture
def partners(make):
    schulz = make.partner("schulz", mandate_reference="PD-0001", **MANDATE)
    meier = make.partner("meier", mandate_reference="PD-0002", **MANDATE)
    lapsed = make.partner("alt", mandate_reference="PD-0003", iban=MANDATE["iban"],
                          mandate_date=date(2022, 1, 5))
    transfer = make.partner("ueberweiser")
    return schulz, meier, lapsed, transfer


def test_a_file_collects_every_open_invoice_with_a_mandate(app, ctx, partners):
    schulz, meier, lapsed, transfer = partners
    ids = [statement(ctx, p, 11, net, n) for n, (p, net) in
           enumerate([(schulz, "100.00"), (meier, "10.00"), (lapsed, "5.00"), (transfer, "7.00")], 1)]
    result = make_file(ctx, app, date(2026, 12, 15))
    assert (result.debit_count, result.total) == (2, D("130.90"))
    assert result.skipped and result.skipped[0][0] == "PR-000003"  # unused since 2022: lapsed
    xml = etree.fromstring(ctx.get(SepaFile, result.file_id).xml)
    assert xml.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) == "130.90"
    assert xml.xpath("//p:ReqdColltnDt/text()", namespaces=NS) == ["2026-12-22"]  # the due date
    assert xml.xpath("//p:SeqTp/text()", namespaces=NS) == ["FRST"]
    opened = open_amounts(ctx, ids)
    assert opened == {ids[0]: D("0.00"), ids[1]: D("0.00"), ids[2]: D("5.95"), ids[3]: D("8.33")}
    with pytest.raises(InvalidInput) as nothing:  # the same invoices never go into a second file
        make_file(ctx, app, date(2026, 12, 16))
    assert nothing.value.code == "no_debits"
    assert ctx.execute(sa.select(sa.func.count(SepaFile.id))).scalar() == 1


def test_the_next_month_collects_as_recurring(app, ctx, partners):
    schulz = partners[0]
    statement(ctx, schulz, 10, "10.00", 1)
    make_file(ctx, app, date(2026, 11, 16))
    statement(ctx, schulz, 11, "20.00", 2)
    result = make_file(ctx, app, date(2026, 12, 15))
    xml = etree.fromstring(ctx.get(SepaFile, result.file_id).xml)
    assert xml.xpath("//p:SeqTp/text()", namespaces=NS) == ["RCUR"]


def test_a_returned_debit_reopens_the_invoice_once_and_its_fee_is_billed_later(app, ctx, partners):
    schulz = partners[0]
    invoice_id = statement(ctx, schulz, 11, "100.00", 1)
    make_file(ctx, app, date(2026, 12, 15))
    debit = ctx.execute(sa.select(SepaDebit)).scalar_one()
    with transaction.unit_of_work(ctx):
        record_return(ctx, debit.id, date(2026, 12, 28), "MD06 Rückgabe auf Verlangen", D("3.50"))
    assert open_amounts(ctx, [invoice_id]) == {invoice_id: D("119.00")}
    with pytest.raises(Conflict), transaction.unit_of_work(ctx):
        record_return(ctx, debit.id, date(2026, 12, 29), "again", D("3.50"))
    assert ctx.execute(sa.select(sa.func.count(Payment.id))).scalar() == 2  # debit and one return
    fees = unbilled_return_fees(ctx, schulz.id, D("19"))
    assert [(f.source, f.net) for f in fees] == [("return_fee", D("3.50"))]
    with transaction.unit_of_work(ctx):
        issue_partner_statement(ctx, schulz, Period.month(2026, 12), fees, date(2027, 1, 15), 7)
    assert unbilled_return_fees(ctx, schulz.id, D("19")) == []
    # The reopened invoice goes into the next file, again as a first debit (none succeeded).
    result = make_file(ctx, app, date(2027, 1, 18))
    assert result.debit_count == 2
    assert open_amounts(ctx, [invoice_id]) == {invoice_id: D("0.00")}


def test_transfers_reduce_the_open_amount_and_never_overpay(ctx, partners):
    invoice_id = statement(ctx, partners[3], 11, "100.00", 1)
    with transaction.unit_of_work(ctx):
        assert record_transfer(ctx, invoice_id, D("100.00"), date(2026, 12, 20), "Überweisung") == D("19.00")
    with pytest.raises(InvalidInput) as too_much, transaction.unit_of_work(ctx):
        record_transfer(ctx, invoice_id, D("19.01"), date(2026, 12, 21))
    assert too_much.value.code == "overpaid"
    with pytest.raises(InvalidInput), transaction.unit_of_work(ctx):
        record_transfer(ctx, invoice_id, D("0"), date(2026, 12, 21))
    assert open_amounts(ctx, [invoice_id]) == {invoice_id: D("19.00")}


def test_a_wrong_creditor_id_writes_no_file(app, ctx, partners):
    statement(ctx, partners[0], 11, "100.00", 1)
    config = dict(app.config, SEPA_CREDITOR_ID="DE98ZZZ09999999998")
    with pytest.raises(InvalidInput), transaction.unit_of_work(ctx):
        create_debit_file(ctx, date(2026, 12, 15), config)
    assert ctx.execute(sa.select(sa.func.count(SepaDebit.id))).scalar() == 0


def test_two_files_made_at_once_share_no_invoice(app, ctx, database_url, partners):
    if not database_url.startswith("postgresql"):
        pytest.skip("a race needs PostgreSQL (SQLite serialises writers)")
    for n, partner in enumerate(partners[:2], 1):
        statement(ctx, partner, 11, "50.00", n)
    config = dict(app.config)

    def make(session):
        return transaction.run(lambda s: create_debit_file(s, date(2026, 12, 15), config), session=session)

    outcomes = run_together(app, [make] * 4)
    files = [o for o in outcomes if not isinstance(o, Exception)]
    assert sum(f.debit_count for f in files) == 2, outcomes
    assert all(isinstance(o, InvalidInput | Conflict) for o in outcomes if isinstance(o, Exception)), outcomes
    pending = ctx.execute(sa.select(SepaDebit.invoice_id)).scalars().all()
    assert sorted(pending) == sorted(ctx.execute(sa.select(Invoice.id)).scalars().all())
