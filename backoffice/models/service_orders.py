"""Ordering a partner's services: service orders, "request to order" settings with time
windows, customers' requests to order, and partners' custom offers (proposals).

A service order snapshots what was agreed (scope, gross price, VAT, delivery days); its
every transition is a `service_order_event` row. A custom offer turns into at most one
service order: `service_order.offer_id` is unique.

Time windows are minute intervals [start, end) of the partner's local day (`Partner.time_zone`):
21:00–0:00 is (1260, 1440). A window with end <= start wraps midnight: 22:00–6:00 is (1320, 360),
its part after midnight belongs to the following day. The days a setting is active are a
bit mask (Monday = bit 0) that applies to where a window starts.
"""

from __future__ import annotations

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
    String,
    Text,
)
from sqlalchemy.orm import relationship

from .addresses import LabelledEnum, _enum
from .conversations import Party
from .types import MONEY, RATE, UTCDateTime, utcnow


class ServiceOrderStatus(LabelledEnum):
    ordered = "ordered"
    in_progress = "in_progress"
    delivered = "delivered"
    revision = "revision"
    completed = "completed"
    cancelled = "cancelled"


ServiceOrderStatus.LABELS = {
    "ordered": _l("Ordered"),
    "in_progress": _l("In progress"),
    "delivered": _l("Delivered"),
    "revision": _l("Revision requested"),
    "completed": _l("Completed"),
    "cancelled": _l("Cancelled"),
}


class Audience(LabelledEnum):
    new_customers = "new_customers"
    all_customers = "all_customers"


Audience.LABELS = {"new_customers": _l("New customers"), "all_customers": _l("All customers")}


class RequestState(LabelledEnum):
    pending = "pending"
    offer_sent = "offer_sent"
    accepted = "accepted"
    offer_expired = "offer_expired"
    declined = "declined"
    withdrawn = "withdrawn"
    expired = "expired"
    closed = "closed"


RequestState.LABELS = {
    "pending": _l("Waiting for the partner"),
    "offer_sent": _l("Offer sent"),
    "accepted": _l("Accepted"),
    "offer_expired": _l("Offer expired"),
    "declined": _l("Declined"),
    "withdrawn": _l("Offer withdrawn"),
    "expired": _l("Expired unanswered"),
    "closed": _l("Closed by a block"),
}


class OfferState(LabelledEnum):
    open = "open"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"
    expired = "expired"
    closed = "closed"


OfferState.LABELS = {
    "open": _l("Awaiting answer"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
    "withdrawn": _l("Withdrawn"),
    "expired": _l("Expired"),
    "closed": _l("Closed by a block"),
}


class RequestToOrder(Model):
    """A service's "request to order" setting (one row per service, absent = off)."""

    __tablename__ = "request_to_order"
    __table_args__ = (CheckConstraint("weekdays >= 0 AND weekdays <= 127", name="ck_request_to_order_days"),)

    service_id = Column(Integer, ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    enabled = Column(Boolean, nullable=False, default=False)
    audience = Column(_enum(Audience, "order_audience"), nullable=False, default=Audience.all_customers)
    weekdays = Column(Integer, nullable=False, default=127)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    windows = relationship(
        "RequestWindow", order_by="RequestWindow.start_minute", cascade="all, delete-orphan"
    )
    packages = relationship("RequestPackage", cascade="all, delete-orphan")


class RequestWindow(Model):
    __tablename__ = "request_window"
    __table_args__ = (
        CheckConstraint("start_minute >= 0 AND start_minute < 1440", name="ck_request_window_start"),
        CheckConstraint(
            "end_minute > 0 AND end_minute <= 1440 AND end_minute <> start_minute",
            name="ck_request_window_end",
        ),
    )

    id = Column(Integer, primary_key=True)
    service_id = Column(
        Integer, ForeignKey("request_to_order.service_id", ondelete="CASCADE"), nullable=False, index=True
    )
    start_minute = Column(Integer, nullable=False)
    end_minute = Column(Integer, nullable=False)


class RequestPackage(Model):
    """A package that "request to order" applies to (packages not listed are ordered directly)."""

    __tablename__ = "request_package"

    package_id = Column(Integer, ForeignKey("service_package.id", ondelete="CASCADE"), primary_key=True)
    service_id = Column(
        Integer, ForeignKey("request_to_order.service_id", ondelete="CASCADE"), nullable=False, index=True
    )


class OrderRequest(Model):
    """A customer's request to order a package, answered by an offer or a decline."""

    __tablename__ = "order_request"
    __table_args__ = (
        Index("ix_order_request_partner_state", "partner_id", "state", "created_at"),
        Index("ix_order_request_customer", "customer_id", "partner_id"),
        Index("ix_order_request_state_due", "state", "answer_due_at"),
    )

    id = Column(Integer, primary_key=True)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False)
    customer_id = Column(Integer, ForeignKey("address.id", ondelete="RESTRICT"), nullable=False)
    service_id = Column(Integer, ForeignKey("service.id", ondelete="RESTRICT"), nullable=False)
    package_id = Column(Integer, ForeignKey("service_package.id", ondelete="SET NULL"), nullable=True)
    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="RESTRICT"), nullable=False)
    needs = Column(Text, nullable=False)
    wished_start = Column(Date, nullable=True)
    state = Column(_enum(RequestState, "order_request_state"), nullable=False, default=RequestState.pending)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    answer_due_at = Column(UTCDateTime, nullable=False)
    answered_at = Column(UTCDateTime, nullable=True)
    decline_message = Column(Text, nullable=True)
    closed_at = Column(UTCDateTime, nullable=True)
    reminded_at = Column(UTCDateTime, nullable=True)  # the partner was reminded before it expires

    service = relationship("Service")
    package = relationship("ServicePackage")
    customer = relationship("Address")


