"""Expert jobs (J1–J7): a customer's job and, per partner it goes to, an assignment with its
own status, transition log, team notes and store-access requests.

A match fans out: one `expert_job`, up to N `job_assignment` rows (one per partner, unique).
The expiry sweep reads the partial state `status IN (new, opened) AND expires_at <= now` from
the index `(status, expires_at)`; lead assignments carry no `expires_at` (a lead is answered
by e-mail, outside the platform) and are never swept.
"""

from __future__ import annotations

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import relationship

from .addresses import LabelledEnum, _enum
from .types import UTCDateTime, utcnow


class JobKind(LabelledEnum):
    match = "match"
    direct = "direct"
    lead = "lead"


JobKind.LABELS = {"match": _l("Match"), "direct": _l("Direct request"), "lead": _l("Lead")}


class JobStatus(LabelledEnum):
    new = "new"
    opened = "opened"
    declined = "declined"
    expired = "expired"
    replied = "replied"
    awaiting_response = "awaiting_response"
    inactive = "inactive"
    completed = "completed"
    closed = "closed"


JobStatus.LABELS = {
    "new": _l("New"),
    "opened": _l("Opened"),
    "declined": _l("Declined"),
    "expired": _l("Expired"),
    "replied": _l("Replied"),
    "awaiting_response": _l("Awaiting response"),
    "inactive": _l("Inactive"),
    "completed": _l("Completed"),
    "closed": _l("Closed"),
}


class Actor(LabelledEnum):
    customer = "customer"
    partner = "partner"
    system = "system"


Actor.LABELS = {"customer": _l("Customer"), "partner": _l("Partner"), "system": _l("System")}


class AccessStatus(LabelledEnum):
    requested = "requested"
    granted = "granted"
    refused = "refused"


AccessStatus.LABELS = {"requested": _l("Requested"), "granted": _l("Granted"), "refused": _l("Refused")}


class ExpertJob(Model):
    """What the customer (or a prospect, for a lead) asks for: service, needs, priorities."""

    __tablename__ = "expert_job"
    __table_args__ = (
        CheckConstraint("kind = 'lead' OR customer_id IS NOT NULL", name="ck_expert_job_customer"),
        CheckConstraint(
            "priority_time BETWEEN 1 AND 3 AND priority_cost BETWEEN 1 AND 3 "
            "AND priority_quality BETWEEN 1 AND 3",
            name="ck_expert_job_priorities",
        ),
        Index("ix_expert_job_customer_created", "customer_id", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    kind = Column(_enum(JobKind, "job_kind"), nullable=False)
    customer_id = Column(Integer, ForeignKey("address.id", ondelete="RESTRICT"), nullable=True)
    category_id = Column(Integer, ForeignKey("category.id", ondelete="RESTRICT"), nullable=False)
    service_id = Column(Integer, ForeignKey("service.id", ondelete="SET NULL"), nullable=True)
    requirements = Column(Text, nullable=False)
    business_info = Column(Text, nullable=True)
    store_name = Column(String(200), nullable=True)
    store_url = Column(String(500), nullable=True)
    # 1 low, 2 normal, 3 high.
    priority_time = Column(Integer, nullable=False, default=2)
    priority_cost = Column(Integer, nullable=False, default=2)
    priority_quality = Column(Integer, nullable=False, default=2)
    postal_code = Column(String(5), nullable=True)
    latitude = Column(Float, nullable=True)
    longitude = Column(Float, nullable=True)
    # Who the merchant is, as the partner searches for it (customer's or lead's name, store).
    merchant_name = Column(String(300), nullable=False)
    contact_email = Column(String(254), nullable=True)  # a lead's, mailed to the matched partners
    contact_phone = Column(String(40), nullable=True)
    language = Column(String(2), nullable=False, default="de")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    category = relationship("Category")
    service = relationship("Service")
    customer = relationship("Address")
    assignments = relationship("JobAssignment", back_populates="job", order_by="JobAssignment.id")


class JobAssignment(Model):
    """The job as one partner has it: status, expiry, the conversation it runs in."""

    __tablename__ = "job_assignment"
    __table_args__ = (
        UniqueConstraint("job_id", "partner_id", name="uq_job_assignment_job_partner"),
        Index("ix_job_assignment_partner_status", "partner_id", "status", "created_at"),
        # The sweep's partial indexes: a row leaves them when it stops being NEW or OPENED, so
        # expiring it writes two index entries fewer than a full (status, expires_at) index.
        Index(
            "ix_job_assignment_new_due",
            "expires_at",
            postgresql_where=text("status = 'new'"),
            sqlite_where=text("status = 'new'"),
        ),
        Index(
            "ix_job_assignment_opened_due",
            "expires_at",
            postgresql_where=text("status = 'opened'"),
            sqlite_where=text("status = 'opened'"),
        ),
        Index(
            "ix_job_assignment_conversation",
            "conversation_id",
            postgresql_where=text("conversation_id IS NOT NULL"),
            sqlite_where=text("conversation_id IS NOT NULL"),
        ),
    )

    id = Column(Integer, primary_key=True)
    job_id = Column(Integer, ForeignKey("expert_job.id", ondelete="CASCADE"), nullable=False)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False)
    status = Column(_enum(JobStatus, "job_status"), nullable=False, default=JobStatus.new)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime, nullable=True)
    reminded_at = Column(UTCDateTime, nullable=True)
    opened_at = Column(UTCDateTime, nullable=True)
    first_reply_at = Column(UTCDateTime, nullable=True)
    status_changed_at = Column(UTCDateTime, nullable=True)
    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="SET NULL"), nullable=True)
    decline_reason = Column(Text, nullable=True)
    review_requested_at = Column(UTCDateTime, nullable=True)

    job = relationship("ExpertJob", back_populates="assignments")
    partner = relationship("Partner")
    conversation = relationship("Conversation")
    transitions = relationship("JobTransition", order_by="JobTransition.id", viewonly=True)
    notes = relationship("JobNote", order_by="JobNote.id", viewonly=True)


