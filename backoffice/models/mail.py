"""The mail outbox: every e-mail the system sends is first a row here.

The row is written in the same transaction as the business change that causes the mail (an
invitation, a sign-in link), so a rolled-back change sends nothing and a committed one cannot
lose its mail. A background task (`backoffice/tasks/mail.py`) sends due rows; the row keeps
the rendered message and its fixed `message_id`, so a resend after a crash is the same message
and receivers drop the duplicate. A mail's attachments (`MailAttachment`) point at files
stored in the database (`StoredFile`), so whichever worker sends the row attaches the same
bytes.
"""

from __future__ import annotations

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import relationship

from .addresses import LabelledEnum, _enum
from .types import UTCDateTime, utcnow


class MailStatus(LabelledEnum):
    pending = "pending"   # waiting for its first or next attempt
    sent = "sent"         # accepted by the SMTP server (or written as .eml without one)
    failed = "failed"     # refused for good by the server (e.g. unknown recipient)
    cancelled = "cancelled"  # never to be sent: its recipient's personal data was erased


MailStatus.LABELS = {"pending": _l("Waiting"), "sent": _l("Sent"), "failed": _l("Failed"),
                     "cancelled": _l("Cancelled")}


class OutboxMail(Model):
    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index("ix_mail_outbox_due", "status", "next_attempt_at"),
        # A person's mails, by address in any case (personal data export and erasure, which
        # would otherwise read the whole outbox).
        Index("ix_mail_outbox_recipient_lower", text("lower(recipient)")),
    )

    id = Column(Integer, primary_key=True)
    # Fixed per message ("<…@…>"): every attempt sends the same id.
    message_id = Column(String(255), nullable=False, unique=True)
    kind = Column(String(64), nullable=False)          # template name, e.g. "team_invitation"
    recipient = Column(String(254), nullable=False)
    language = Column(String(2), nullable=False, default="de")
    subject = Column(String(300), nullable=False)
    body_text = Column(Text, nullable=False)
    body_html = Column(Text, nullable=True)
    status = Column(_enum(MailStatus, "mail_status"), nullable=False, default=MailStatus.pending)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime, nullable=False, default=utcnow)
    # A sender's claim: while `claimed_until` lies ahead, no other worker takes the row.
    claimed_by = Column(String(200), nullable=True)
    claimed_until = Column(UTCDateTime, nullable=True)
    last_error = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    sent_at = Column(UTCDateTime, nullable=True)
    # Where the embedded default (no SMTP server configured) wrote the message.
    eml_path = Column(String(1000), nullable=True)

    attachments = relationship("MailAttachment", order_by="MailAttachment.position",
                               cascade="all, delete-orphan", back_populates="mail")

    def __str__(self) -> str:
        return f"{self.subject} → {self.recipient}"


class MailAttachment(Model):
    """A file a mail carries, in its order; the bytes are a stored file."""

    __tablename__ = "mail_attachment"
    __table_args__ = (UniqueConstraint("mail_id", "position", name="uq_mail_attachment_position"),)

    id = Column(Integer, primary_key=True)
    mail_id = Column(Integer, ForeignKey("mail_outbox.id", ondelete="CASCADE"), nullable=False)
    position = Column(Integer, nullable=False)
    filename = Column(String(200), nullable=False)
    file_id = Column(Integer, ForeignKey("stored_file.id", ondelete="RESTRICT"), nullable=False, index=True)

    mail = relationship("OutboxMail", back_populates="attachments")
    file = relationship("StoredFile")
