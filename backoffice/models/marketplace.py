"""The pay-per-request marketplace (L1–L6): bids per category, customers' requests, direct
requests to chosen partners and the charge each of them costs the partner, exactly once.

Exactly-once lives in the schema: one bid per partner and category, one direct request and
one charge per request and partner (unique), and a partner's spending per category and
month in one row (`budget_month`) that is raised by a conditional UPDATE which never lets
it pass the budget.
"""

from __future__ import annotations

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from .addresses import LabelledEnum, _enum
from .types import MONEY, RATE, UTCDateTime, utcnow


class CategoryBid(Model):
    """What a partner pays for a direct request in a category, and its monthly budget."""

    __tablename__ = "category_bid"
    __table_args__ = (
        UniqueConstraint("partner_id", "category_id", name="uq_category_bid_partner_category"),
        CheckConstraint("amount > 0", name="ck_category_bid_amount_positive"),
        CheckConstraint("monthly_budget IS NULL OR monthly_budget > 0", name="ck_category_bid_budget"),
        Index("ix_category_bid_category_active", "category_id", "paused"),
    )

    id = Column(Integer, primary_key=True)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), nullable=False)
    category_id = Column(Integer, ForeignKey("category.id", ondelete="RESTRICT"), nullable=False)
    amount = Column(MONEY, nullable=False)
    monthly_budget = Column(MONEY, nullable=True)
    paused = Column(Boolean, nullable=False, default=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    partner = relationship("Partner")
    category = relationship("Category")


class BidChange(Model):
    """Every change of a bid: who, when, old and new amount, budget and pause."""

    __tablename__ = "bid_change"

    id = Column(Integer, primary_key=True)
    bid_id = Column(Integer, ForeignKey("category_bid.id", ondelete="CASCADE"), nullable=False, index=True)
    changed_at = Column(UTCDateTime, nullable=False, default=utcnow)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    old_amount = Column(MONEY, nullable=True)
    new_amount = Column(MONEY, nullable=False)
    old_budget = Column(MONEY, nullable=True)
    new_budget = Column(MONEY, nullable=True)
    old_paused = Column(Boolean, nullable=True)
    new_paused = Column(Boolean, nullable=False)


class BudgetMonth(Model):
    """What a partner spent in a category in a month (company time zone)."""

    __tablename__ = "budget_month"

    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True)
    category_id = Column(Integer, ForeignKey("category.id", ondelete="RESTRICT"), primary_key=True)
    month = Column(Date, primary_key=True)
    spent = Column(MONEY, nullable=False, default=0)


class LeadMonth(Model):
    """A partner's direct requests of a month (company time zone) and how many of them it
    answered within a day: the responsiveness signal's counts, kept as the direct requests
    are sent and answered, so the ranking reads a few rows per bidder instead of counting
    every direct request of its window."""

    __tablename__ = "lead_month"
    __table_args__ = (
        CheckConstraint("answered <= leads", name="ck_lead_month_answered"),
        # The ranking's sums from the index alone (PostgreSQL's heap is not read).
        Index("ix_lead_month_counts", "partner_id", "month", "leads", "answered"),
        {"sqlite_with_rowid": False},
    )

    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True)
    month = Column(Date, primary_key=True)
    leads = Column(Integer, nullable=False, default=0)
    answered = Column(Integer, nullable=False, default=0)


class RequestStatus(LabelledEnum):
    unconfirmed = "unconfirmed"
    open = "open"
    closed = "closed"


RequestStatus.LABELS = {"unconfirmed": _l("Waiting for confirmation"), "open": _l("Open"),
                        "closed": _l("Closed")}


class LeadRequest(Model):
    """A customer's request for work in a category near a postal code."""

    __tablename__ = "lead_request"
    __table_args__ = (Index("ix_lead_request_email_day", "email", "category_id", "postal_code",
                            "created_at"),)

    id = Column(Integer, primary_key=True)
    category_id = Column(Integer, ForeignKey("category.id", ondelete="RESTRICT"), nullable=False)
    description = Column(Text, nullable=False)
    preferred_dates = Column(String(200), nullable=True)
    postal_code = Column(String(5), nullable=False)
    latitude = Column(Float, nullable=False)
    longitude = Column(Float, nullable=False)
    customer_name = Column(String(200), nullable=False)
    email = Column(String(254), nullable=False)
    phone = Column(String(40), nullable=True)
    language = Column(String(2), nullable=False, default="de")
    address_id = Column(Integer, ForeignKey("address.id", ondelete="SET NULL"), nullable=True, index=True)
    status = Column(_enum(RequestStatus, "request_status"), nullable=False, default=RequestStatus.unconfirmed)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    confirmed_at = Column(UTCDateTime, nullable=True)
    # The ranking the customer was shown (JSON: formula version, matched, each partner's
    # position, quality and signals), kept so that a direct request's receipt states the
    # position the customer chose from without ranking every partner again.
    ranking = Column(Text, nullable=True)
    ranked_at = Column(UTCDateTime, nullable=True)

    category = relationship("Category")
    direct_requests = relationship("DirectRequest", back_populates="request", order_by="DirectRequest.id")


class DirectStatus(LabelledEnum):
    new = "new"
    seen = "seen"
    contacted = "contacted"
    appointment = "appointment"
    done = "done"
    lost = "lost"


