"""A partner's conversation list: per-member unread markers, filters by tag and unread, and
search by contact name, store name, store URL and message text.

Search: on PostgreSQL the message text by German full text (`to_tsvector('german', body)`,
stemmed; the last word as a prefix, since German compounds are not split) and the names by
substring through a trigram index; on SQLite both by substring through FTS5 tables with the
trigram tokenizer (no German stemming there), the input quoted as one phrase. Input shorter
than three characters, and words found in very many messages, are checked with LIKE on the
listed conversations instead (`COMMON_MATCHES`). The user's text only ever travels as a bound value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, or_, select, text
from sqlalchemy.orm import aliased

from ..errors import NotFound
from ..models import (
    Conversation,
    ConversationRead,
    ConversationTag,
    ConversationTagging,
    Message,
    PartnerProfile,
    Party,
    Service,
)
from ..models.conversations import NAMES_EXPRESSION
from .directory import findable_condition

PAGE = 50


@dataclass(frozen=True)
class Listed:
    id: int
    contact_name: str
    store_name: str | None
    store_url: str | None
    last_message_at: datetime
    last_message_by: Party
    declined: bool
    unread: bool
    tags: tuple[str, ...]


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _postgres_search(value: str):
    # A subquery, so that the trigram index finds the names once (unqualified columns are the
    # inner `named` row's) instead of a pattern match on every conversation the list passes.
    names = text(f"conversation.id IN (SELECT named.id FROM conversation AS named WHERE {NAMES_EXPRESSION} "
                 "ILIKE :names_like ESCAPE '\\')").bindparams(names_like=_like(value))
    words = re.findall(r"\w+", value)
    if not words:
        return names, {}
    query = " & ".join([*words[:-1], words[-1] + ":*"])
    # Not joined to the partner's conversations: the outer query keeps to those already.
    matching = select(Message.conversation_id).where(
        text("to_tsvector('german', message.body) @@ to_tsquery('german', :words)").bindparams(words=query))
    return or_(names, Conversation.id.in_(matching)), {}


# A word found in at least this many messages is "common": checking the messages of each
# listed conversation (newest first, until the page is full) is then cheaper than collecting
# every match first.
COMMON_MATCHES = 1000


def _sqlite_search(session, value: str):
    like = _like(value)
    names_like = text(f"{NAMES_EXPRESSION} LIKE :names_like ESCAPE '\\'").bindparams(names_like=like)
    body_like = exists().where(Message.conversation_id == Conversation.id,
                               Message.body.like(like, escape="\\"))
    if len(value) < 3:  # the trigram index cannot answer shorter input
        return or_(names_like, body_like), {}
    phrase = '"' + value.replace('"', '""') + '"'
    matches = session.scalar(text("SELECT count(*) FROM (SELECT 1 FROM message_fts WHERE message_fts MATCH "
                                  ":phrase LIMIT :probe)"), {"phrase": phrase, "probe": COMMON_MATCHES})
    if matches >= COMMON_MATCHES:
        return or_(names_like, body_like), {}
    names = text("conversation.id IN "
                 "(SELECT rowid FROM conversation_fts WHERE conversation_fts MATCH :phrase)")
    bodies = select(Message.conversation_id).where(
        text("message.id IN (SELECT rowid FROM message_fts WHERE message_fts MATCH :phrase)"))
    return or_(names, Conversation.id.in_(bodies)), {"phrase": phrase}


def search_condition(session, value: str):
    """(WHERE condition on `Conversation`, bound values) for a search text (stripped, not empty)."""
    if session.get_bind().dialect.name == "postgresql":
        return _postgres_search(value)
    return _sqlite_search(session, value)


def unread_for(read):
    return and_(
        Conversation.last_customer_message_id.is_not(None),
        or_(read.read_message_id.is_(None), read.read_message_id < Conversation.last_customer_message_id),
    )


def conversations(
    session,
    partner_id: int,
    user_id: int,
    *,
    tag_id: int | None = None,
    unread: bool = False,
    search: str = "",
    limit: int = PAGE,
    offset: int = 0,
) -> list[Listed]:
    """The partner's conversations, newest message first, as this team member sees them."""
    read = aliased(ConversationRead)
    unread_expr = unread_for(read)
    stmt = (
        select(
            Conversation.id,
            Conversation.contact_name,
            Conversation.store_name,
            Conversation.store_url,
            Conversation.last_message_at,
            Conversation.last_message_by,
            Conversation.declined_at,
            unread_expr.label("unread"),
        )
        .outerjoin(read, and_(read.conversation_id == Conversation.id, read.user_id == user_id))
        .where(Conversation.partner_id == partner_id)
    )
    if tag_id is not None:
        stmt = stmt.where(
            exists().where(
                ConversationTagging.conversation_id == Conversation.id, ConversationTagging.tag_id == tag_id
            )
        )
    if unread:
        stmt = stmt.where(unread_expr)
    params = {}
    search = (search or "").strip()
    if search:
        condition, params = search_condition(session, search)
        stmt = stmt.where(condition)
    stmt = (
        stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(limit).offset(offset)
    )
    rows = session.execute(stmt, params).all()
    tags: dict[int, list[str]] = {}
    if rows:
        for cid, name in session.execute(
            select(ConversationTagging.conversation_id, ConversationTag.name)
            .join(ConversationTag, ConversationTag.id == ConversationTagging.tag_id)
            .where(ConversationTagging.conversation_id.in_([r.id for r in rows]))
            .order_by(ConversationTag.name)
        ):
            tags.setdefault(cid, []).append(name)
    return [
        Listed(
            r.id,
            r.contact_name,
            r.store_name,
            r.store_url,
            r.last_message_at,
            r.last_message_by,
            r.declined_at is not None,
            bool(r.unread),
            tuple(tags.get(r.id, ())),
        )
        for r in rows
    ]


