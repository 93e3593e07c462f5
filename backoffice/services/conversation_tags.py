"""Tags shared by a partner's team: create, rename (a tag is referenced, so every conversation
shows the new name), delete (removed from every conversation), apply several, remove one."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, exists, func, select

from ..errors import NotFound, RuleViolations
from ..models import Conversation, ConversationTag, ConversationTagging

NAME_MAX = 60


def tags_of(session, partner_id: int) -> list[ConversationTag]:
    return session.scalars(
        select(ConversationTag)
        .where(ConversationTag.partner_id == partner_id)
        .order_by(func.lower(ConversationTag.name))
    ).all()


def tags_on(session, conversation_id: int) -> list[ConversationTag]:
    return session.scalars(
        select(ConversationTag)
        .join(ConversationTagging, ConversationTagging.tag_id == ConversationTag.id)
        .where(ConversationTagging.conversation_id == conversation_id)
        .order_by(func.lower(ConversationTag.name))
    ).all()


def _tag(session, partner_id: int, tag_id: int) -> ConversationTag:
    tag = session.scalar(
        select(ConversationTag).where(ConversationTag.id == tag_id, ConversationTag.partner_id == partner_id)
    )
    if tag is None:
        raise NotFound("tag_not_found", _("There is no such tag."))
    return tag


def _name(session, partner_id: int, name: str, keep_id: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise RuleViolations({"name": [_("Give the tag a name.")]})
    if len(name) > NAME_MAX:
        raise RuleViolations({"name": [_("At most %(max)s characters.", max=NAME_MAX)]})
    clash = select(ConversationTag.id).where(
        ConversationTag.partner_id == partner_id, func.lower(ConversationTag.name) == name.lower()
    )
    if keep_id is not None:
        clash = clash.where(ConversationTag.id != keep_id)
    if session.scalar(select(exists(clash))):
        raise RuleViolations({"name": [_("Your team has a tag of this name.")]})
    return name


def create_tag(session, partner_id: int, name: str) -> ConversationTag:
    tag = ConversationTag(partner_id=partner_id, name=_name(session, partner_id, name))
    session.add(tag)
    session.flush()
    return tag


def rename_tag(session, partner_id: int, tag_id: int, name: str) -> ConversationTag:
    tag = _tag(session, partner_id, tag_id)
    tag.name = _name(session, partner_id, name, keep_id=tag.id)
    session.flush()
    return tag


def delete_tag(session, partner_id: int, tag_id: int) -> int:
    """Delete the tag; the number of conversations it was removed from."""
    tag = _tag(session, partner_id, tag_id)
    removed = session.execute(
        delete(ConversationTagging).where(ConversationTagging.tag_id == tag.id)
    ).rowcount
    session.delete(tag)
    session.flush()
    return removed


def apply_tags(session, partner_id: int, conversation_id: int, tag_ids: list[int]) -> int:
    """Put the team's tags on one of its conversations; the number newly applied."""
    if not session.scalar(
        select(exists().where(Conversation.id == conversation_id, Conversation.partner_id == partner_id))
    ):
        raise NotFound("conversation_not_found", _("There is no such conversation."))
    wanted = {_tag(session, partner_id, tag_id).id for tag_id in tag_ids}
    present = set(
        session.scalars(
            select(ConversationTagging.tag_id).where(ConversationTagging.conversation_id == conversation_id)
        )
    )
    for tag_id in sorted(wanted - present):
        session.add(ConversationTagging(conversation_id=conversation_id, tag_id=tag_id))
    session.flush()
    return len(wanted - present)


def remove_tag(session, partner_id: int, conversation_id: int, tag_id: int) -> bool:
    tag = _tag(session, partner_id, tag_id)
    return bool(
        session.execute(
            delete(ConversationTagging).where(
                ConversationTagging.conversation_id == conversation_id, ConversationTagging.tag_id == tag.id
            )
        ).rowcount
    )
