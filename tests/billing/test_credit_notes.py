"""Finance corrects a partner invoice by a credit note that refers to it: the next number of
the partner series, the chosen lines negated, set off against what is open, audited, with
its own PDF (e-invoice type 381) mailed to the partner and shown on its billing page; the
invoice itself never changes and a line is never credited twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from lxml import etree

from backoffice import transaction
from backoffice.errors import InvalidInput
from backoffice.models import AuditEntry, Invoice, InvoiceKind, InvoiceLine, OutboxMail, Payment, Task
from backoffice.services import billing_overview, credit_notes, invoice_documents
from backoffice.tasks.billing import RENDER_KIND, render_invoices
from reports.einvoice import xml_of
from tests.billing.conftest import TODAY
from tests.support.concurrency import run_together
from tests.support.http import csrf_token, login

NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"}


@pytest.fixture(autouse=True)
def december(monkeypatch):
    for module in ("backoffice.views.billing", "backoffice.views.start"):
        monkeypatch.setattr(f"{module}.company_today", lambda: TODAY)


def _line_ids(ctx, invoice_id):
    return list(ctx.scalars(sa.select(InvoiceLine.id).where(InvoiceLine.invoice_id == invoice_id)
                            .order_by(InvoiceLine.position)))


def _snapshot(ctx, invoice_id):
    ctx.expire_all()
    invoice = ctx.get(Invoice, invoice_id)
    return (invoice.number, invoice.kind, invoice.total_net, invoice.total_vat, invoice.total_gross,
            [(line.description, line.net) for line in invoice.lines])


def test_a_credit_note_corrects_an_invoice_without_changing_it(ctx, month):
    meier_invoice = month["meier_invoice"]
    before = _snapshot(ctx, meier_invoice)
    [line_id] = _line_ids(ctx, meier_invoice)
    with transaction.unit_of_work(ctx):
        note = credit_notes.issue_credit_note(ctx, meier_invoice, [line_id], "Anfrage doppelt berechnet",
                                              TODAY)
    # Meier had paid 10.00 of 23.80: 13.80 of the credit are set off, 10.00 are owed to Meier.
    assert (note.number, note.gross, note.set_off) == ("PR-000004", D("-23.80"), D("13.80"))
    assert _snapshot(ctx, meier_invoice) == before
    credit = ctx.get(Invoice, note.id)
    assert (credit.kind, credit.cancels_invoice_id, credit.partner_id, credit.period_start, credit.total_net,
            credit.total_vat) == (InvoiceKind.credit_note, meier_invoice, month["meier"].id,
                                  date(2026, 11, 1), D("-20.00"), D("-3.80"))
    assert [(line.source, line.source_id, line.net, line.vat_rate) for line in credit.lines] == [
        ("credited_line", line_id, D("-20.00"), D("19.00"))]
    assert sorted((p.invoice_id, p.amount, p.method) for p in ctx.scalars(
        sa.select(Payment).where(Payment.method == "credit_note"))) == sorted(
        [(meier_invoice, D("13.80"), "credit_note"), (note.id, D("-13.80"), "credit_note")])
    meier = billing_overview.figures(ctx, TODAY, month["meier"].id)
    assert (meier.open_amount, meier.open_invoices, meier.owed_to_partners) == (D("0.00"), 0, D("10.00"))
    assert [(i.number, i.kind, i.open, i.corrects) for i in meier.invoices] == [
        ("PR-000004", InvoiceKind.credit_note, D("-10.00"), "PR-000002"),
        ("PR-000002", InvoiceKind.invoice, D("0.00"), None)]
    [entry] = ctx.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "invoice")).all()
    assert (entry.entity_id, entry.field, entry.old_value, entry.new_value, entry.reason,
            entry.address_id) == (
        note.id, "credit_note", "PR-000002", "PR-000004 -23.80", "Anfrage doppelt berechnet",
        month["meier"].address_id)
    # Its PDF is an EN 16931 credit note (381) referring to the invoice, mailed like an invoice.
    assert render_invoices(ctx, [note.id]) == {"rendered": 1, "mailed": 1, "skipped": 0, "failed": 0}
    xml = etree.fromstring(xml_of(invoice_documents.stored_pdf(ctx, note.id)))
    assert xml.findtext("rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "381"
    assert xml.findtext(".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", namespaces=NS) == "PR-000002"
    mail = ctx.scalars(sa.select(OutboxMail).where(OutboxMail.kind == "partner_invoice")).one()
    assert (mail.recipient, mail.subject) == ("meier@partnerdesk.test",
                                              "Gutschrift PR-000004 für November 2026")
    assert "Die Gutschrift korrigiert die Rechnung PR-000002." in mail.body_text


def test_a_line_is_credited_once_and_only_an_invoices_own_lines(ctx, month):
    [line_id] = _line_ids(ctx, month["meier_invoice"])
    [schulz_line] = _line_ids(ctx, month["schulz_invoice"])
    with transaction.unit_of_work(ctx):
        credit_notes.issue_credit_note(ctx, month["meier_invoice"], [line_id], "Fehler", TODAY)
    cases = [(month["meier_invoice"], [line_id], "Noch einmal", "lines"),
             (month["meier_invoice"], [schulz_line], "Fremde Zeile", "lines"),
             (month["meier_invoice"], [], "Keine Zeile", "lines"),
             (month["schulz_invoice"], [schulz_line], "  ", "reason"),
             (month["credit_note"], _line_ids(ctx, month["credit_note"]), "Gutschrift", "not_an_invoice")]
    for invoice_id, lines, reason, code in cases:
        with pytest.raises(InvalidInput) as refused, transaction.unit_of_work(ctx):
            credit_notes.issue_credit_note(ctx, invoice_id, lines, reason, TODAY)
        assert refused.value.code == code, reason
    assert ctx.scalar(sa.select(sa.func.count()).select_from(Invoice)
                      .where(Invoice.kind == InvoiceKind.credit_note)) == 2  # Huber's and the one above
    # No set-off while the invoice is in a pending debit: here Schulz's debit came back, so
    # its invoice is open and the credit is set off.
    with transaction.unit_of_work(ctx):
        note = credit_notes.issue_credit_note(ctx, month["schulz_invoice"], [schulz_line], "Kulanz", TODAY)
    assert (note.number, note.gross, note.set_off) == ("PR-000005", D("-119.00"), D("119.00"))


def test_finance_issues_a_credit_note_from_the_statement_page(app, ctx, make, month, task_queue):
    make.user("fiona", "Finance")
    client = login(app.test_client(), "fiona")
    url = f"/billing/statement/{month['meier_invoice']}"
    page = client.get(url).get_data(as_text=True)
    assert 'data-test="credit-note-form"' in page
    [line_id] = _line_ids(ctx, month["meier_invoice"])
    answer = client.post(f"{url}/credit-note", data={"csrf_token": csrf_token(client, url), "line": [line_id],
                                                     "reason": "Anfrage doppelt"}, follow_redirects=True)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Gutschrift PR-000004" in body
    assert 'data-test="corrects"><a href="/billing/statement/' in body
    note_id = ctx.scalar(sa.select(Invoice.id).where(Invoice.cancels_invoice_id == month["meier_invoice"]))
    assert answer.request.path == f"/billing/statement/{note_id}"
    # Rendering and mailing are queued as a task, not done in the request.
    params = [t.params for t in ctx.scalars(sa.select(Task).where(Task.kind == RENDER_KIND))]
    assert params == [f'{{"invoice_ids": [{note_id}]}}']
    assert invoice_documents.stored_pdf(ctx, note_id) is None
    page = client.get(url).get_data(as_text=True)
    assert 'data-test="credit-notes"' in page and "PR-000004" in page
    # The partner sees it on its billing page with the invoice it corrects.
    partner = login(app.test_client(), "meier")
    mine = partner.get("/my/billing/").get_data(as_text=True)
    assert "PR-000004" in mine and "(korrigiert PR-000002)" in mine
    assert partner.get(f"/my/billing/{note_id}.pdf").status_code == 200


def test_staff_cannot_issue_credit_notes(app, ctx, make, month):
    make.user("stefan", "Staff")
    client = login(app.test_client(), "stefan")
    url = f"/billing/statement/{month['meier_invoice']}"
    page = client.get(url).get_data(as_text=True)
    assert 'data-test="credit-note-form"' not in page
    assert 'data-test="transfer-form"' not in page  # Staff has no form on a statement at all
    [line_id] = _line_ids(ctx, month["meier_invoice"])
    token = csrf_token(client, "/addressview/add")  # the session's token, from a form Staff may use
    answer = client.post(f"{url}/credit-note", data={"csrf_token": token, "line": [line_id], "reason": "x"})
    assert answer.status_code == 403
    assert ctx.scalar(sa.select(sa.func.count()).select_from(Invoice)
                      .where(Invoice.cancels_invoice_id.is_not(None))) == 0


def test_two_credit_notes_of_the_same_line_at_once_issue_one(app, ctx, month, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a race needs PostgreSQL (SQLite serialises writers)")
    [line_id] = _line_ids(ctx, month["meier_invoice"])

    def credit(session):
        with transaction.unit_of_work(session):
            return credit_notes.issue_credit_note(session, month["meier_invoice"], [line_id], "Doppelt",
                                                  TODAY)

    outcomes = run_together(app, [credit] * 3)
    notes = [o for o in outcomes if isinstance(o, credit_notes.CreditNote)]
    assert [n.number for n in notes] == ["PR-000004"]
    assert all(isinstance(o, InvalidInput) for o in outcomes if o not in notes), outcomes
    ctx.expire_all()
    assert sorted(ctx.scalars(sa.select(Invoice.number).where(Invoice.series == "partner"))) == [1, 2, 3, 4]
