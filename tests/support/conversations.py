"""Builders for conversations: one with a message, a stored file and a tag, written directly
(no findable profile needed), for the isolation walks."""

from __future__ import annotations

from backoffice import transaction
from backoffice.extensions import db
from backoffice.models import Conversation, ConversationTag, ConversationTagging, Message, Party
from backoffice.services import message_files


def conversation_with_file(
    partner_id: int, customer_id: int, *, contact: str, body: str, file_name: str = "geheim.pdf"
) -> dict[str, int]:
    """Ids of the new conversation, its file and its tag."""
    with transaction.unit_of_work() as session:
        conversation = Conversation(
            partner_id=partner_id,
            customer_id=customer_id,
            requirements=body,
            contact_name=contact,
            last_message_by=Party.customer,
        )
        session.add(conversation)
        session.flush()
        message = Message(conversation_id=conversation.id, sender=Party.customer, body=body)
        session.add(message)
        session.flush()
        conversation.last_customer_message_id = message.id
        [file] = message_files.store(
            session,
            message.id,
            [message_files.Checked(file_name, b"%PDF-1.4 " + body.encode(), "application/pdf")],
        )
        tag = ConversationTag(partner_id=partner_id, name=f"Tag {contact}")
        session.add(tag)
        session.flush()
        session.add(ConversationTagging(conversation_id=conversation.id, tag_id=tag.id))
        ids = {"conversation": conversation.id, "file": file.id, "tag": tag.id}
    db.session.expire_all()
    return ids
