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

from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext as _
from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..errors import Conflict, Forbidden, NotFound, RuleViolations
from ..models import (
    AbuseReport,
    Address,
    Conversation,
    ConversationRead,
    CustomerBlock,
    Message,
    Partner,
    PartnerProfile,
    Party,
    Service,
    StaffRead,
)
from ..models.types import utcnow
from . import mail, message_files
from .directory import findable_condition
from .profiles import notification_email_of

BODY_MAX = 20_000


@dataclass(frozen=True)
class Posted:
    conversation_id: int
    message_id: int


def is_blocked(session, partner_id: int, customer_id: int) -> bool:
    return session.scalar(select(exists().where(CustomerBlock.partner_id == partner_id,
                                                CustomerBlock.customer_id == customer_id)))


def blocking_partners(session, customer_id: int | None) -> set[int]:
    """Partners that blocked this customer: never matched to it again (M7)."""
    if customer_id is None:
        return set()
    return set(session.scalars(select(CustomerBlock.partner_id)
                               .where(CustomerBlock.customer_id == customer_id)))


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
                       store_url: str | None = None, now: datetime | None = None,
                       files: list[message_files.Upload] = (), conversation_url: str | None = None,
                       mail_partner: bool = True) -> Posted:
    """A customer's first message to a partner: it outlines the work (service, store, needs).

    The partner's notification address gets a mail at once (`conversation_url` + the id is
    the link in it; `mail_partner=False`: the caller sends its own mail about it); later
    messages go into the hourly digest instead.
    """
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
    checked = []
    try:
        checked = message_files.check(list(files))
    except RuleViolations as error:
        errors.update(error.errors)
    if errors:
        raise RuleViolations(errors)
    customer = session.get(Address, customer_id)
    conversation = Conversation(partner_id=partner_id, customer_id=customer_id, service_id=service_id,
                                store_name=(store_name or "").strip() or None,
                                store_url=(store_url or "").strip() or None, requirements=requirements,
                                contact_name=(customer.name if customer else "")[:300],
                                created_at=now, last_message_at=now, last_message_by=Party.customer)
    session.add(conversation)
    session.flush()
    # The first-contact mail below announces this message: the digest leaves it out.
    message = Message(conversation_id=conversation.id, sender=Party.customer, body=body, created_at=now,
                      digested_at=now)
    session.add(message)
    session.flush()
    conversation.last_customer_message_id = message.id
    message_files.store(session, message.id, checked)
    if mail_partner:
        _mail_first_contact(session, conversation, message, conversation_url, len(checked))
    session.flush()
    return Posted(conversation.id, message.id)


def notification_addresses(session, partner_ids) -> dict[int, tuple[str | None, str]]:
    """partner id → where its mails go (`profiles.notification_email`: its notification
    address, else its owner's login's, else its address' e-mail) and in which language."""
    recipient = notification_email_of(Partner.notification_email, User.email, Address.email)
    rows = session.execute(select(Partner.id, recipient.label("recipient"), Address.language)
                           .join(Address, Address.id == Partner.address_id)
                           .outerjoin(User, User.id == Partner.user_id)
                           .where(Partner.id.in_(list(partner_ids)))).all()
    return {row.id: (row.recipient, mail.language_of(row.language)) for row in rows}


def notification_address(session, partner_id: int) -> tuple[str | None, str]:
    return notification_addresses(session, [partner_id])[partner_id]


def _mail_first_contact(session, conversation: Conversation, message: Message, url: str | None,
                        files: int) -> None:
    recipient, language = notification_address(session, conversation.partner_id)
    if not recipient:
        return
    service = session.get(Service, conversation.service_id) if conversation.service_id else None
    mail.queue_mail(session, "conversation_first_contact", recipient, language, {
        "contact": conversation.contact_name, "service": getattr(service, "title", None),
        "store_name": conversation.store_name, "store_url": conversation.store_url,
        "requirements": conversation.requirements, "body": message.body,
        "files": files,
        "link": f"{url}{conversation.id}" if url else None})


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
                 author_user_id: int | None = None, now: datetime | None = None,
                 files: list[message_files.Upload] = ()) -> Posted:
    """A further message; a blocked customer can no longer write, a partner always can.

    A declined conversation takes no further messages.
    """
    now = now or utcnow()
    body = _check_body(body)
    checked = message_files.check(list(files))
    if sender is Party.customer and is_blocked(session, conversation.partner_id, conversation.customer_id):
        raise Forbidden("blocked", _("This partner does not accept messages from you."))
    if conversation.declined_at is not None:
        raise Conflict("declined", _("This conversation was declined."))
    message = Message(conversation_id=conversation.id, sender=sender, author_user_id=author_user_id,
                      body=body, created_at=now)
    session.add(message)
    session.flush()
    message_files.store(session, message.id, checked)
    # Conditional: a concurrent, later message keeps its place as the last one.
    session.execute(update(Conversation).where(Conversation.id == conversation.id,
                                               Conversation.last_message_at <= now)
                    .values(last_message_at=now, last_message_by=sender))
    if sender is Party.customer:
        session.execute(update(Conversation).where(
            Conversation.id == conversation.id,
            func.coalesce(Conversation.last_customer_message_id, 0) < message.id)
            .values(last_customer_message_id=message.id))
    if author_user_id is not None:
        mark_read(session, conversation.id, author_user_id, now=now)
    session.flush()
    for follow in ON_MESSAGE:
        follow(session, conversation, message, now)
    return Posted(conversation.id, message.id)


