"""Collecting partners' invoices by SEPA direct debit, and money received against invoices (B3).

Finance makes one pain.008 file for every partner invoice that is open, carries a mandate
and is in no other pending debit. The invoices are locked while the file is made, and a
partial unique index allows one submitted debit per invoice, so two people pressing the
button at once cannot put an invoice into two files. A debit counts as paid on its
collection date; a returned debit takes the money back (the invoice is open again and can
go into a later file) and records the bank's fee, which the partner's next statement bills
(`unbilled_return_fees`; the statement's unique line source bills each fee once). An
invoice's open amount is its gross minus its payments.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from flask_babel import format_currency
from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update

from ..errors import Conflict, InvalidInput, NotFound
from ..models import (
    Address,
    DebitStatus,
    Invoice,
    InvoiceKind,
    InvoiceSeries,
    Partner,
    Payment,
    SepaDebit,
    SepaFile,
)
from ..models.types import utcnow
from . import mail, sepa
from .billing import Billable, billed_as
from .money import ZERO, cents
from .profiles import notification_email

DIRECT_DEBIT, TRANSFER, RETURN = "direct_debit", "transfer", "return"


@dataclass(frozen=True)
class DebitFile:
    file_id: int
    message_id: str
    debit_count: int
    total: Decimal
    # Invoices with a mandate that could not be collected, and why (e.g. a lapsed mandate).
    skipped: list[tuple[str, str]] = field(default_factory=list)


def open_amounts(session, invoice_ids: list[int]) -> dict[int, Decimal]:
    """Gross minus payments, per invoice."""
    if not invoice_ids:
        return {}
    paid = dict(session.execute(select(Payment.invoice_id, func.sum(Payment.amount))
                                .where(Payment.invoice_id.in_(invoice_ids))
                                .group_by(Payment.invoice_id)).all())
    gross = session.execute(select(Invoice.id, Invoice.total_gross).where(Invoice.id.in_(invoice_ids))).all()
    return {invoice_id: cents(total - Decimal(paid.get(invoice_id) or 0)) for invoice_id, total in gross}


def _creditor(config: Mapping) -> sepa.Creditor:
    return sepa.Creditor(config.get("COMPANY_NAME", ""), config.get("COMPANY_IBAN", ""),
                         config.get("COMPANY_BIC") or None, config.get("SEPA_CREDITOR_ID", ""))


def create_debit_file(session, made_on: date, config: Mapping, user_id: int | None = None) -> DebitFile:
    """One pain.008 file with every collectable partner invoice; the caller commits."""
    creditor = _creditor(config)
    sepa.creditor_id(creditor.creditor_id)  # a wrong creditor id refuses the file before anything is written
    pending = select(SepaDebit.id).where(SepaDebit.invoice_id == Invoice.id,
                                         SepaDebit.status == DebitStatus.submitted).exists()
    collectable = (Invoice.series == InvoiceSeries.partner, Invoice.kind == InvoiceKind.invoice,
                   Invoice.mandate_reference.is_not(None), Invoice.total_gross > 0, ~pending)
    locked = set(session.execute(select(Invoice.id).where(*collectable).order_by(Invoice.id)
                                 .with_for_update(of=Invoice)).scalars())
    # Read again after the locks (a statement of its own sees what was committed meanwhile): a
    # file made meanwhile by someone else has taken its invoices, a transfer lowered what is open.
    paid = select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.invoice_id == Invoice.id)
    invoices = [row for row in session.execute(
        select(Invoice.id, Invoice.number, Invoice.series, Invoice.due_date, Invoice.period_start,
               Invoice.buyer_name, Invoice.total_gross, paid.scalar_subquery().label("paid"),
               Partner.id.label("partner_id"), Partner.iban, Partner.bic, Partner.mandate_reference,
               Partner.mandate_date, Address.first_name, Address.last_name, Address.company)
        .join(Partner, Partner.id == Invoice.partner_id).join(Address, Address.id == Partner.address_id)
        .where(*collectable).order_by(Invoice.id)) if row.id in locked]
    # Each mandate's last collection: earlier files, then the debits of this one.
    last_use = dict(session.execute(
        select(SepaDebit.mandate_reference, func.max(SepaDebit.collect_on))
        .where(SepaDebit.status == DebitStatus.submitted, SepaDebit.mandate_reference.in_(
            select(Partner.mandate_reference).join(Invoice, Invoice.partner_id == Partner.id)
            .where(*collectable)))
        .group_by(SepaDebit.mandate_reference)).all())
    debits, rows, skipped = [], [], []
    for invoice in invoices:
        amount = cents(invoice.total_gross - Decimal(invoice.paid or 0))
        number = Invoice.format_number(invoice.number, invoice.series)
        if amount <= 0:
            continue
        if not Partner.has_mandate.fget(invoice):
            skipped.append((number, _("The partner has no mandate any more.")))
            continue
        collect_on = sepa.collection_date(invoice.due_date or made_on, made_on)
        try:
            last = last_use.get(invoice.mandate_reference)
            sequence = sepa.sequence_type(invoice.mandate_date, last, collect_on)
        except sepa.MandateLapsed as exc:
            skipped.append((number, exc.message))
            continue
        last_use[invoice.mandate_reference] = max(last or collect_on, collect_on)
        period = f"{invoice.period_start:%m/%Y}" if invoice.period_start else ""
        debits.append(sepa.Debit(
            end_to_end_id=number, name=Address.name.fget(invoice) or invoice.buyer_name,
            iban=invoice.iban, bic=invoice.bic or None, mandate_reference=invoice.mandate_reference,
            mandate_date=invoice.mandate_date, amount=amount, collect_on=collect_on, sequence=sequence,
            text=f"Rechnung {number} {period}".strip()))
        rows.append(dict(invoice_id=invoice.id, partner_id=invoice.partner_id, amount=amount,
                         sequence=sequence, mandate_reference=invoice.mandate_reference,
                         collect_on=collect_on))
    if not debits:
        raise InvalidInput("no_debits", _("There is nothing to collect."), skipped=skipped or None)
    message_id = f"PD{made_on:%Y%m%d}{secrets.token_hex(6).upper()}"
    xml = sepa.pain008(creditor, debits, message_id)
    total = sum((d.amount for d in debits), ZERO)
    file = SepaFile(message_id=message_id, created_by_id=user_id, debit_count=len(debits), total=total,
                    xml=xml)
    session.add(file)
    session.flush()
    # Debits and their payments as two multi-row INSERTs (one row each per invoice).
    debits_table, conn = SepaDebit.__table__, session.connection()
    # Without RETURNING (ids in order would make PostgreSQL insert row by row): read back by
    # invoice, which is in the file once.
    conn.execute(insert(debits_table),
                 [dict(file_id=file.id, status=DebitStatus.submitted, **row) for row in rows])
    debit_of = dict(conn.execute(select(debits_table.c.invoice_id, debits_table.c.id)
                                 .where(debits_table.c.file_id == file.id)).all())
    now = utcnow()
    conn.execute(insert(Payment.__table__), [
        dict(invoice_id=row["invoice_id"], amount=row["amount"], paid_on=row["collect_on"],
             method=DIRECT_DEBIT, reference=message_id, debit_id=debit_of[row["invoice_id"]],
             created_by_id=user_id,
             created_at=now)
        for row in rows])
    return DebitFile(file.id, message_id, len(debits), total, skipped)


def record_return(session, debit_id: int, returned_on: date, reason: str, fee: Decimal,
                  user_id: int | None = None) -> int:
    """The bank returned a debit: the money is taken back, the invoice is open again, the
    fee waits for the partner's next statement, and the partner is told by mail (through the
    outbox, with this transaction). Exactly once: a second report of the same return
    changes nothing and mails nothing. The invoice's id."""
    if fee < 0:
        raise InvalidInput("invalid_fee", _("The fee cannot be negative."))
    debit = session.get(SepaDebit, debit_id)
    if debit is None:
        raise NotFound("unknown_debit", _("There is no such direct debit."))
    changed = session.execute(
        update(SepaDebit).where(SepaDebit.id == debit_id, SepaDebit.status == DebitStatus.submitted)
        .values(status=DebitStatus.returned, returned_on=returned_on, return_reason=(reason or "")[:200],
                return_fee=cents(fee)).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict("already_returned", _("This direct debit was recorded as returned already."))
    session.add(Payment(invoice_id=debit.invoice_id, amount=-debit.amount, paid_on=returned_on, method=RETURN,
                        reference=(reason or "")[:140], debit_id=debit.id, created_by_id=user_id))
    _mail_return(session, debit, returned_on, (reason or "").strip()[:200], cents(fee))
    session.flush()
    return debit.invoice_id


def _mail_return(session, debit: SepaDebit, returned_on: date, reason: str, fee: Decimal) -> None:
    partner = debit.partner
    recipient = notification_email(partner)
    if not recipient:
        return
    language = mail.language_of(partner.address.language if partner.address is not None else None)
    mail.queue_mail(session, "debit_returned", recipient, language, {
        "name": partner.address.name if partner.address is not None else debit.invoice.buyer_name,
        "invoice_number": debit.invoice.display_number, "reason": reason,
        "amount": mail.money_text(debit.amount, language),
        "fee": mail.money_text(fee, language) if fee > 0 else "",
        "returned_on": format_date(returned_on, "medium", locale=language)})


def record_transfer(session, invoice_id: int, amount: Decimal, paid_on: date, reference: str = "",
                    user_id: int | None = None, bank_reference: str | None = None) -> Decimal:
    """A transfer received for an invoice; its open amount afterwards. More than is open is
    refused (a mistyped amount would hide an open invoice). `bank_reference`: the bank
    statement line it came from (unique: recorded once)."""
    invoice = session.execute(select(Invoice).where(Invoice.id == invoice_id).with_for_update()).scalar()
    if invoice is None:
        raise NotFound("unknown_invoice", _("There is no such invoice."))
    amount = cents(amount)
    open_now = open_amounts(session, [invoice_id])[invoice_id]
    if amount <= 0:
        raise InvalidInput("invalid_amount", _("The amount must be positive."))
    if amount > open_now:
        raise InvalidInput("overpaid", _("Only %(open)s are open on this invoice.",
                                         open=format_currency(open_now, "EUR")))
    session.add(Payment(invoice_id=invoice_id, amount=amount, paid_on=paid_on, method=TRANSFER,
                        reference=(reference or "")[:140], created_by_id=user_id,
                        bank_reference=bank_reference))
    session.flush()
    return open_now - amount


RETURN_FEE = "return_fee"


def unbilled_return_fees(session, partner_id: int, vat_rate: Decimal) -> list[Billable]:
    """The partner's return fees no statement has billed yet, as items for the next one."""
    billed = billed_as(RETURN_FEE, SepaDebit.id)
    debits = session.execute(select(SepaDebit).where(
        SepaDebit.partner_id == partner_id, SepaDebit.status == DebitStatus.returned,
        SepaDebit.return_fee > 0, ~billed).order_by(SepaDebit.id)).scalars()
    return [Billable(RETURN_FEE, debit.id, f"Gebühr Rücklastschrift {debit.invoice.display_number}",
                     debit.return_fee, vat_rate, debit.returned_on) for debit in debits]


@dataclass(frozen=True)
class StatementRow:
    id: int
    number: str
    kind: InvoiceKind
    partner: str
    period_start: date | None
    gross: Decimal
    open: Decimal
    due_date: date | None
    by_debit: bool


def statements(session, *, open_only: bool = False, limit: int = 200) -> list[StatementRow]:
    """Partners' statements, newest first, with what is still open on each."""
    invoices = session.execute(select(Invoice).where(Invoice.series == InvoiceSeries.partner)
                               .order_by(Invoice.id.desc()).limit(limit)).scalars().all()
    amounts = open_amounts(session, [i.id for i in invoices])
    rows = [StatementRow(i.id, i.display_number, i.kind, i.buyer_name, i.period_start, i.total_gross,
                         amounts[i.id], i.due_date, bool(i.mandate_reference)) for i in invoices]
    return [r for r in rows if r.open != 0] if open_only else rows


def debit_files(session, limit: int = 100) -> list[SepaFile]:
    return session.execute(select(SepaFile).order_by(SepaFile.id.desc()).limit(limit)).scalars().all()


@dataclass(frozen=True)
class StatementDetail:
    invoice: Invoice
    payments: list[Payment]
    debits: list[SepaDebit]
    open: Decimal


def statement_detail(session, invoice_id: int) -> StatementDetail:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.series != InvoiceSeries.partner:
        raise NotFound("unknown_invoice", _("There is no such invoice."))
    payments = session.execute(select(Payment).where(Payment.invoice_id == invoice_id)
                               .order_by(Payment.id)).scalars().all()
    debits = session.execute(select(SepaDebit).where(SepaDebit.invoice_id == invoice_id)
                             .order_by(SepaDebit.id)).scalars().all()
    return StatementDetail(invoice, payments, debits, open_amounts(session, [invoice_id])[invoice_id])
