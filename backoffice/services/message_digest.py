"""The hourly digest: unread customer messages of the last hour, one mail per partner, never
twice for the same messages.

Three steps, each its own transaction (the task keeps each):

1. `release_stale`: claims older than `MESSAGE_DIGEST_CLAIM_SECONDS` that were never stamped
   (their run died between claiming and queueing) are given up, so a later run takes them.
2. `claim`: one guarded UPDATE … RETURNING marks the pending messages with this run's token
   and gives their ids and conversations. A second run at the same time waits for the
   first's row locks and then finds them claimed; SQLite has one writer anyway.
3. `batches` groups the claimed ids by partner (the conversations' partners read in a few
   statements); `send_batch`, per batch of partners: one UPDATE … RETURNING stamps the
   batch's messages that this run still holds and returns their text, and the mails (with
   a Message-ID fixed by partner and hour) are queued in the same transaction: a mail is
   queued exactly when its messages are stamped. Every statement after the claim addresses
   messages by primary key (see `_held_by`): looking them up by token would walk the token
   index's entries of every earlier stamped row version on PostgreSQL, once per batch. The outbox
   sends the mails; a resend after a crash keeps the Message-ID, which receivers treat as
   a duplicate.

Pending: from the customer, not the first message (the first-contact mail announced it),
created before the current hour and at most `LOOKBACK` before it (a missed run is caught up),
and unread: no member of the team has read the conversation up to it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, func, select, update

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


def claim(session, token: str, now: datetime | None = None) -> list[tuple[int, int]]:
    """Mark this run's messages in one guarded UPDATE; (message id, conversation id) of each
    message claimed. Later steps address them by primary key, never by the token alone."""
    now = now or utcnow()
    hour = hour_of(now)
    rows = session.execute(
        update(Message).where(Message.digested_at.is_(None), Message.digest_claim.is_(None),
                              Message.sender == Party.customer, Message.created_at < hour,
                              Message.created_at >= hour - LOOKBACK, unread_condition())
        .values(digest_claim=token, digest_claimed_at=now)
        .returning(Message.id, Message.conversation_id)
        .execution_options(synchronize_session=False)).all()
    return [(row.id, row.conversation_id) for row in rows]


@dataclass(frozen=True)
class Item:
    conversation_id: int
    contact: str
    count: int
    excerpt: str


@dataclass(frozen=True)
class Batch:
    """Up to `partners` partners' claimed messages: their ids, and of each conversation its
    partner and contact name."""
    message_ids: list[int]
    conversations: dict[int, tuple[int, str]]


def _excerpt(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def _chunks(values: list, size: int):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def batches(session, claimed: list[tuple[int, int]], *, partners: int = 500,
            read: int = 5000) -> list[Batch]:
    """The claimed messages grouped by partner (ordered by partner id), `partners` to a batch.
    Reads the conversations' partners and contact names `read` at a time."""
    conversation_ids = sorted({cid for _, cid in claimed})
    owner: dict[int, tuple[int, str]] = {}
    for ids in _chunks(conversation_ids, read):
        for row in session.execute(select(Conversation.id, Conversation.partner_id, Conversation.contact_name)
                                   .where(Conversation.id.in_(ids))):
            owner[row.id] = (row.partner_id, row.contact_name)
    per_partner: dict[int, list[int]] = {}
    for mid, cid in claimed:
        per_partner.setdefault(owner[cid][0], []).append(mid)
    conversations_of: dict[int, dict[int, tuple[int, str]]] = {}
    for cid, (pid, contact) in owner.items():
        conversations_of.setdefault(pid, {})[cid] = (pid, contact)
    return [Batch(sorted(mid for pid in pids for mid in per_partner[pid]),
                  {cid: value for pid in pids for cid, value in conversations_of[pid].items()})
            for pids in _chunks(sorted(per_partner), partners)]


def _held_by(token: str):
    """The claim test of the stamp, written so that it cannot use `ix_message_digest`: the
    statistics (gathered while no message was claimed) make PostgreSQL estimate a token to
    match no row and walk that index, through every dead version of the rows claimed and
    stamped before, instead of looking the ids up by primary key."""
    return func.coalesce(Message.digest_claim, "") == token


def send_batch(session, token: str, batch: Batch, now: datetime | None = None, *,
               link: str | None = None) -> int:
    """Stamp the batch's messages that this run still holds (one UPDATE … RETURNING, which
    also reads their text) and queue one mail per partner, in the caller's transaction: a mail
    is queued exactly when its messages are stamped. Messages whose claim was released and
    taken by another run meanwhile are left to that run. The number of mails queued."""
    now = now or utcnow()
    hour = hour_of(now)
    per_partner: dict[int, dict[int, list]] = {}
    for ids in _chunks(batch.message_ids, 5000):
        rows = session.execute(
            update(Message).where(Message.id.in_(ids), _held_by(token), Message.digested_at.is_(None))
            .values(digested_at=now).returning(Message.id, Message.conversation_id, Message.body)
            .execution_options(synchronize_session=False)).all()
        for row in rows:
            partner_id = batch.conversations[row.conversation_id][0]
            per_partner.setdefault(partner_id, {}).setdefault(row.conversation_id, []).append(row)
    if not per_partner:
        return 0
    taken = set(session.scalars(select(OutboxMail.message_id).where(OutboxMail.message_id.in_(
        [digest_message_id(pid, hour) for pid in per_partner]))))
    addresses = notification_addresses(session, per_partner)
    queued = []
    for partner_id, conversations in sorted(per_partner.items()):
        recipient, language = addresses[partner_id]
        if not recipient:
            continue
        for rows in conversations.values():
            rows.sort(key=lambda row: row.id)
        items = [Item(cid, batch.conversations[cid][1], len(rows), _excerpt(rows[-1].body))
                 for cid, rows in sorted(conversations.items())]
        first = min(row.id for rows in conversations.values() for row in rows)
        fixed = digest_message_id(partner_id, hour)
        if fixed in taken:  # this hour's digest went out already: these came in late
            fixed = digest_message_id(partner_id, hour, f"-{first}")
        count = sum(len(rows) for rows in conversations.values())
        queued.append((recipient, language, {"items": items, "count": count, "link": link}, fixed))
    sent = mail.queue_mails(session, "conversation_digest", queued)
    session.flush()
    return sent
