"""Conversations between a customer and a partner (M1–M7): only customers start one; the
partner's whole team answers. Jobs and offers attach to a conversation.

`customer_block` is a partner's final refusal of a customer: it cannot be undone, the
customer can no longer write, and everything open between the two is closed with it.
"""

from __future__ import annotations

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import relationship

from .addresses import LabelledEnum, _enum
from .types import UTCDateTime, utcnow


class Party(LabelledEnum):
    customer = "customer"
    partner = "partner"


Party.LABELS = {"customer": _l("Customer"), "partner": _l("Partner")}


class Conversation(Model):
    """One thread between a customer (an address) and a partner organisation."""

    __tablename__ = "conversation"
    __table_args__ = (Index("ix_conversation_partner_last", "partner_id", "last_message_at"),
                      Index("ix_conversation_customer_last", "customer_id", "last_message_at"))

    id = Column(Integer, primary_key=True)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="RESTRICT"), nullable=False)
    customer_id = Column(Integer, ForeignKey("address.id", ondelete="RESTRICT"), nullable=False)
    service_id = Column(Integer, ForeignKey("service.id", ondelete="SET NULL"), nullable=True)
    store_name = Column(String(200), nullable=True)
    store_url = Column(String(500), nullable=True)
    requirements = Column(Text, nullable=False)
    # The customer's name when the conversation started: listed and searched without a join.
    contact_name = Column(String(300), nullable=False, default="", server_default="")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_message_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_message_by = Column(_enum(Party, "party"), nullable=False)
    declined_at = Column(UTCDateTime, nullable=True)
    declined_by = Column(_enum(Party, "party"), nullable=True)
    decline_reason = Column(Text, nullable=True)
    # The newest customer message: a member who read up to it has nothing unread here.
    last_customer_message_id = Column(Integer, nullable=True)

    partner = relationship("Partner")
    customer = relationship("Address")
    service = relationship("Service")
    messages = relationship("Message", back_populates="conversation", order_by="Message.id")


class Message(Model):
    __tablename__ = "message"
    __table_args__ = (Index("ix_message_conversation_id", "conversation_id", "id"),
                      Index("ix_message_digest", "digest_claim", "digested_at", "created_at"))

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False)
    sender = Column(_enum(Party, "party"), nullable=False)
    # The team member who wrote a partner's message (None for the customer's).
    author_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    body = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    # The hourly digest: claimed by one run (token, time), stamped when its mail is queued.
    # The first message is stamped at once: the first-contact mail announces it.
    digest_claim = Column(String(32), nullable=True)
    digest_claimed_at = Column(UTCDateTime, nullable=True)
    digested_at = Column(UTCDateTime, nullable=True)

    conversation = relationship("Conversation", back_populates="messages")
    files = relationship("MessageFile", order_by="MessageFile.id", lazy="selectin")


class MessageFile(Model):
    """A file sent with a message; its bytes live in the storage folder under `storage_key`."""

    __tablename__ = "message_file"

    id = Column(Integer, primary_key=True)
    message_id = Column(Integer, ForeignKey("message.id", ondelete="CASCADE"), nullable=False, index=True)
    file_name = Column(String(255), nullable=False)
    content_type = Column(String(100), nullable=False)
    size = Column(Integer, nullable=False)
    storage_key = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class ConversationRead(Model):
    """How far one team member has read a conversation (unread markers are per member)."""

    __tablename__ = "conversation_read"

    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    read_message_id = Column(Integer, nullable=False)
    read_at = Column(UTCDateTime, nullable=False, default=utcnow)


class ConversationTag(Model):
    """A tag of a partner's team; renaming it renames it on every conversation."""

    __tablename__ = "conversation_tag"
    __table_args__ = (UniqueConstraint("partner_id", "name", name="uq_conversation_tag_name"),)

    id = Column(Integer, primary_key=True)
    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(60), nullable=False)


class ConversationTagging(Model):
    __tablename__ = "conversation_tagging"
    __table_args__ = (Index("ix_conversation_tagging_tag", "tag_id", "conversation_id"),)

    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True)
    tag_id = Column(Integer, ForeignKey("conversation_tag.id", ondelete="CASCADE"), primary_key=True)


class AbuseReport(Model):
    """A party reports a conversation; only a reported conversation can be read by staff."""

    __tablename__ = "conversation_report"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    reported_by = Column(_enum(Party, "party"), nullable=False)
    reporter_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    reason = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    conversation = relationship("Conversation")


class StaffRead(Model):
    """Every time staff open a reported conversation: who, when, which."""

    __tablename__ = "conversation_staff_read"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    read_at = Column(UTCDateTime, nullable=False, default=utcnow)


class CustomerBlock(Model):
    __tablename__ = "customer_block"

    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True)
    customer_id = Column(Integer, ForeignKey("address.id", ondelete="CASCADE"), primary_key=True)
    blocked_at = Column(UTCDateTime, nullable=False, default=utcnow)
    blocked_by_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    reason = Column(Text, nullable=True)


# Search structures written as raw DDL by the migration (no model describes them): the schema
# comparison of the tests leaves these names alone. PostgreSQL: a German full-text index on
# message bodies and a trigram index on names and URLs; SQLite: FTS5 tables (trigram
# tokenizer) kept in step by triggers, with their shadow tables.
SEARCH_INDEXES = ("ix_message_body_fts", "ix_conversation_names_trgm")
SEARCH_TABLES = ("message_fts", "conversation_fts")
# The names a conversation is found by, as one text (PostgreSQL's trigram index is on it).
NAMES_EXPRESSION = ("(coalesce(contact_name, '') || ' ' || coalesce(store_name, '') || ' ' || "
                    "coalesce(store_url, ''))")
