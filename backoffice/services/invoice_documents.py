"""Partner invoices rendered once, stored, and mailed with their PDF attached.

The monthly run (and a credit note) only writes invoices; their PDFs are made afterwards by
background tasks, so the run never waits for rendering. Rendering an invoice is three short
steps, each its own transaction, none open while the PDF is drawn:

1. claim: the invoice's `invoice_document` row is created or taken over for one renderer
   until `claimed_until` (an upsert whose update only happens while the row is neither
   stamped nor claimed by someone else), so two renderers never draw the same invoice;
2. render the PDF with its e-invoice (`services.billing.render_partner_invoice`);
3. stamp: only while the claim holds and the row is not stamped, store the PDF
   (`StoredFile`), queue the mail to the partner's notification address with the PDF
   attached and a Message-ID fixed per invoice, and set `rendered_at`, all in one
   transaction (the caller starts one mail sender for the whole batch, not one per stamp).
   A renderer that dies before the stamp leaves a claim that runs out: the
   next sweep renders again; one that dies after it has done everything.

huey delivers a task at most once, so `pending` re-derives the work from the tables: every
partner invoice without a stamped document, which the periodic sweep renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel.dates import format_date
from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import transaction
from ..models import Invoice, InvoiceDocument, InvoiceKind, InvoiceSeries, StoredFile
from ..models.types import utcnow
from . import mail, stored_files
from .billing import render_partner_invoice
from .profiles import notification_email

MAIL_KIND = "partner_invoice"
PDF = "application/pdf"
LEASE_SECONDS = 300
_DOCS = InvoiceDocument.__table__


@dataclass
class RenderResult:
    rendered: int = 0    # PDFs stored by this call
    mailed: int = 0      # of them, mails queued
    skipped: int = 0     # stamped already, or claimed by another renderer
    failed: int = 0


def message_id(invoice: Invoice) -> str:
    """The invoice mail's Message-ID: the same for every attempt, on every machine."""
    domain = current_app.config.get("MAIL_MESSAGE_ID_DOMAIN") or "partnerdesk.local"
    return f"<invoice-{invoice.id}.{invoice.display_number}@{domain}>"


def pending(session, *, limit: int = 500, now: datetime | None = None) -> list[int]:
    """Partner invoices whose document is not stamped and not claimed now, oldest first."""
    now = now or utcnow()
    query = (select(Invoice.id).outerjoin(InvoiceDocument, InvoiceDocument.invoice_id == Invoice.id)
             .where(Invoice.series == InvoiceSeries.partner, InvoiceDocument.rendered_at.is_(None),
                    or_(InvoiceDocument.claimed_until.is_(None), InvoiceDocument.claimed_until < now))
             .order_by(Invoice.id).limit(limit))
    return list(session.scalars(query))


def claim(session, invoice_id: int, worker: str, *, now: datetime | None = None,
          lease_seconds: int = LEASE_SECONDS) -> bool:
    """Take the invoice's rendering for `worker` until `lease_seconds` from now, unless it is
    stamped or another renderer's claim still holds. One statement: on PostgreSQL a second
    claimer of a new row waits for the first one's commit and then finds it claimed."""
    now = now or utcnow()
    conn = session.connection()
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    until = now + timedelta(seconds=lease_seconds)
    statement = dialect_insert(_DOCS).values(invoice_id=invoice_id, claimed_by=worker, claimed_until=until,
                                             attempts=0)
    statement = statement.on_conflict_do_update(
        index_elements=[_DOCS.c.invoice_id],
        set_={"claimed_by": worker, "claimed_until": until},
        where=and_(_DOCS.c.rendered_at.is_(None),
                   or_(_DOCS.c.claimed_until.is_(None), _DOCS.c.claimed_until < now)),
    ).returning(_DOCS.c.invoice_id)
    return conn.execute(statement).first() is not None


def _mail_context(invoice: Invoice, language: str) -> dict:
    partner = invoice.partner
    return {
        "name": invoice.buyer_name,
        "number": invoice.display_number,
        "month": (format_date(invoice.period_start, "MMMM yyyy", locale=language)
                  if invoice.period_start else ""),
        "gross": mail.money_text(abs(invoice.total_gross), language),
        "due": format_date(invoice.due_date, "medium", locale=language) if invoice.due_date else "",
        "mandate": invoice.mandate_reference if invoice.total_gross > 0 and partner.has_mandate else "",
        "credit_note": invoice.kind == InvoiceKind.credit_note,
        "corrects": invoice.cancels.display_number if invoice.cancels is not None else "",
    }


