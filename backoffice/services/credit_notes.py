"""Correcting a partner invoice: finance issues a credit note that refers to it; the invoice
itself is never edited.

A credit note is a document of the partners' gapless series (`PR-`, the same counter as the
monthly statements: one series, one sequence of numbers, as §14 UStG asks of corrections
too), kind `credit_note`, with `cancels_invoice_id` naming the invoice it corrects; the
one-statement-per-month index leaves such documents out. Finance chooses the invoice's
lines to credit (each in full; its net and VAT rate negated) and gives a reason. A line is
credited at most once: each credit line names the line it credits (`source` "credited_line")
under the unique index of line sources, so two credit notes at once cannot credit the same
line. The invoice row is locked while the credit note is written.

While the invoice is open and in no pending direct debit, the credit is set off against it
at once (a payment of the credit's amount, at most what is open, on the invoice and the same
amount taken from the credit note), so the partner is asked to pay only what is left; the
rest of a credit is owed to the partner. Every credit note is audited with its reason, and
its PDF (e-invoice type code 381) is rendered and mailed like an invoice's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.orm import aliased

from ..audit import current_actor
from ..errors import InvalidInput, NotFound
from ..models import (
    AuditEntry,
    DebitStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSeries,
    Partner,
    Payment,
    SepaDebit,
)
from .billing import Billable, issue, sums_per_rate
from .direct_debits import open_amounts
from .money import ZERO, cents
from .vouchers import company_zone

CREDITED_LINE = "credited_line"
SET_OFF = "credit_note"  # payment method of a set-off between a credit note and its invoice


@dataclass(frozen=True)
class CreditNote:
    id: int
    number: str
    gross: Decimal      # negative
    set_off: Decimal    # taken off the invoice's open amount at once


@dataclass(frozen=True)
class CreditableLine:
    id: int
    position: int
    description: str
    net: Decimal
    vat_rate: Decimal
    credited: bool


def creditable_lines(session, invoice_id: int) -> list[CreditableLine]:
    """The invoice's lines finance may credit (positive amounts), and whether each is credited."""
    credit = aliased(InvoiceLine)
    credited = (select(credit.id).where(credit.source == CREDITED_LINE, credit.source_id == InvoiceLine.id)
                .exists())
    rows = session.execute(
        select(InvoiceLine, credited)
        .where(InvoiceLine.invoice_id == invoice_id, InvoiceLine.net > 0)
        .order_by(InvoiceLine.position)).all()
    return [CreditableLine(line.id, line.position, line.description, line.net, line.vat_rate, bool(credited))
            for line, credited in rows]


def credit_notes_of(session, invoice_id: int) -> list[Invoice]:
    return list(session.scalars(select(Invoice).where(Invoice.cancels_invoice_id == invoice_id)
                                .order_by(Invoice.id)))


def _locked_invoice(session, invoice_id: int) -> Invoice:
    invoice = session.execute(select(Invoice).where(Invoice.id == invoice_id)
                              .with_for_update()).scalar_one_or_none()
    if invoice is None or invoice.series != InvoiceSeries.partner:
        raise NotFound("invoice", _("No such partner invoice."))
    if invoice.kind != InvoiceKind.invoice or invoice.cancels_invoice_id is not None:
        raise InvalidInput("not_an_invoice", _("Only an invoice can be corrected by a credit note."))
    return invoice


def issue_credit_note(session, invoice_id: int, line_ids: list[int], reason: str,
                      issued_on: date) -> CreditNote:
    """A credit note crediting the invoice's lines `line_ids` in full, for `reason`. The
    caller commits; a line credited meanwhile by someone else meets the unique index."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("reason", _("Give the reason for the credit note."))
    if not line_ids:
        raise InvalidInput("lines", _("Choose at least one line to credit."))
    invoice = _locked_invoice(session, invoice_id)
    lines = {line.id: line for line in creditable_lines(session, invoice_id)}
    chosen = [lines.get(line_id) for line_id in sorted(set(line_ids))]
    if any(line is None for line in chosen):
        raise InvalidInput("lines", _("Only lines of this invoice with an amount can be credited."))
    if any(line.credited for line in chosen):
        raise InvalidInput("lines", _("A chosen line has been credited already."))
    rates = sums_per_rate([_negated(line, issued_on) for line in chosen])
    net, vat = sum((r.net for r in rates), ZERO), sum((r.vat for r in rates), ZERO)
    credit_id, number = issue(session, dict(
        series=InvoiceSeries.partner, kind=InvoiceKind.credit_note, order_id=None,
        partner_id=invoice.partner_id, cancels_invoice_id=invoice.id,
        issued_at=datetime.combine(issued_on, time(12), company_zone()).astimezone(UTC),
        delivery_date=invoice.delivery_date, buyer_name=invoice.buyer_name,
        buyer_address=invoice.buyer_address,
        total_net=net, total_vat=vat, total_gross=net + vat, period_start=invoice.period_start,
        period_end=invoice.period_end, due_date=issued_on, buyer_vat_id=invoice.buyer_vat_id,
        mandate_reference=None))
    session.execute(insert(InvoiceLine.__table__), [
        dict(invoice_id=credit_id, position=position, description=f"Gutschrift: {line.description}"[:300],
             quantity=Decimal("1"), unit_net=-line.net, vat_rate=line.vat_rate, net=-line.net,
             occurred_on=issued_on, source=CREDITED_LINE, source_id=line.id)
        for position, line in enumerate(chosen, 1)])
    display = Invoice.format_number(number, InvoiceSeries.partner)
    set_off = _set_off(session, invoice, credit_id, display, -(net + vat), issued_on)
    partner = session.get(Partner, invoice.partner_id)
    actor = current_actor()
    session.add(AuditEntry(actor_user_id=actor.user_id, actor_label=actor.label[:100], entity="invoice",
                           entity_id=credit_id, address_id=partner.address_id, field="credit_note",
                           old_value=invoice.display_number, new_value=f"{display} {cents(net + vat)}",
                           reason=reason))
    return CreditNote(credit_id, display, cents(net + vat), set_off)


def _negated(line: CreditableLine, day: date) -> Billable:
    return Billable(CREDITED_LINE, line.id, line.description, -line.net, line.vat_rate, day)


def _set_off(session, invoice: Invoice, credit_id: int, credit_number: str, credit: Decimal,
             day: date) -> Decimal:
    """Take the credit off the invoice's open amount while nothing else collects it."""
    pending_debit = session.scalar(select(SepaDebit.id).where(SepaDebit.invoice_id == invoice.id,
                                                              SepaDebit.status == DebitStatus.submitted))
    open_now = open_amounts(session, [invoice.id])[invoice.id]
    amount = min(open_now, credit) if pending_debit is None else ZERO
    if amount <= 0:
        return ZERO
    session.add_all([
        Payment(invoice_id=invoice.id, amount=amount, paid_on=day, method=SET_OFF, reference=credit_number),
        Payment(invoice_id=credit_id, amount=-amount, paid_on=day, method=SET_OFF,
                reference=invoice.display_number)])
    return amount

