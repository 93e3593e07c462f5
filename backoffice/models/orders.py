"""Shop orders and their lines.

An order is written once by the checkout and changed only by its cancellation; its invoices
are a billing concept (`backoffice.models.billing`).
"""

from __future__ import annotations

from decimal import Decimal

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import relationship

from .addresses import LabelledEnum, _enum
from .types import MONEY, RATE, UTCDateTime, utcnow


class OrderStatus(LabelledEnum):
    completed = "completed"
    cancelled = "cancelled"


OrderStatus.LABELS = {"completed": _l("Completed"), "cancelled": _l("Cancelled")}


class LineKind(LabelledEnum):
    article = "article"
    voucher = "voucher"


LineKind.LABELS = {"article": _l("Article"), "voucher": _l("Voucher")}


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
    # What the shop sent (customer, lines, code), hashed: the same external id with another
    # basket is refused, not answered with the first order (NULL: placed before it was kept).
    payload_fingerprint = Column(String(64), nullable=True)

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
    # The article sold (NULL on voucher lines): an ordered article cannot be deleted, only
    # deactivated. Indexed for that check.
    article_id = Column(Integer, ForeignKey("article.id", ondelete="RESTRICT"), nullable=True, index=True)
    article_no = Column(String(40), nullable=False)
    name = Column(String(200), nullable=False)
    quantity = Column(Integer, nullable=False)
    unit_gross = Column(MONEY, nullable=False)
    vat_rate = Column(RATE, nullable=False)
    line_gross = Column(MONEY, nullable=False)

    order = relationship("Order", back_populates="lines")