DirectStatus.LABELS = {"new": _l("New"), "seen": _l("Seen"), "contacted": _l("Contacted"),
                       "appointment": _l("Appointment agreed"), "done": _l("Done"), "lost": _l("Lost")}


class DirectRequest(Model):
    """A request the customer sent to one chosen partner; charged once (`LeadCharge`)."""

    __tablename__ = "direct_request"
    __table_args__ = (UniqueConstraint("request_id", "partner_id", name="uq_direct_request_request_partner"),
                      Index("ix_direct_request_partner_status", "partner_id", "status"),
                      # Responsiveness of the last 90 days, from the index alone.
                      Index("ix_direct_request_partner_created", "partner_id", "created_at",
                            "answered_in_time"),
                      # The review sweep: appointments of the past not asked about yet.
                      Index("ix_direct_request_appointment_ask", "appointment_on", "review_asked_at"))

    id = Column(Integer, primary_key=True)
    request_id = Column(Integer, ForeignKey("lead_request.id", ondelete="RESTRICT"), nullable=False)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False)
    status = Column(_enum(DirectStatus, "direct_status"), nullable=False, default=DirectStatus.new)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    first_response_at = Column(UTCDateTime, nullable=True)
    # Set with the first response: within a day of the request (the responsiveness signal).
    answered_in_time = Column(Boolean, nullable=True)
    status_changed_at = Column(UTCDateTime, nullable=True)
    # The appointment the partner agreed with the customer (a day), and when the customer was
    # asked for a review (once: after "done", or 14 days after the appointment).
    appointment_on = Column(Date, nullable=True)
    review_asked_at = Column(UTCDateTime, nullable=True)

    request = relationship("LeadRequest", back_populates="direct_requests")
    partner = relationship("Partner")
    charge = relationship("LeadCharge", back_populates="direct_request", uselist=False)


class LeadCharge(Model):
    """The price of a direct request: the partner's bid at that moment, immutable, with the
    receipt that explains it (rank inputs, position, formula version)."""

    __tablename__ = "lead_charge"
    __table_args__ = (UniqueConstraint("request_id", "partner_id", name="uq_lead_charge_request_partner"),
                      Index("ix_lead_charge_partner_charged", "partner_id", "charged_at"))

    id = Column(Integer, primary_key=True)
    direct_request_id = Column(Integer, ForeignKey("direct_request.id", ondelete="RESTRICT"), nullable=False,
                               unique=True)
    request_id = Column(Integer, ForeignKey("lead_request.id", ondelete="RESTRICT"), nullable=False)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False)
    category_id = Column(Integer, ForeignKey("category.id", ondelete="RESTRICT"), nullable=False)
    net = Column(MONEY, nullable=False)
    vat_rate = Column(RATE, nullable=False)
    charged_at = Column(UTCDateTime, nullable=False, default=utcnow)
    receipt = Column(Text, nullable=False)  # JSON

    direct_request = relationship("DirectRequest", back_populates="charge")
    partner = relationship("Partner")  # the charged partner, named in the Desk's list of charges
    category = relationship("Category")


class Review(Model):
    """A customer's review of a partner, once per direct request, after the job was done."""

    __tablename__ = "review"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="ck_review_stars"),
                      Index("ix_review_partner_visible", "partner_id", "hidden"))

    id = Column(Integer, primary_key=True)
    direct_request_id = Column(Integer, ForeignKey("direct_request.id", ondelete="RESTRICT"), nullable=False,
                               unique=True)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False)
    stars = Column(Integer, nullable=False)
    text = Column(Text, nullable=True)
    author_name = Column(String(200), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    answer = Column(Text, nullable=True)
    answered_at = Column(UTCDateTime, nullable=True)
    hidden = Column(Boolean, nullable=False, default=False)
    hidden_reason = Column(Text, nullable=True)

    direct_request = relationship("DirectRequest")


class DisputeReason(LabelledEnum):
    duplicate = "duplicate"
    unreachable = "unreachable"
    outside = "outside"
    fake = "fake"


DisputeReason.LABELS = {"duplicate": _l("Duplicate request"), "unreachable": _l("Contact data unreachable"),
                        "outside": _l("Outside my category or area"), "fake": _l("Fake request")}


class DisputeStatus(LabelledEnum):
    open = "open"
    accepted = "accepted"
    refused = "refused"


DisputeStatus.LABELS = {"open": _l("Open"), "accepted": _l("Accepted"), "refused": _l("Refused")}


class ChargeDispute(Model):
    """A partner contests a charge; staff accept it (a credit on the next statement) or refuse."""

    __tablename__ = "charge_dispute"

    id = Column(Integer, primary_key=True)
    charge_id = Column(Integer, ForeignKey("lead_charge.id", ondelete="RESTRICT"), nullable=False,
                       unique=True)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False, index=True)
    reason = Column(_enum(DisputeReason, "dispute_reason"), nullable=False)
    note = Column(Text, nullable=True)
    status = Column(_enum(DisputeStatus, "dispute_status"), nullable=False, default=DisputeStatus.open)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    decided_at = Column(UTCDateTime, nullable=True)
    decided_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    decision_reason = Column(Text, nullable=True)

    charge = relationship("LeadCharge")
    partner = relationship("Partner")
