"""Vouchers, their codes, orders with their lines, redemptions and invoices.

Counters that must never be exceeded under concurrency live on the rows that are
updated conditionally (`voucher.redeemed_count`, `voucher_code.redeemed_count`); unique
indexes back up the rules that hold per order and per new customer.
"""

from __future__ import annotations

from decimal import Decimal

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from .addresses import LabelledEnum, _enum
from .types import UTCDateTime, utcnow

MONEY = Numeric(12, 2)
RATE = Numeric(4, 2)


class VoucherKind(LabelledEnum):
    single = "single"
    permanent = "permanent"


VoucherKind.LABELS = {"single": _l("Single voucher"), "permanent": _l("Permanent voucher")}


class VatMode(LabelledEnum):
    proportional = "proportional"
    fixed = "fixed"


VatMode.LABELS = {"proportional": _l("Proportional to the basket's VAT rates"),
                  "fixed": _l("Fixed VAT rate")}


class OrderStatus(LabelledEnum):
    completed = "completed"
    cancelled = "cancelled"


OrderStatus.LABELS = {"completed": _l("Completed"), "cancelled": _l("Cancelled")}


class LineKind(LabelledEnum):
    article = "article"
    voucher = "voucher"


LineKind.LABELS = {"article": _l("Article"), "voucher": _l("Voucher")}


class InvoiceKind(LabelledEnum):
    invoice = "invoice"
    cancellation = "cancellation"


InvoiceKind.LABELS = {"invoice": _l("Invoice"), "cancellation": _l("Cancellation invoice")}


class Voucher(Model):
    """What a voucher is worth and when it may be redeemed; its codes are what people type."""

    __tablename__ = "voucher"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_voucher_amount_positive"),
        CheckConstraint("redeemed_count >= 0", name="ck_voucher_redeemed_not_negative"),
        CheckConstraint("max_total IS NULL OR redeemed_count <= max_total",
                        name="ck_voucher_not_over_max_total"),
        CheckConstraint("fixed_vat_rate IS NULL OR fixed_vat_rate IN (19, 7, 0)",
                        name="ck_voucher_fixed_vat_rate"),
    )

    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    kind = Column(_enum(VoucherKind, "voucher_kind"), nullable=False, default=VoucherKind.permanent)
    amount = Column(MONEY, nullable=False)
    vat_mode = Column(_enum(VatMode, "vat_mode"), nullable=False, default=VatMode.proportional)
    fixed_vat_rate = Column(RATE, nullable=True)
    new_customers_only = Column(Boolean, nullable=False, default=False)
    # Gross value of the eligible lines (articles that may be discounted) before the discount.
    min_order_value = Column(MONEY, nullable=True)
    # Calendar days in the company's time zone, inclusive.
    valid_from = Column(Date, nullable=True)
    valid_until = Column(Date, nullable=True)
    valid_on = Column(Date, nullable=True)
    # Time window in the company's time zone: ISO weekdays the window starts on ("12345" =
    # Monday–Friday; empty = every day), from start to end; end <= start wraps midnight.
    window_weekdays = Column(String(7), nullable=True)
    window_start = Column(Time, nullable=True)
    window_end = Column(Time, nullable=True)
    max_total = Column(Integer, nullable=True)
    max_per_customer = Column(Integer, nullable=True)
    released_for_partner_codes = Column(Boolean, nullable=False, default=False)
    for_customer_id = Column(Integer, ForeignKey("address.id", ondelete="RESTRICT"), nullable=True,
                             index=True)
    active = Column(Boolean, nullable=False, default=True)
    redeemed_count = Column(Integer, nullable=False, default=0)
    # The key an import matches on (re-importing a voucher file updates, never duplicates).
    external_key = Column(String(64), nullable=True, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    for_customer = relationship("Address")
    codes = relationship("VoucherCode", back_populates="voucher", lazy="dynamic")

    def __str__(self) -> str:
        return f"{self.name} ({self.amount} €)"


class VoucherCode(Model):
    """A code someone types. Unique case-insensitively via `code_normalized`."""

    __tablename__ = "voucher_code"
    __table_args__ = (
        CheckConstraint("redeemed_count >= 0", name="ck_voucher_code_redeemed_not_negative"),
        Index("ix_voucher_code_owner", "owner_partner_id", "voucher_id"),
    )

    id = Column(Integer, primary_key=True)
    voucher_id = Column(Integer, ForeignKey("voucher.id", ondelete="RESTRICT"), nullable=False,
                        index=True)
    code = Column(String(40), nullable=False)
    code_normalized = Column(String(40), nullable=False, unique=True)
    # The partner whose personal code this is (V6); None for company codes.
    owner_partner_id = Column(Integer, ForeignKey("partner.id", ondelete="RESTRICT"), nullable=True)
    # A code reserved for one customer (printed on a letter to that customer); None: anyone.
    for_customer_id = Column(Integer, ForeignKey("address.id", ondelete="RESTRICT"), nullable=True,
                             index=True)
    batch = Column(String(64), nullable=True, index=True)
    active = Column(Boolean, nullable=False, default=True)
    redeemed_count = Column(Integer, nullable=False, default=0)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    voucher = relationship("Voucher", back_populates="codes")
    owner = relationship("Partner")
    for_customer = relationship("Address")

    def __str__(self) -> str:
        return self.code


class Order(Model):
    __tablename__ = "shop_order"

    id = Column(Integer, primary_key=True)
    # The shop's id: the same id again returns the first result (idempotency key).
    external_order_id = Column(String(64), nullable=False, unique=True)
    address_id = Column(Integer, ForeignKey("address.id", ondelete="RESTRICT"), nullable=False,
                        index=True)
    status = Column(_enum(OrderStatus, "order_status"), nullable=False, default=OrderStatus.completed)
    voucher_code_id = Column(Integer, ForeignKey("voucher_code.id", ondelete="RESTRICT"), nullable=True,
                             index=True)
    subtotal_gross = Column(MONEY, nullable=False)
    discount = Column(MONEY, nullable=False, default=Decimal("0.00"))
    total_gross = Column(MONEY, nullable=False)
    total_net = Column(MONEY, nullable=False)
    total_vat = Column(MONEY, nullable=False)
    placed_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    cancelled_at = Column(UTCDateTime, nullable=True)

    address = relationship("Address")
    voucher_code = relationship("VoucherCode")
    lines = relationship("OrderLine", back_populates="order", order_by="OrderLine.position",
                         cascade="all, delete-orphan")
    invoices = relationship("Invoice", back_populates="order", order_by="Invoice.id")

    @property
    def invoice_refs(self) -> list[tuple[int, str, str]]:
        """(order id, invoice kind, invoice number) of this order's invoices, oldest first."""
        return [(self.id, invoice.kind.value, invoice.display_number) for invoice in self.invoices]

    def __str__(self) -> str:
        return f"#{self.id} ({self.external_order_id})"


class OrderLine(Model):
    """An article line, or the voucher's discount (negative, one line per VAT rate)."""

    __tablename__ = "order_line"
    __table_args__ = (UniqueConstraint("order_id", "position", name="uq_order_line_position"),)

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("shop_order.id", ondelete="CASCADE"), nullable=False)
    position = Column(Integer, nullable=False)
    kind = Column(_enum(LineKind, "line_kind"), nullable=False, default=LineKind.article)
    article_id = Column(Integer, ForeignKey("article.id", ondelete="RESTRICT"), nullable=True)
    article_no = Column(String(40), nullable=False)
    name = Column(String(200), nullable=False)
    quantity = Column(Integer, nullable=False)
    unit_gross = Column(MONEY, nullable=False)
    vat_rate = Column(RATE, nullable=False)
    line_gross = Column(MONEY, nullable=False)

    order = relationship("Order", back_populates="lines")