def unread_count(session, partner_id: int, user_id: int) -> int:
    read = aliased(ConversationRead)
    return session.scalar(
        select(func.count())
        .select_from(Conversation)
        .outerjoin(read, and_(read.conversation_id == Conversation.id, read.user_id == user_id))
        .where(Conversation.partner_id == partner_id, unread_for(read))
    )


@dataclass(frozen=True)
class CustomerListed:
    id: int
    partner_name: str
    last_message_at: datetime
    last_message_by: Party
    declined: bool


def customer_conversations(session, customer_id: int) -> list[CustomerListed]:
    """The customer's own conversations, newest message first."""
    rows = session.execute(
        select(Conversation.id, PartnerProfile.display_name, Conversation.last_message_at,
               Conversation.last_message_by, Conversation.declined_at)
        .outerjoin(PartnerProfile, PartnerProfile.partner_id == Conversation.partner_id)
        .where(Conversation.customer_id == customer_id)
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())).all()
    return [CustomerListed(r.id, r.display_name or "", r.last_message_at, r.last_message_by,
                           r.declined_at is not None) for r in rows]


def partner_name(session, partner_id: int) -> str:
    name = select(PartnerProfile.display_name).where(PartnerProfile.partner_id == partner_id)
    return session.scalar(name) or ""


@dataclass(frozen=True)
class Contactable:
    id: int
    name: str
    services: list[tuple[int, str]]


def contactable_partner(session, partner_id: int) -> Contactable:
    """A partner a customer may write to (findable), with its active services to choose from."""
    profile = session.scalar(select(PartnerProfile).where(PartnerProfile.partner_id == partner_id,
                                                          findable_condition()))
    if profile is None:
        raise NotFound("partner_not_found", _("This partner cannot be contacted."))
    services = session.execute(select(Service.id, Service.title).where(
        Service.partner_id == partner_id, Service.active.is_(True)).order_by(Service.title)).all()
    return Contactable(partner_id, profile.display_name, [(s.id, s.title) for s in services])
