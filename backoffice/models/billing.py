"""Invoices and their gapless number series.

An invoice belongs to a shop order (the customer's invoice and its cancellation) or to a
partner (the monthly statement of charges): exactly one of `order_id` and `partner_id` is
set. Each series (`InvoiceSeries`) numbers its invoices without gaps: the number is taken
from the series' counter row in the invoice's own transaction, so a rolled-back invoice
gives its number back.
"""

from __future__ import annotations

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import relationship

from .addresses import LabelledEnum, _enum
from .types import MONEY, RATE, UTCDateTime, utcnow


class InvoiceKind(LabelledEnum):
    invoice = "invoice"
    cancellation = "cancellation"
    credit_note = "credit_note"


InvoiceKind.LABELS = {"invoice": _l("Invoice"), "cancellation": _l("Cancellation invoice"),
                      "credit_note": _l("Credit note")}


class InvoiceCounter(Model):
    """The last number issued per series; the row is locked by the UPDATE that takes a number."""

    __tablename__ = "invoice_counter"

    series = Column(String(32), primary_key=True)
    last_number = Column(Integer, nullable=False, default=0)


class InvoiceSeries(LabelledEnum):
    """A gapless number series with its own prefix: shop orders' invoices and their
    cancellations, and partners' monthly statements and their corrections."""

    order = "invoice"
    partner = "partner"


InvoiceSeries.LABELS = {"invoice": _l("Customer invoices"), "partner": _l("Partner invoices")}
InvoiceSeries.PREFIXES = {"invoice": "RE", "partner": "PR"}


class Invoice(Model):
    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("order_id", "kind", name="uq_invoice_order_kind"),
        UniqueConstraint("series", "number", name="uq_invoice_series_number"),
        CheckConstraint("(order_id IS NULL) <> (partner_id IS NULL)", name="ck_invoice_one_owner"),
        # One statement per partner and month, however often or concurrently the run starts.
        Index("uq_invoice_partner_period", "partner_id", "period_start", unique=True,
              postgresql_where=text("partner_id IS NOT NULL AND cancels_invoice_id IS NULL"),
              sqlite_where=text("partner_id IS NOT NULL AND cancels_invoice_id IS NULL")),
    )

    id = Column(Integer, primary_key=True)
    series = Column(_enum(InvoiceSeries, "invoice_series"), nullable=False, default=InvoiceSeries.order,
                    server_default=InvoiceSeries.order.value)
    number = Column(Integer, nullable=False)
    kind = Column(_enum(InvoiceKind, "invoice_kind"), nullable=False, default=InvoiceKind.invoice)
    order_id = Column(Integer, ForeignKey("shop_order.id", ondelete="RESTRICT"), nullable=True)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="RESTRICT"), nullable=True, index=True)
    cancels_invoice_id = Column(Integer, ForeignKey("invoice.id"), nullable=True)
    issued_at = Column(UTCDateTime, nullable=False, default=utcnow)
    delivery_date = Column(Date, nullable=False)
    # Buyer as invoiced (an address may change or be anonymised later; the invoice may not).
    buyer_name = Column(String(300), nullable=False)
    buyer_address = Column(Text, nullable=True)
    total_net = Column(MONEY, nullable=False)
    total_vat = Column(MONEY, nullable=False)
    total_gross = Column(MONEY, nullable=False)
    # A partner's statement: the service period (first and last day), when it is due, and
    # the buyer's VAT id and mandate as invoiced.
    period_start = Column(Date, nullable=True)
    period_end = Column(Date, nullable=True)
    due_date = Column(Date, nullable=True)
    buyer_vat_id = Column(String(20), nullable=True)
    mandate_reference = Column(String(35), nullable=True)

    order = relationship("Order", back_populates="invoices")
    partner = relationship("Partner")
    cancels = relationship("Invoice", remote_side=[id])
    lines = relationship("InvoiceLine", back_populates="invoice", order_by="InvoiceLine.position",
                         cascade="all, delete-orphan")

    @property
    def display_number(self) -> str:
        return self.format_number(self.number, self.series or InvoiceSeries.order)

    @staticmethod
    def format_number(number: int, series: InvoiceSeries = InvoiceSeries.order) -> str:
        return f"{InvoiceSeries.PREFIXES[InvoiceSeries(series).value]}-{number:06d}"

    def __str__(self) -> str:
        return self.display_number


