"""Vouchers, their codes and redemptions (a redemption ties a code to the order it paid).

Counters that must never be exceeded under concurrency live on the rows that are
updated conditionally (`voucher.redeemed_count`, `voucher_code.redeemed_count`); unique
indexes back up the rules that hold per order and per new customer.
"""

from __future__ import annotations

from flask_appbuilder import Model
from flask_babel import format_currency
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
)
from sqlalchemy.orm import relationship

from .addresses import LabelledEnum, _enum
from .types import MONEY, RATE, UTCDateTime, utcnow


class VoucherKind(LabelledEnum):
    single = "single"
    permanent = "permanent"


VoucherKind.LABELS = {"single": _l("Single voucher"), "permanent": _l("Permanent voucher")}


class VatMode(LabelledEnum):
    proportional = "proportional"
    fixed = "fixed"


VatMode.LABELS = {"proportional": _l("Proportional to the basket's VAT rates"),
                  "fixed": _l("Fixed VAT rate")}


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
        """Name and amount as lists and selects show a voucher: `5 € für Neukunden (5,00 €)`."""
        amount = "" if self.amount is None else format_currency(self.amount, "EUR")
        return f"{self.name} ({amount})"


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