class Offer(Model):
    """A partner's custom offer to one customer, in their conversation."""

    __tablename__ = "offer"
    __table_args__ = (
        CheckConstraint("price >= 0", name="ck_offer_price"),
        CheckConstraint("delivery_days >= 0", name="ck_offer_delivery"),
        Index("ix_offer_partner_state", "partner_id", "state"),
        Index("ix_offer_customer_state", "customer_id", "state"),
        Index("ix_offer_state_expires", "state", "expires_at"),
    )

    id = Column(Integer, primary_key=True)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False)
    customer_id = Column(Integer, ForeignKey("address.id", ondelete="RESTRICT"), nullable=False)
    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="RESTRICT"), nullable=False)
    message_id = Column(Integer, ForeignKey("message.id", ondelete="SET NULL"), nullable=True)
    request_id = Column(
        Integer, ForeignKey("order_request.id", ondelete="SET NULL"), nullable=True, index=True
    )
    service_id = Column(Integer, ForeignKey("service.id", ondelete="SET NULL"), nullable=True)
    package_id = Column(Integer, ForeignKey("service_package.id", ondelete="SET NULL"), nullable=True)
    scope = Column(Text, nullable=False)
    price = Column(MONEY, nullable=False)
    delivery_days = Column(Integer, nullable=False)
    expires_at = Column(UTCDateTime, nullable=True)
    state = Column(_enum(OfferState, "offer_state"), nullable=False, default=OfferState.open)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    created_by_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    decided_at = Column(UTCDateTime, nullable=True)
    reminded_at = Column(UTCDateTime, nullable=True)  # the customer was reminded before it expires

    service = relationship("Service")


class ServiceOrder(Model):
    __tablename__ = "service_order"
    __table_args__ = (
        CheckConstraint("gross >= 0 AND net >= 0 AND vat >= 0", name="ck_service_order_amounts"),
        Index("ix_service_order_partner_customer", "partner_id", "customer_id", "status"),
        Index("ix_service_order_partner_created", "partner_id", "created_at"),
        Index("ix_service_order_customer", "customer_id", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False)
    customer_id = Column(Integer, ForeignKey("address.id", ondelete="RESTRICT"), nullable=False)
    service_id = Column(Integer, ForeignKey("service.id", ondelete="SET NULL"), nullable=True)
    package_id = Column(Integer, ForeignKey("service_package.id", ondelete="SET NULL"), nullable=True)
    offer_id = Column(Integer, ForeignKey("offer.id", ondelete="RESTRICT"), nullable=True, unique=True)
    # The snapshot of what was agreed: the service's and package's names, the scope, the money.
    title = Column(String(330), nullable=False)
    scope = Column(Text, nullable=False)
    gross = Column(MONEY, nullable=False)
    vat_rate = Column(RATE, nullable=False)
    net = Column(MONEY, nullable=False)
    vat = Column(MONEY, nullable=False)
    delivery_days = Column(Integer, nullable=False)
    status = Column(
        _enum(ServiceOrderStatus, "service_order_status"), nullable=False, default=ServiceOrderStatus.ordered
    )
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    accepted_at = Column(UTCDateTime, nullable=True)
    due_at = Column(UTCDateTime, nullable=True)
    delivered_at = Column(UTCDateTime, nullable=True)
    completed_at = Column(UTCDateTime, nullable=True)
    cancelled_at = Column(UTCDateTime, nullable=True)
    cancelled_by = Column(_enum(Party, "party"), nullable=True)
    cancel_reason = Column(Text, nullable=True)

    events = relationship("ServiceOrderEvent", order_by="ServiceOrderEvent.id", viewonly=True)
    customer = relationship("Address")


class ServiceOrderEvent(Model):
    """One transition of a service order: from, to, who (party and login), why, when."""

    __tablename__ = "service_order_event"
    __table_args__ = (Index("ix_service_order_event_order", "order_id", "id"),)

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("service_order.id", ondelete="CASCADE"), nullable=False)
    from_status = Column(_enum(ServiceOrderStatus, "service_order_status"), nullable=True)
    to_status = Column(_enum(ServiceOrderStatus, "service_order_status"), nullable=False)
    by = Column(_enum(Party, "party"), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    note = Column(Text, nullable=True)
    at = Column(UTCDateTime, nullable=False, default=utcnow)