@dataclass(frozen=True)
class Letter:
    """The mail of an invoice, as read with the invoice before rendering (so the stamp's
    transaction reads nothing again)."""

    recipient: str | None
    language: str
    context: dict
    message_id: str
    filename: str


def letter_of(invoice: Invoice) -> Letter:
    address = invoice.partner.address
    language = mail.language_of(address.language if address is not None else None)
    return Letter(notification_email(invoice.partner), language, _mail_context(invoice, language),
                  message_id(invoice), f"{invoice.display_number}.pdf")


def stamp(session, invoice_id: int, worker: str, pdf: bytes, letter: Letter | None = None) -> str | None:
    """Store the rendered PDF and queue its mail, if `worker` still holds the claim and the
    document is not stamped: "mailed", "rendered" (the partner has no address), or None
    when the claim was lost. The caller commits."""
    stamped = session.execute(
        update(_DOCS).where(_DOCS.c.invoice_id == invoice_id, _DOCS.c.claimed_by == worker,
                            _DOCS.c.rendered_at.is_(None))
        .values(rendered_at=utcnow(), claimed_until=None, attempts=_DOCS.c.attempts + 1, last_error=None)
    ).rowcount
    if stamped != 1:
        return None
    letter = letter or letter_of(session.get(Invoice, invoice_id))
    stored = stored_files.store(session, pdf, PDF)
    values = {"file_id": stored.id}
    if letter.recipient:
        queued = mail.queue_mail(session, MAIL_KIND, letter.recipient, letter.language, letter.context,
                                 message_id=letter.message_id, attachments=[(letter.filename, stored)],
                                 send_after_commit=False)
        session.flush()
        values["mail_id"] = queued.id
    session.execute(update(_DOCS).where(_DOCS.c.invoice_id == invoice_id).values(**values))
    return "mailed" if letter.recipient else "rendered"


def release(session, invoice_id: int, worker: str, error: str, *, retry_after: int = LEASE_SECONDS) -> None:
    """A failed rendering: the claim is kept until `retry_after` seconds from now, then the
    sweep tries again."""
    session.execute(
        update(_DOCS).where(_DOCS.c.invoice_id == invoice_id, _DOCS.c.claimed_by == worker,
                            _DOCS.c.rendered_at.is_(None))
        .values(claimed_until=utcnow() + timedelta(seconds=retry_after), attempts=_DOCS.c.attempts + 1,
                last_error=error[:2000]))


def render_one(session, invoice_id: int, worker: str, config: Mapping) -> str:
    """Claim, render and stamp one invoice: "mailed", "rendered", "skipped" or "failed"."""
    claimed = transaction.run(lambda s: claim(s, invoice_id, worker), session=session, retries=3)
    if not claimed:
        return "skipped"
    try:
        invoice = session.get(Invoice, invoice_id, populate_existing=True)
        pdf, letter = render_partner_invoice(invoice, config), letter_of(invoice)
    except Exception as exc:  # a broken invoice must not stop the others; it is retried later
        error = f"{type(exc).__name__}: {exc}"
        transaction.discard(session)
        transaction.run(lambda s: release(s, invoice_id, worker, error), session=session)
        return "failed"
    transaction.discard(session)  # nothing held open between rendering and stamping
    done = transaction.run(lambda s: stamp(s, invoice_id, worker, pdf, letter), session=session, retries=3)
    return done or "skipped"


def render(session, invoice_ids: list[int], worker: str, config: Mapping) -> RenderResult:
    """Render and mail each invoice of `invoice_ids` that no one else renders or rendered."""
    result = RenderResult()
    for invoice_id in invoice_ids:
        outcome = render_one(session, invoice_id, worker, config)
        if outcome == "mailed":
            result.mailed += 1
        counted = "rendered" if outcome == "mailed" else outcome
        setattr(result, counted, getattr(result, counted) + 1)
    return result


def stored_pdf(session, invoice_id: int) -> bytes | None:
    """The PDF as rendered and mailed, or None (not rendered yet, or issued before PDFs were
    stored: then it is drawn on demand)."""
    return session.scalar(select(StoredFile.content)
                          .join(InvoiceDocument, InvoiceDocument.file_id == StoredFile.id)
                          .where(InvoiceDocument.invoice_id == invoice_id))