class JobTransition(Model):
    """Every status change of an assignment: who, when, from, to (and a decline's reason)."""

    __tablename__ = "job_transition"
    __table_args__ = (Index("ix_job_transition_assignment", "assignment_id", "id"),)

    id = Column(Integer, primary_key=True)
    assignment_id = Column(Integer, ForeignKey("job_assignment.id", ondelete="CASCADE"), nullable=False)
    from_status = Column(_enum(JobStatus, "job_status"), nullable=True)
    to_status = Column(_enum(JobStatus, "job_status"), nullable=False)
    at = Column(UTCDateTime, nullable=False, default=utcnow)
    actor = Column(_enum(Actor, "job_actor"), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    reason = Column(Text, nullable=True)


class JobNote(Model):
    """An internal note of the partner's team on its assignment (never shown to the customer)."""

    __tablename__ = "job_note"
    __table_args__ = (Index("ix_job_note_assignment", "assignment_id", "id"),)

    id = Column(Integer, primary_key=True)
    assignment_id = Column(Integer, ForeignKey("job_assignment.id", ondelete="CASCADE"), nullable=False)
    author_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    body = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    author = relationship("User", foreign_keys=[author_user_id])


class StoreAccessRequest(Model):
    """A partner asks for guest access to the customer's store; granted only by the customer."""

    __tablename__ = "store_access_request"
    __table_args__ = (Index("ix_store_access_assignment", "assignment_id"),)

    id = Column(Integer, primary_key=True)
    assignment_id = Column(Integer, ForeignKey("job_assignment.id", ondelete="CASCADE"), nullable=False)
    requested_by_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    requested_at = Column(UTCDateTime, nullable=False, default=utcnow)
    message = Column(Text, nullable=True)
    status = Column(
        _enum(AccessStatus, "store_access_status"), nullable=False, default=AccessStatus.requested
    )
    decided_at = Column(UTCDateTime, nullable=True)

    assignment = relationship("JobAssignment")


class JobReview(Model):
    """The customer's (or lead's) review of a partner's completed job, once per assignment."""

    __tablename__ = "job_review"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="ck_job_review_stars"),)

    id = Column(Integer, primary_key=True)
    assignment_id = Column(
        Integer, ForeignKey("job_assignment.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), nullable=False, index=True)
    stars = Column(Integer, nullable=False)
    text = Column(Text, nullable=True)
    author_name = Column(String(200), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    # Staff hide a review with a reason: it leaves the profile and the rating.
    hidden = Column(Boolean, nullable=False, default=False, server_default=false())
    hidden_reason = Column(Text, nullable=True)
