"""Conversations (M1–M7): customers start them, the partner's team answers, a block ends them.

Only customers start a conversation, and only with a partner that can be found (published
profile, at least one active service; `directory.findable_condition`). A partner that
blocked the customer cannot be written to. `block_customer` closes everything open between
the two in the caller's transaction: the conversations here, and jobs, offers and service
orders through their own services' `close_for_block`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import exists, select, update

from ..errors import Conflict, Forbidden, NotFound, RuleViolations
from ..models import Conversation, CustomerBlock, Message, PartnerProfile, Party, Service
from ..models.types import utcnow
from .directory import findable_condition

BODY_MAX = 20_000


@dataclass(frozen=True)
class Posted:
    conversation_id: int
    message_id: int


def is_blocked(session, partner_id: int, customer_id: int) -> bool:
    return session.scalar(select(exists().where(CustomerBlock.partner_id == partner_id,
                                                CustomerBlock.customer_id == customer_id)))


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise RuleViolations({"body": [_("Write a message.")]})
    if len(body) > BODY_MAX:
        raise RuleViolations({"body": [_("At most %(max)s characters.", max=BODY_MAX)]})
    return body


def _refuse_unless_contactable(session, partner_id: int, customer_id: int) -> None:
    findable = session.scalar(select(exists().where(PartnerProfile.partner_id == partner_id,
                                                    findable_condition())))
    if not findable:
        raise NotFound("partner_not_found", _("This partner cannot be contacted."))
    if is_blocked(session, partner_id, customer_id):
        raise Forbidden("blocked", _("This partner does not accept messages from you."))


def start_conversation(session, customer_id: int, partner_id: int, *, requirements: str, body: str,
                       service_id: int | None = None, store_name: str | None = None,
                       store_url: str | None = None, now: datetime | None = None) -> Posted:
    """A customer's first message to a partner: it outlines the work (service, store, needs)."""
    now = now or utcnow()
    _refuse_unless_contactable(session, partner_id, customer_id)
    errors: dict[str, list[str]] = {}
    requirements = (requirements or "").strip()
    if not requirements:
        errors["requirements"] = [_("Describe what needs doing.")]
    if service_id is not None and not session.scalar(select(exists().where(
            Service.id == service_id, Service.partner_id == partner_id, Service.active.is_(True)))):
        errors["service_id"] = [_("Choose one of this partner's services.")]
    if store_name and len(store_name.strip()) > 200:
        errors["store_name"] = [_("At most %(max)s characters.", max=200)]
    if store_url and len(store_url.strip()) > 500:
        errors["store_url"] = [_("At most %(max)s characters.", max=500)]
    try:
        body = _check_body(body)
    except RuleViolations as error:
        errors.update(error.errors)
    if errors:
        raise RuleViolations(errors)
    conversation = Conversation(partner_id=partner_id, customer_id=customer_id, service_id=service_id,
                                store_name=(store_name or "").strip() or None,
                                store_url=(store_url or "").strip() or None, requirements=requirements,
                                created_at=now, last_message_at=now, last_message_by=Party.customer)
    session.add(conversation)
    session.flush()
    message = Message(conversation_id=conversation.id, sender=Party.customer, body=body, created_at=now)
    session.add(message)
    session.flush()
    return Posted(conversation.id, message.id)


def conversation_of(session, conversation_id: int, *, partner_id: int | None = None,
                    customer_id: int | None = None, lock: bool = False) -> Conversation:
    """The conversation if it belongs to the given partner or customer (else: not found)."""
    stmt = select(Conversation).where(Conversation.id == conversation_id)
    if partner_id is not None:
        stmt = stmt.where(Conversation.partner_id == partner_id)
    if customer_id is not None:
        stmt = stmt.where(Conversation.customer_id == customer_id)
    if partner_id is None and customer_id is None:
        raise ValueError("scope the conversation to a partner or a customer")
    if lock:
        stmt = stmt.with_for_update()
    conversation = session.scalar(stmt)
    if conversation is None:
        raise NotFound("conversation_not_found", _("There is no such conversation."))
    return conversation


def post_message(session, conversation: Conversation, sender: Party, body: str, *,
                 author_user_id: int | None = None, now: datetime | None = None) -> Posted:
    """A further message; a blocked customer can no longer write, a partner always can."""
    now = now or utcnow()
    body = _check_body(body)
    if sender is Party.customer and is_blocked(session, conversation.partner_id, conversation.customer_id):
        raise Forbidden("blocked", _("This partner does not accept messages from you."))
    message = Message(conversation_id=conversation.id, sender=sender, author_user_id=author_user_id,
                      body=body, created_at=now)
    session.add(message)
    # Conditional: a concurrent, later message keeps its place as the last one.
    session.execute(update(Conversation).where(Conversation.id == conversation.id,
                                               Conversation.last_message_at <= now)
                    .values(last_message_at=now, last_message_by=sender))
    session.flush()
    for follow in ON_MESSAGE:
        follow(session, conversation, message, now)
    return Posted(conversation.id, message.id)


def block_customer(session, partner_id: int, customer_id: int, *, user_id: int | None,
                   reason: str | None = None, now: datetime | None = None) -> bool:
    """Block for good; False when the customer was blocked already (nothing changes twice).

    Everything open between the two closes in this transaction.
    """
    now = now or utcnow()
    if not session.scalar(select(exists().where(Conversation.partner_id == partner_id,
                                                Conversation.customer_id == customer_id))):
        raise NotFound("conversation_not_found", _("This customer has not written to you."))
    if is_blocked(session, partner_id, customer_id):
        return False
    session.add(CustomerBlock(partner_id=partner_id, customer_id=customer_id, blocked_at=now,
                              blocked_by_user_id=user_id, reason=(reason or "").strip() or None))
    try:
        session.flush()
    except Exception as error:  # a concurrent block of the same pair
        raise Conflict("already_blocked", _("This customer is blocked already.")) from error
    # Closers of the other areas (jobs, offers, service orders) are called here, in order.
    for close in CLOSERS:
        close(session, partner_id, customer_id, now)
    return True


# What other areas do in the same transaction. Each area's service module appends its function
# when it is imported (the app imports every area), so this module imports none of them.
# close(session, partner_id, customer_id, now): close what is open between the two (a block).
CLOSERS: list = []
# follow(session, conversation, message, now): a further message was posted (not the first).
ON_MESSAGE: list = []
# follow(session, conversation, by: Party, reason, now): the conversation was declined.
ON_DECLINE: list = []
