"""Conversations between a customer and a partner (M1–M7): only customers start one; the
partner's whole team answers. Jobs and offers attach to a conversation.

`customer_block` is a partner's final refusal of a customer: it cannot be undone, the
customer can no longer write, and everything open between the two is closed with it.
"""

from __future__ import annotations

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text
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
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_message_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_message_by = Column(_enum(Party, "party"), nullable=False)
    declined_at = Column(UTCDateTime, nullable=True)
    declined_by = Column(_enum(Party, "party"), nullable=True)
    decline_reason = Column(Text, nullable=True)

    partner = relationship("Partner")
    customer = relationship("Address")
    service = relationship("Service")
    messages = relationship("Message", back_populates="conversation", order_by="Message.id")


class Message(Model):
    __tablename__ = "message"
    __table_args__ = (Index("ix_message_conversation_id", "conversation_id", "id"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False)
    sender = Column(_enum(Party, "party"), nullable=False)
    # The team member who wrote a partner's message (None for the customer's).
    author_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    body = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    conversation = relationship("Conversation", back_populates="messages")


class CustomerBlock(Model):
    __tablename__ = "customer_block"

    partner_id = Column(Integer, ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True)
    customer_id = Column(Integer, ForeignKey("address.id", ondelete="CASCADE"), primary_key=True)
    blocked_at = Column(UTCDateTime, nullable=False, default=utcnow)
    blocked_by_user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    reason = Column(Text, nullable=True)