def decline_conversation(session, conversation: Conversation, by: Party, reason: str, *,
                         author_user_id: int | None = None, now: datetime | None = None) -> Posted:
    """Decline with a message to the other side; open jobs and offers follow (ON_DECLINE).

    Declining twice is refused: the conversation is closed after the first.
    """
    now = now or utcnow()
    reason = _check_body(reason)
    locked = conversation_of(session, conversation.id, partner_id=conversation.partner_id, lock=True)
    if locked.declined_at is not None:
        raise Conflict("declined", _("This conversation was declined."))
    message = Message(conversation_id=conversation.id, sender=by, author_user_id=author_user_id,
                      body=reason, created_at=now)
    session.add(message)
    locked.declined_at, locked.declined_by, locked.decline_reason = now, by, reason
    locked.last_message_at, locked.last_message_by = max(locked.last_message_at, now), by
    session.flush()
    if author_user_id is not None:
        mark_read(session, conversation.id, author_user_id, now=now)
    for follow in ON_DECLINE:
        follow(session, locked, by, reason, now)
    return Posted(conversation.id, message.id)


def mark_read(session, conversation_id: int, user_id: int, *, now: datetime | None = None) -> None:
    """This team member has read everything in the conversation up to now."""
    now = now or utcnow()
    newest = session.scalar(select(func.max(Message.id)).where(Message.conversation_id == conversation_id))
    if newest is None:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ConversationRead).values(conversation_id=conversation_id, user_id=user_id,
                                           read_message_id=newest, read_at=now)
    larger = func.greatest if insert is pg_insert else func.max  # SQLite's max() of two values
    session.execute(stmt.on_conflict_do_update(
        index_elements=["conversation_id", "user_id"],
        set_={"read_message_id": larger(ConversationRead.read_message_id, stmt.excluded.read_message_id),
              "read_at": now}))


def report_conversation(session, conversation: Conversation, by: Party, reason: str, *,
                        user_id: int | None = None, now: datetime | None = None) -> AbuseReport:
    """A party reports abuse: from now on staff may read the conversation (each read logged)."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolations({"reason": [_("Say what is wrong.")]})
    if len(reason) > 2000:
        raise RuleViolations({"reason": [_("At most %(max)s characters.", max=2000)]})
    report = AbuseReport(conversation_id=conversation.id, reported_by=by, reporter_user_id=user_id,
                         reason=reason, created_at=now or utcnow())
    session.add(report)
    session.flush()
    return report


def reported_conversations(session) -> list:
    """Staff's list: reported conversations, newest report first (no message text)."""
    newest = func.max(AbuseReport.created_at).label("reported_at")
    return session.execute(
        select(Conversation.id, Conversation.contact_name, Partner.subdomain, newest,
               func.count(AbuseReport.id).label("reports"))
        .join(AbuseReport, AbuseReport.conversation_id == Conversation.id)
        .join(Partner, Partner.id == Conversation.partner_id)
        .group_by(Conversation.id, Conversation.contact_name, Partner.subdomain)
        .order_by(newest.desc())).all()


def read_as_staff(session, conversation_id: int, user_id: int, *,
                  now: datetime | None = None) -> tuple[Conversation, list[AbuseReport]]:
    """A reported conversation for staff, and the read logged; unreported ones are not found."""
    reports = session.scalars(select(AbuseReport).where(AbuseReport.conversation_id == conversation_id)
                              .order_by(AbuseReport.id)).all()
    if not reports:
        raise NotFound("conversation_not_found", _("There is no such reported conversation."))
    session.add(StaffRead(conversation_id=conversation_id, user_id=user_id, read_at=now or utcnow()))
    session.flush()
    return session.get(Conversation, conversation_id), reports


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
