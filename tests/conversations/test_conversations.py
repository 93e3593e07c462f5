"""Conversations as services: who may start one, who may write, and what a block ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.errors import Forbidden, NotFound, RuleViolations
from backoffice.models import AddressType, Conversation, CustomerBlock, Message, Party
from backoffice.services import conversations
from tests.support.directory import category, published_partner

NOW = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


@pytest.fixture
def shop(ctx, make):
    design = category("Design", "Design")
    schulz = published_partner(make, "schulz", design)
    hidden = published_partner(make, "hidden", design, published=False)
    customer = make.address(type=AddressType.customer, last_name="Kunde")
    return schulz, hidden, customer


def start(ctx, partner_id, customer_id, **values):
    values.setdefault("requirements", "Ein Logo für meinen Laden")
    values.setdefault("body", "Hallo, haben Sie nächste Woche Zeit?")
    with transaction.unit_of_work(ctx):
        return conversations.start_conversation(ctx, customer_id, partner_id, now=NOW, **values)


def test_a_customer_starts_a_conversation_and_the_partner_answers(ctx, shop):
    schulz, _, customer = shop
    posted = start(ctx, schulz.id, customer.id, store_name="Ladenglück", store_url="https://laden.example")
    conversation = ctx.get(Conversation, posted.conversation_id)
    assert (conversation.partner_id, conversation.customer_id, conversation.store_name) == (
        schulz.id, customer.id, "Ladenglück")
    assert conversation.last_message_by is Party.customer
    later = NOW + timedelta(minutes=5)
    with transaction.unit_of_work(ctx):
        conversations.post_message(ctx, conversation, Party.partner, "Ja, gern.",
                                   author_user_id=schulz.user_id, now=later)
    ctx.expire_all()
    conversation = ctx.get(Conversation, posted.conversation_id)
    assert [(m.sender, m.body) for m in conversation.messages] == [
        (Party.customer, "Hallo, haben Sie nächste Woche Zeit?"), (Party.partner, "Ja, gern.")]
    assert (conversation.last_message_by, conversation.last_message_at) == (Party.partner, later)


def test_only_findable_partners_can_be_contacted_and_the_first_message_needs_content(ctx, shop):
    _, hidden, customer = shop
    with pytest.raises(NotFound) as refused:
        start(ctx, hidden.id, customer.id)
    assert refused.value.message == "Dieser Partner kann nicht kontaktiert werden."
    schulz = shop[0]
    with pytest.raises(RuleViolations) as invalid:
        start(ctx, schulz.id, customer.id, requirements=" ", body="")
    assert invalid.value.errors == {"requirements": ["Beschreiben Sie, was zu tun ist."],
                                    "body": ["Schreiben Sie eine Nachricht."]}
    assert ctx.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


def test_a_blocked_customer_can_no_longer_write_and_blocking_twice_changes_nothing(ctx, shop):
    schulz, _, customer = shop
    posted = start(ctx, schulz.id, customer.id)
    with transaction.unit_of_work(ctx):
        assert conversations.block_customer(ctx, schulz.id, customer.id, user_id=schulz.user_id,
                                            reason="Beleidigend", now=NOW) is True
    with transaction.unit_of_work(ctx):
        assert conversations.block_customer(ctx, schulz.id, customer.id, user_id=schulz.user_id,
                                            now=NOW) is False
    assert ctx.scalar(sa.select(sa.func.count()).select_from(CustomerBlock)) == 1
    conversation = ctx.get(Conversation, posted.conversation_id)
    with pytest.raises(Forbidden) as refused:
        conversations.post_message(ctx, conversation, Party.customer, "Hallo?")
    assert refused.value.message == "Dieser Partner nimmt keine Nachrichten von Ihnen an."
    with pytest.raises(Forbidden):
        start(ctx, schulz.id, customer.id)
    with transaction.unit_of_work(ctx):
        conversations.post_message(ctx, conversation, Party.partner, "Wir beenden die Zusammenarbeit.")


def test_a_conversation_is_found_only_for_its_own_partner_or_customer(ctx, shop, make):
    schulz, _, customer = shop
    other_customer = make.address(type=AddressType.customer, last_name="Fremd")
    posted = start(ctx, schulz.id, customer.id)
    own = conversations.conversation_of(ctx, posted.conversation_id, partner_id=schulz.id)
    assert own.id == posted.conversation_id
    with pytest.raises(NotFound):
        conversations.conversation_of(ctx, posted.conversation_id, customer_id=other_customer.id)
    with pytest.raises(NotFound):
        conversations.conversation_of(ctx, posted.conversation_id, partner_id=schulz.id + 1)
