"""After the monthly run commits, background tasks render each partner invoice once, store
its PDF (e-invoice inside) and mail it with the PDF attached to the partner's notification
address: once, with a Message-ID fixed per invoice, however often or concurrently the
rendering runs or crashes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa
from lxml import etree

from backoffice import transaction
from backoffice.models import InvoiceDocument, MailAttachment, OutboxMail, StoredFile, Task
from backoffice.models.types import utcnow
from backoffice.services import invoice_documents, monthly_invoice
from backoffice.services.billing import Period
from backoffice.tasks.billing import RENDER_KIND, monthly_run, render_invoices
from backoffice.tasks.mail import deliver
from reports.einvoice import xml_of
from tests.support.billing import charge
from tests.support.concurrency import run_together
from tests.support.directory import category
from tests.support.http import login
from tests.support.pdf import pdf_text, vat_table

NOVEMBER = Period.month(2026, 11)
NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"}


@pytest.fixture
def billed(app, ctx, make):
    """November billed for Schulz (mandate, 112 € net) and Meier (20 € net, own notification
    address); Huber was charged in December only. Nothing rendered yet."""
    elektro = category("Elektro", "Electrical")
    schulz = make.partner("schulz", iban="DE02120300000000202051", mandate_reference="PD-0001",
                          mandate_date=date(2026, 1, 5))
    meier = make.partner("meier", notification_email="rechnung@meier.example")
    huber = make.partner("huber")
    charge(schulz, elektro, "100.00", datetime(2026, 11, 3, 9, tzinfo=UTC))
    charge(schulz, elektro, "12.00", datetime(2026, 11, 30, 22, 30, tzinfo=UTC))
    charge(meier, elektro, "20.00", datetime(2026, 11, 20, 10, tzinfo=UTC))
    charge(huber, elektro, "9.00", datetime(2026, 12, 5, 10, tzinfo=UTC))
    run = monthly_invoice.run(ctx, NOVEMBER, date(2026, 12, 15), 7)
    schulz_invoice, meier_invoice = run.written
    return dict(schulz=schulz, meier=meier, huber=huber, schulz_invoice=schulz_invoice,
                meier_invoice=meier_invoice)


def _documents(ctx):
    ctx.expire_all()
    return {d.invoice_id: d for d in ctx.scalars(sa.select(InvoiceDocument))}


def _invoice_mails(ctx):
    return ctx.scalars(sa.select(OutboxMail).where(OutboxMail.kind == "partner_invoice")
                       .order_by(OutboxMail.id)).all()


def _text(message) -> str:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/plain" and not p.get_filename()]
    return part.get_payload(decode=True).decode(part.get_content_charset())


def _attachments(message):
    return [(part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
            for part in message.walk() if part.get_filename()]


def test_each_invoice_is_rendered_once_and_mailed_with_its_pdf(app, ctx, billed, smtp_server, client):
    assert _documents(ctx) == {}  # the run wrote invoices only
    assert render_invoices(ctx) == {"rendered": 2, "mailed": 2, "skipped": 0, "failed": 0}
    documents = _documents(ctx)
    assert sorted(documents) == sorted([billed["schulz_invoice"], billed["meier_invoice"]])
    assert all(d.rendered_at is not None and d.file_id and d.mail_id for d in documents.values())
    mails = _invoice_mails(ctx)
    assert [(m.recipient, m.subject, m.message_id) for m in mails] == [
        ("schulz@partnerdesk.test", "Rechnung PR-000001 für November 2026",
         f"<invoice-{billed['schulz_invoice']}.PR-000001@partnerdesk.local>"),
        ("rechnung@meier.example", "Rechnung PR-000002 für November 2026",
         f"<invoice-{billed['meier_invoice']}.PR-000002@partnerdesk.local>")]
    assert "SEPA-Lastschrift" in mails[0].body_text and "PD-0001" in mails[0].body_text
    assert "Bitte überweisen Sie den Betrag bis zum 22.12.2026" in mails[1].body_text

    assert deliver(ctx) == {"sent": 2, "failed": 0}
    received = {m["To"]: m for m in smtp_server.wait_for(2)}
    assert sorted(received) == ["rechnung@meier.example", "schulz@partnerdesk.test"]
    schulz_mail = received["schulz@partnerdesk.test"]
    assert schulz_mail["Message-ID"] == f"<invoice-{billed['schulz_invoice']}.PR-000001@partnerdesk.local>"
    assert str(make_header(decode_header(schulz_mail["Subject"]))) == "Rechnung PR-000001 für November 2026"
    assert "Ihre Rechnung PR-000001 für November 2026 über 133,28\xa0€" in _text(schulz_mail)
    [(name, content_type, pdf)] = _attachments(schulz_mail)
    assert (name, content_type) == ("PR-000001.pdf", "application/pdf")
    stored = ctx.scalar(sa.select(StoredFile.content).where(
        StoredFile.id == documents[billed["schulz_invoice"]].file_id))
    assert pdf == stored
    xml = etree.fromstring(xml_of(pdf))
    assert xml.findtext("rsm:ExchangedDocument/ram:ID", namespaces=NS) == "PR-000001"
    assert xml.findtext("rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "380"
    assert xml.findtext(".//ram:GrandTotalAmount", namespaces=NS) == "133.28"
    rows, totals, due = vat_table(pdf_text(pdf))
    assert (rows, totals, due) == ([("19 %", D("112.00"), D("21.28"), D("133.28"))],
                                   (D("112.00"), D("21.28"), D("133.28")), D("133.28"))
    # The partner downloads exactly the mailed bytes.
    login(client, "schulz")
    assert client.get(f"/my/billing/{billed['schulz_invoice']}.pdf").data == pdf


def test_rendering_again_renders_and_mails_nothing(ctx, billed):
    render_invoices(ctx)
    ids = [billed["schulz_invoice"], billed["meier_invoice"]]
    assert render_invoices(ctx, ids) == {"rendered": 0, "mailed": 0, "skipped": 2, "failed": 0}
    assert render_invoices(ctx) == {"rendered": 0, "mailed": 0, "skipped": 0, "failed": 0}
    assert len(_invoice_mails(ctx)) == 2
    assert ctx.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 2
    assert ctx.scalar(sa.select(sa.func.count()).select_from(MailAttachment)) == 2


def test_a_renderer_that_died_is_replaced_once_its_claim_runs_out(app, ctx, billed):
    invoice_id = billed["schulz_invoice"]
    with transaction.unit_of_work(ctx):
        assert invoice_documents.claim(ctx, invoice_id, "dead-worker", lease_seconds=300)
    # While the dead worker's claim holds, the sweep leaves the invoice alone.
    assert render_invoices(ctx) == {"rendered": 1, "mailed": 1, "skipped": 0, "failed": 0}
    assert _documents(ctx)[invoice_id].rendered_at is None
    with transaction.unit_of_work(ctx):
        ctx.execute(sa.update(InvoiceDocument).where(InvoiceDocument.invoice_id == invoice_id)
                    .values(claimed_until=utcnow() - timedelta(seconds=1)))
    assert render_invoices(ctx) == {"rendered": 1, "mailed": 1, "skipped": 0, "failed": 0}
    # The dead worker wakes up and stamps: its claim was taken over, nothing is written.
    with transaction.unit_of_work(ctx):
        assert invoice_documents.stamp(ctx, invoice_id, "dead-worker", b"%PDF-late") is None
    assert [m.recipient for m in _invoice_mails(ctx)] == ["rechnung@meier.example", "schulz@partnerdesk.test"]
    assert ctx.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 2


def test_a_failed_rendering_is_retried_by_a_later_sweep(app, ctx, billed, monkeypatch):
    def broken(_invoice, _config):
        raise RuntimeError("font missing")

    monkeypatch.setattr(invoice_documents, "render_partner_invoice", broken)
    assert render_invoices(ctx) == {"rendered": 0, "mailed": 0, "skipped": 0, "failed": 2}
    document = _documents(ctx)[billed["schulz_invoice"]]
    assert (document.rendered_at, document.attempts, document.last_error) == (
        None, 1, "RuntimeError: font missing")
    assert invoice_documents.pending(ctx) == []  # waits out its back-off
    monkeypatch.undo()
    later = utcnow() + timedelta(seconds=301)
    assert invoice_documents.pending(ctx, now=later) == [billed["schulz_invoice"], billed["meier_invoice"]]
    with transaction.unit_of_work(ctx):
        ctx.execute(sa.update(InvoiceDocument).values(claimed_until=utcnow() - timedelta(seconds=1)))
    assert render_invoices(ctx) == {"rendered": 2, "mailed": 2, "skipped": 0, "failed": 0}
    assert _documents(ctx)[billed["schulz_invoice"]].attempts == 2


class _Progress:
    def progress(self, *_args, **_kwargs):
        pass


def test_the_run_submits_rendering_and_does_not_wait_for_it(app, ctx, make, task_queue, monkeypatch):
    from backoffice.tasks import billing as billing_tasks

    monkeypatch.setattr(billing_tasks, "RENDER_CHUNK", 2)
    elektro = category("Elektro", "Electrical")
    for name in ("schulz", "meier", "huber"):
        charge(make.partner(name), elektro, "10.00", datetime(2026, 11, 3, 9, tzinfo=UTC))
    result = monthly_run(ctx, _Progress(), "2026-11")
    assert (result["invoices"], result["rendering_tasks"]) == (3, 2)
    assert _documents(ctx) == {}
    tasks = ctx.scalars(sa.select(Task).where(Task.kind == RENDER_KIND).order_by(Task.id)).all()
    chunks = [json.loads(t.params)["invoice_ids"] for t in tasks]
    assert [len(chunk) for chunk in chunks] == [2, 1]
    assert render_invoices(ctx, chunks[0] + chunks[1])["rendered"] == 3
    # One mail sender for the batch, not one per invoice.
    assert ctx.scalar(sa.select(sa.func.count()).select_from(Task).where(Task.kind == "mail.send")) == 1


def test_a_partner_without_any_address_gets_the_pdf_but_no_mail(ctx, billed):
    with transaction.unit_of_work(ctx):
        partner = ctx.get(type(billed["meier"]), billed["meier"].id)
        partner.notification_email = None
        partner.user.email = ""
        partner.address.email = None
    assert render_invoices(ctx) == {"rendered": 2, "mailed": 1, "skipped": 0, "failed": 0}
    document = _documents(ctx)[billed["meier_invoice"]]
    assert document.file_id is not None and document.mail_id is None
    assert [m.recipient for m in _invoice_mails(ctx)] == ["schulz@partnerdesk.test"]


def test_two_renderers_at_once_store_one_pdf_and_send_one_mail_each(app, ctx, billed, smtp_server,
                                                                     database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a race needs PostgreSQL (SQLite serialises writers)")
    ids = [billed["schulz_invoice"], billed["meier_invoice"]]
    outcomes = run_together(app, [lambda s: render_invoices(s, ids), lambda s: render_invoices(s)] * 2)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(o["rendered"] for o in outcomes) == 2
    assert sum(o["mailed"] for o in outcomes) == 2
    assert sum(o["failed"] for o in outcomes) == 0
    ctx.expire_all()
    assert ctx.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 2
    assert len(_invoice_mails(ctx)) == 2
    sent = run_together(app, [lambda s: deliver(s, limit=1)] * 2)
    assert sum(o["sent"] for o in sent) == 2
    received = smtp_server.wait_for(2)
    assert sorted(m["To"] for m in received) == ["rechnung@meier.example", "schulz@partnerdesk.test"]
    assert len({m["Message-ID"] for m in received}) == 2
    assert [len(_attachments(m)) for m in received] == [1, 1]
    assert D(etree.fromstring(xml_of(_attachments(received[0])[0][2])).findtext(
        ".//ram:GrandTotalAmount", namespaces=NS)) in {D("133.28"), D("23.80")}