class Redemption(Model):
    """One use of a code in a completed order; `released_at` once the order is cancelled."""

    __tablename__ = "redemption"

    id = Column(Integer, primary_key=True)
    voucher_id = Column(Integer, ForeignKey("voucher.id", ondelete="RESTRICT"), nullable=False, index=True)
    code_id = Column(Integer, ForeignKey("voucher_code.id", ondelete="RESTRICT"), nullable=False,
                     index=True)
    order_id = Column(Integer, ForeignKey("shop_order.id", ondelete="RESTRICT"), nullable=False,
                      unique=True)
    address_id = Column(Integer, ForeignKey("address.id", ondelete="RESTRICT"), nullable=False,
                        index=True)
    # Set only for new-customer vouchers: one such redemption per address, ever (V8).
    new_customer_address_id = Column(Integer, ForeignKey("address.id", ondelete="RESTRICT"),
                                     nullable=True, unique=True)
    owner_partner_id = Column(Integer, ForeignKey("partner.id", ondelete="RESTRICT"), nullable=True,
                              index=True)
    amount = Column(MONEY, nullable=False)
    was_new_customer = Column(Boolean, nullable=False, default=False)
    redeemed_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    released_at = Column(UTCDateTime, nullable=True)

    voucher = relationship("Voucher")
    code = relationship("VoucherCode")
    order = relationship("Order")
    address = relationship("Address", foreign_keys=[address_id])
    owner = relationship("Partner")


class InvoiceCounter(Model):
    """The last number issued per series; the row is locked by the UPDATE that takes a number."""

    __tablename__ = "invoice_counter"

    series = Column(String(32), primary_key=True)
    last_number = Column(Integer, nullable=False, default=0)


class Invoice(Model):
    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("order_id", "kind", name="uq_invoice_order_kind"),)

    id = Column(Integer, primary_key=True)
    number = Column(Integer, nullable=False, unique=True)
    kind = Column(_enum(InvoiceKind, "invoice_kind"), nullable=False, default=InvoiceKind.invoice)
    order_id = Column(Integer, ForeignKey("shop_order.id", ondelete="RESTRICT"), nullable=False)
    cancels_invoice_id = Column(Integer, ForeignKey("invoice.id"), nullable=True)
    issued_at = Column(UTCDateTime, nullable=False, default=utcnow)
    delivery_date = Column(Date, nullable=False)
    # Buyer as invoiced (an address may change or be anonymised later; the invoice may not).
    buyer_name = Column(String(300), nullable=False)
    buyer_address = Column(Text, nullable=True)
    total_net = Column(MONEY, nullable=False)
    total_vat = Column(MONEY, nullable=False)
    total_gross = Column(MONEY, nullable=False)

    order = relationship("Order", back_populates="invoices")
    cancels = relationship("Invoice", remote_side=[id])

    @property
    def display_number(self) -> str:
        return self.format_number(self.number)

    @staticmethod
    def format_number(number: int) -> str:
        return f"RE-{number:06d}"

    def __str__(self) -> str:
        return self.display_number