class InvoiceLine(Model):
    """A line of a partner's statement: one billed item (a charge, a credit), net, with its
    VAT rate. `source`/`source_id` name what was billed; a unique index bills it once."""

    __tablename__ = "invoice_line"
    __table_args__ = (
        UniqueConstraint("invoice_id", "position", name="uq_invoice_line_position"),
        Index("uq_invoice_line_source", "source", "source_id", unique=True,
              postgresql_where=text("source IS NOT NULL"), sqlite_where=text("source IS NOT NULL")),
    )

    id = Column(Integer, primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoice.id", ondelete="CASCADE"), nullable=False)
    position = Column(Integer, nullable=False)
    description = Column(String(300), nullable=False)
    quantity = Column(Numeric(12, 3), nullable=False)
    unit_net = Column(MONEY, nullable=False)
    vat_rate = Column(RATE, nullable=False)
    net = Column(MONEY, nullable=False)
    occurred_on = Column(Date, nullable=True)
    source = Column(String(32), nullable=True)
    source_id = Column(Integer, nullable=True)

    invoice = relationship("Invoice", back_populates="lines")


class InvoiceDocument(Model):
    """A partner invoice's PDF (with its e-invoice inside) as rendered once, and the state of
    that rendering: a renderer claims the row (`claimed_by` until `claimed_until`), renders
    without holding a transaction, and stamps `rendered_at` with the stored file and the
    queued mail in one transaction, only while its claim holds. A stamped row is never
    rendered again, so the PDF a partner downloads is the one that was mailed. Invoices
    issued before documents were stored have a stamped row without a file (rendered on
    demand, never mailed)."""

    __tablename__ = "invoice_document"

    invoice_id = Column(Integer, ForeignKey("invoice.id", ondelete="CASCADE"), primary_key=True)
    file_id = Column(Integer, ForeignKey("stored_file.id", ondelete="RESTRICT"), nullable=True)
    mail_id = Column(Integer, ForeignKey("mail_outbox.id", ondelete="SET NULL"), nullable=True)
    claimed_by = Column(String(200), nullable=True)
    claimed_until = Column(UTCDateTime, nullable=True)
    attempts = Column(Integer, nullable=False, default=0)
    rendered_at = Column(UTCDateTime, nullable=True)
    last_error = Column(Text, nullable=True)

    invoice = relationship("Invoice")
    file = relationship("StoredFile")


class SepaFile(Model):
    """A pain.008 file as handed to the bank; kept so it can be downloaded again."""

    __tablename__ = "sepa_file"

    id = Column(Integer, primary_key=True)
    message_id = Column(String(35), nullable=False, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    created_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    debit_count = Column(Integer, nullable=False)
    total = Column(MONEY, nullable=False)
    xml = Column(LargeBinary, nullable=False)

    debits = relationship("SepaDebit", back_populates="file", order_by="SepaDebit.id")

    def __str__(self) -> str:
        return self.message_id


class DebitStatus(LabelledEnum):
    submitted = "submitted"
    returned = "returned"


DebitStatus.LABELS = {"submitted": _l("Submitted"), "returned": _l("Returned")}


class SepaDebit(Model):
    """One invoice collected in one file. While a debit is submitted the invoice is in no
    other file (partial unique index); a returned debit frees it for a later file."""

    __tablename__ = "sepa_debit"
    __table_args__ = (
        Index("uq_sepa_debit_pending", "invoice_id", unique=True,
              postgresql_where=text("status = 'submitted'"), sqlite_where=text("status = 'submitted'")),
        CheckConstraint("amount > 0", name="ck_sepa_debit_amount_positive"),
    )

    id = Column(Integer, primary_key=True)
    file_id = Column(Integer, ForeignKey("sepa_file.id", ondelete="RESTRICT"), nullable=False, index=True)
    invoice_id = Column(Integer, ForeignKey("invoice.id", ondelete="RESTRICT"), nullable=False, index=True)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False, index=True)
    amount = Column(MONEY, nullable=False)
    sequence = Column(String(4), nullable=False)
    mandate_reference = Column(String(35), nullable=False)
    collect_on = Column(Date, nullable=False)
    status = Column(_enum(DebitStatus, "debit_status"), nullable=False, default=DebitStatus.submitted)
    returned_on = Column(Date, nullable=True)
    return_reason = Column(String(200), nullable=True)
    return_fee = Column(MONEY, nullable=True)

    file = relationship("SepaFile", back_populates="debits")
    invoice = relationship("Invoice")
    partner = relationship("Partner")


class Payment(Model):
    """Money received for an invoice (a collected debit, a transfer) or taken back (a
    returned debit, negative). An invoice's open amount is its gross minus its payments.
    A transfer imported from a bank statement keeps the line's reference, unique, so a
    statement imported twice records it once."""

    __tablename__ = "invoice_payment"
    __table_args__ = (
        Index("uq_invoice_payment_bank_reference", "bank_reference", unique=True,
              postgresql_where=text("bank_reference IS NOT NULL"),
              sqlite_where=text("bank_reference IS NOT NULL")),
    )

    id = Column(Integer, primary_key=True)
    invoice_id = Column(Integer, ForeignKey("invoice.id", ondelete="RESTRICT"), nullable=False, index=True)
    amount = Column(MONEY, nullable=False)
    paid_on = Column(Date, nullable=False)
    method = Column(String(16), nullable=False)  # direct_debit, transfer, return
    reference = Column(String(140), nullable=True)
    debit_id = Column(Integer, ForeignKey("sepa_debit.id", ondelete="RESTRICT"), nullable=True)
    bank_reference = Column(String(80), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    created_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)

    invoice = relationship("Invoice")
