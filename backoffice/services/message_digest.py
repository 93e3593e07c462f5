"""The hourly digest: unread customer messages of the last hour, one mail per partner, never
twice for the same messages.

Three steps, each its own transaction (the task keeps each):

1. `release_stale`: claims older than `MESSAGE_DIGEST_CLAIM_SECONDS` that were never stamped
   (their run died between claiming and queueing) are given up, so a later run takes them.
2. `claim`: one guarded UPDATE marks the pending messages with this run's token. A second run
   at the same time waits for the first's row locks and then finds them claimed; SQLite has
   one writer anyway.
3. `send_claimed`: per partner, queue the mail in the outbox with a Message-ID fixed by
   partner and hour, and stamp the messages, in the same transaction: a mail is queued
   exactly when its messages are stamped. The outbox sends it; a resend after a crash keeps
   the Message-ID, which receivers treat as a duplicate.

Pending: from the customer, not the first message (the first-contact mail announced it),
created before the current hour and at most `LOOKBACK` before it (a missed run is caught up),
and unread: no member of the team has read the conversation up to it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, select, update

from ..models import Conversation, ConversationRead, Message, OutboxMail, Party
from ..models.types import utcnow
from . import mail
from .conversations import notification_addresses

LOOKBACK = timedelta(hours=24)
EXCERPT = 140


def hour_of(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def digest_message_id(partner_id: int, hour: datetime, suffix: str = "") -> str:
    domain = current_app.config.get("MAIL_MESSAGE_ID_DOMAIN") or "partnerdesk.local"
    return f"<digest-{partner_id}-{hour:%Y%m%d%H}{suffix}@{domain}>"


def new_token() -> str:
    return uuid.uuid4().hex


def release_stale(session, now: datetime | None = None) -> int:
    now = now or utcnow()
    limit = now - timedelta(seconds=current_app.config.get("MESSAGE_DIGEST_CLAIM_SECONDS", 3600))
    return session.execute(
        update(Message).where(Message.digested_at.is_(None), Message.digest_claim.is_not(None),
                              Message.digest_claimed_at < limit)
        .values(digest_claim=None, digest_claimed_at=None)
        .execution_options(synchronize_session=False)).rowcount


def unread_condition():
    return ~exists().where(ConversationRead.conversation_id == Message.conversation_id,
                           ConversationRead.read_message_id >= Message.id)


def claim(session, token: str, now: datetime | None = None) -> int:
    """Mark this run's messages; the number claimed."""
    now = now or utcnow()
    hour = hour_of(now)
    return session.execute(
        update(Message).where(Message.digested_at.is_(None), Message.digest_claim.is_(None),
                              Message.sender == Party.customer, Message.created_at < hour,
                              Message.created_at >= hour - LOOKBACK, unread_condition())
        .values(digest_claim=token, digest_claimed_at=now)
        .execution_options(synchronize_session=False)).rowcount


@dataclass(frozen=True)
class Item:
    conversation_id: int
    contact: str
    count: int
    excerpt: str


def _excerpt(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def send_claimed(session, token: str, now: datetime | None = None, *, link: str | None = None,
                 partners: int = 500) -> tuple[int, int]:
    """Queue the mails of up to `partners` partners of this claim and stamp their messages;
    (partners done, mails queued): no partners done means nothing of this claim is left."""
    now = now or utcnow()
    hour = hour_of(now)
    partner_ids = session.scalars(
        select(Conversation.partner_id).join(Message, Message.conversation_id == Conversation.id)
        .where(Message.digest_claim == token, Message.digested_at.is_(None))
        .group_by(Conversation.partner_id).order_by(Conversation.partner_id).limit(partners)).all()
    if not partner_ids:
        return 0, 0
    rows = session.execute(
        select(Conversation.partner_id, Conversation.id, Conversation.contact_name, Message.id.label("mid"),
               Message.body)
        .join(Message, Message.conversation_id == Conversation.id)
        .where(Message.digest_claim == token, Message.digested_at.is_(None),
               Conversation.partner_id.in_(partner_ids))
        .order_by(Conversation.partner_id, Conversation.id, Message.id)).all()
    per_partner: dict[int, dict[int, list]] = {}
    for row in rows:
        per_partner.setdefault(row.partner_id, {}).setdefault(row.id, []).append(row)
    taken = set(session.scalars(select(OutboxMail.message_id).where(OutboxMail.message_id.in_(
        [digest_message_id(pid, hour) for pid in per_partner])))) if per_partner else set()
    addresses = notification_addresses(session, per_partner)
    sent = 0
    for partner_id, conversations in per_partner.items():
        recipient, language = addresses[partner_id]
        message_ids = [m.mid for messages in conversations.values() for m in messages]
        if recipient:
            items = [Item(cid, messages[0].contact_name, len(messages), _excerpt(messages[-1].body))
                     for cid, messages in conversations.items()]
            fixed = digest_message_id(partner_id, hour)
            if fixed in taken:  # this hour's digest went out already: these came in late
                fixed = digest_message_id(partner_id, hour, f"-{message_ids[0]}")
            mail.queue_mail(session, "conversation_digest", recipient, language,
                            {"items": items, "count": len(message_ids), "link": link}, message_id=fixed)
            sent += 1
    # One stamp for the chunk, in the transaction that queued its mails.
    session.execute(update(Message).where(
        Message.digest_claim == token, Message.digested_at.is_(None),
        Message.conversation_id.in_(select(Conversation.id).where(Conversation.partner_id.in_(partner_ids))))
        .values(digested_at=now).execution_options(synchronize_session=False))
    session.flush()
    return len(partner_ids), sent


