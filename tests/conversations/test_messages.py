"""Messages as services: unread per member, tags, search, decline, files, mails, digest, reports."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.errors import Conflict, NotFound, RuleViolations
from backoffice.models import (
    AddressType,
    Conversation,
    ConversationTagging,
    Message,
    MessageFile,
    OutboxMail,
    Party,
    StaffRead,
)
from backoffice.services import conversation_inbox as inbox
from backoffice.services import conversation_tags as tags
from backoffice.services import conversations, message_digest, message_files
from backoffice.services.message_files import Upload
from backoffice.tasks.messages import run_digest
from tests.support.directory import category, published_partner

NOW = datetime(2026, 11, 3, 10, 20, tzinfo=UTC)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a5c40000000049454e44ae426082"
)
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 48
    + b"PE\x00\x00"
    + b"\x00" * 200
)


@pytest.fixture
def team(ctx, make):
    design = category("Design", "Design")
    schulz = published_partner(make, "schulz", design)
    schulz.notification_email = "anfragen@schulz.example"
    ctx.commit()
    colleague = make.team_member(schulz, "kollegin")
    other = published_partner(make, "fremd", design)
    anna = make.address(type=AddressType.customer, first_name="Anna", last_name="Becker")
    bernd = make.address(type=AddressType.customer, first_name="Bernd", last_name="Vogel")
    return schulz, colleague, other, anna, bernd


def start(ctx, partner, customer, body="Hallo, ich brauche Hilfe.", now=NOW, **values):
    values.setdefault("requirements", "Ein neues Logo")
    with transaction.unit_of_work(ctx):
        posted = conversations.start_conversation(ctx, customer.id, partner.id, body=body, now=now, **values)
    return ctx.get(Conversation, posted.conversation_id)


def write(ctx, conversation, sender, body, now, user_id=None, files=()):
    with transaction.unit_of_work(ctx):
        return conversations.post_message(
            ctx, conversation, sender, body, author_user_id=user_id, now=now, files=files
        )


def listed(ctx, partner, user_id, **filters):
    return [
        (row.contact_name, row.unread, row.tags)
        for row in inbox.conversations(ctx, partner.id, user_id, **filters)
    ]


def test_unread_is_per_team_member_and_reading_marks_it_for_that_member_only(ctx, team):
    schulz, colleague, _, anna, bernd = team
    first = start(ctx, schulz, anna)
    start(ctx, schulz, bernd, now=NOW + timedelta(minutes=1))
    assert listed(ctx, schulz, schulz.user_id) == [("Bernd Vogel", True, ()), ("Anna Becker", True, ())]
    with transaction.unit_of_work(ctx):
        conversations.mark_read(ctx, first.id, colleague.id)
    assert listed(ctx, schulz, colleague.id, unread=True) == [("Bernd Vogel", True, ())]
    assert listed(ctx, schulz, schulz.user_id, unread=True) == [
        ("Bernd Vogel", True, ()),
        ("Anna Becker", True, ()),
    ]
    # The colleague answers: read for her; the customer writes again: unread for her again.
    write(ctx, first, Party.partner, "Gern.", NOW + timedelta(minutes=2), user_id=colleague.id)
    assert inbox.unread_count(ctx, schulz.id, colleague.id) == 1
    write(ctx, first, Party.customer, "Danke!", NOW + timedelta(minutes=3))
    assert listed(ctx, schulz, colleague.id, unread=True) == [
        ("Anna Becker", True, ()),
        ("Bernd Vogel", True, ()),
    ]


def test_team_tags_are_applied_renamed_everywhere_filtered_and_deleted_everywhere(ctx, team):
    schulz, colleague, other, anna, bernd = team
    first, second = start(ctx, schulz, anna), start(ctx, schulz, bernd, now=NOW + timedelta(minutes=1))
    with transaction.unit_of_work(ctx):
        urgent = tags.create_tag(ctx, schulz.id, "Eilig")
        shop = tags.create_tag(ctx, schulz.id, "Shopify")
        foreign = tags.create_tag(ctx, other.id, "Eilig")
    with pytest.raises(RuleViolations) as clash:
        tags.create_tag(ctx, schulz.id, " eilig ")
    assert clash.value.errors == {"name": ["Ihr Team hat schon ein Schlagwort mit diesem Namen."]}
    ctx.rollback()
    with transaction.unit_of_work(ctx):
        assert tags.apply_tags(ctx, schulz.id, first.id, [urgent.id, shop.id]) == 2
        assert tags.apply_tags(ctx, schulz.id, second.id, [shop.id]) == 1
        assert tags.apply_tags(ctx, schulz.id, first.id, [urgent.id]) == 0
    with pytest.raises(NotFound):
        tags.apply_tags(ctx, schulz.id, first.id, [foreign.id])
    ctx.rollback()
    with transaction.unit_of_work(ctx):
        tags.rename_tag(ctx, schulz.id, shop.id, "Shop")
    assert listed(ctx, schulz, colleague.id, tag_id=urgent.id) == [("Anna Becker", True, ("Eilig", "Shop"))]
    assert listed(ctx, schulz, colleague.id, tag_id=shop.id) == [
        ("Bernd Vogel", True, ("Shop",)),
        ("Anna Becker", True, ("Eilig", "Shop")),
    ]
    with transaction.unit_of_work(ctx):
        assert tags.remove_tag(ctx, schulz.id, first.id, shop.id) is True
        assert tags.delete_tag(ctx, schulz.id, urgent.id) == 1
    assert listed(ctx, schulz, colleague.id) == [("Bernd Vogel", True, ("Shop",)), ("Anna Becker", True, ())]
    assert ctx.scalar(sa.select(sa.func.count()).select_from(ConversationTagging)) == 1
    assert [t.name for t in tags.tags_of(ctx, schulz.id)] == ["Shop"]


@pytest.mark.parametrize("common", [False, True], ids=["rare words", "common words"])
def test_search_finds_contact_store_name_url_and_message_text_of_the_own_conversations_only(
    ctx, team, database_url, monkeypatch, common
):
    if common:  # SQLite: every word counts as common, so the listed conversations are checked one by one
        monkeypatch.setattr(inbox, "COMMON_MATCHES", 1)
    schulz, colleague, other, anna, bernd = team
    start(ctx, schulz, anna, store_name="Ladenglück", store_url="https://kaffee-rösterei.example")
    second = start(ctx, schulz, bernd, body="Meine Rechnungen sind falsch.", now=NOW + timedelta(minutes=1))
    write(ctx, second, Party.customer, "Es geht um die Versandkosten.", NOW + timedelta(minutes=2))
    start(ctx, other, anna, body="Versandkosten auch hier", store_name="Ladenglück")

    def found(text):
        return [row.contact_name for row in inbox.conversations(ctx, schulz.id, colleague.id, search=text)]

    assert found("Becker") == ["Anna Becker"]
    assert found("ecke") == ["Anna Becker"]
    assert found("ladenglück") == ["Anna Becker"]
    assert found("rösterei") == ["Anna Becker"]
    assert found("Versandkosten") == ["Bernd Vogel"]
    assert found("Versandko") == ["Bernd Vogel"]
    assert found('"; DROP TABLE message; --') == []
    assert found("%") == []
    if database_url.startswith("postgresql"):
        assert found("Rechnung") == ["Bernd Vogel"]  # German stemming: Rechnungen → rechnung


def test_decline_sends_the_message_calls_the_followers_and_closes_the_conversation(ctx, team, monkeypatch):
    schulz, colleague, _, anna, _ = team
    conversation = start(ctx, schulz, anna)
    followed = []
    monkeypatch.setattr(
        conversations,
        "ON_DECLINE",
        [lambda session, c, by, reason, now: followed.append((c.id, by, reason, now))],
    )
    later = NOW + timedelta(hours=1)
    with transaction.unit_of_work(ctx):
        conversations.decline_conversation(
            ctx,
            conversation,
            Party.partner,
            "Dafür sind wir nicht die Richtigen.",
            author_user_id=colleague.id,
            now=later,
        )
    assert followed == [(conversation.id, Party.partner, "Dafür sind wir nicht die Richtigen.", later)]
    ctx.expire_all()
    conversation = ctx.get(Conversation, conversation.id)
    assert (conversation.declined_by, conversation.decline_reason, conversation.declined_at) == (
        Party.partner,
        "Dafür sind wir nicht die Richtigen.",
        later,
    )
    assert [m.body for m in conversation.messages][-1] == "Dafür sind wir nicht die Richtigen."
    with pytest.raises(Conflict) as refused:
        write(ctx, conversation, Party.customer, "Schade.", later)
    assert refused.value.message == "Diese Unterhaltung wurde abgelehnt."


def test_files_are_checked_by_content_stored_and_given_to_the_two_parties_only(ctx, team):
    schulz, _, other, anna, bernd = team
    conversation = start(ctx, schulz, anna, files=[Upload("Briefing.pdf", PDF), Upload("logo", PNG)])
    stored = conversation.messages[0].files
    assert [(f.file_name, f.content_type, f.size) for f in stored] == [
        ("Briefing.pdf", "application/pdf", len(PDF)),
        ("logo.png", "image/png", len(PNG)),
    ]
    row, path = message_files.file_for(ctx, stored[0].id, partner_id=schulz.id)
    assert path.read_bytes() == PDF
    assert message_files.file_for(ctx, stored[0].id, customer_id=anna.id)[0].id == row.id
    for scope in ({"partner_id": other.id}, {"customer_id": bernd.id}):
        with pytest.raises(NotFound):
            message_files.file_for(ctx, stored[0].id, **scope)
    with pytest.raises(RuleViolations) as refused:
        write(
            ctx, conversation, Party.customer, "Hier die Rechnung", NOW, files=[Upload("rechnung.pdf", EXE)]
        )
    assert refused.value.errors == {
        "files": [
            "rechnung.pdf kann nicht gesendet werden: nur PDF, Bilder (PNG, JPEG, GIF, WebP), Text, CSV, "
            "Word- und Excel-Dateien."
        ]
    }


def _stored_files():
    return sorted(p.name for p in message_files.folder().iterdir())


def test_a_message_whose_transaction_rolls_back_leaves_no_file_behind(ctx, team):
    schulz, _, _, anna, _ = team
    conversation = start(ctx, schulz, anna)
    before = _stored_files()
    with pytest.raises(RuntimeError), transaction.unit_of_work(ctx):
        conversations.post_message(
            ctx,
            conversation,
            Party.customer,
            "Anbei",
            now=NOW,
            files=[Upload("a.pdf", PDF), Upload("b.png", PNG)],
        )
        ctx.flush()
        assert len(_stored_files()) == len(before) + 2  # written before the commit
        raise RuntimeError("the request failed after storing")
    assert _stored_files() == before
    assert ctx.scalars(
        sa.select(Message.body).where(Message.conversation_id == conversation.id).order_by(Message.id)
    ).all() == ["Hallo, ich brauche Hilfe."]
    kept = write(ctx, conversation, Party.customer, "Nochmal", NOW, files=[Upload("a.pdf", PDF)])
    key = ctx.scalar(sa.select(MessageFile.storage_key).where(MessageFile.message_id == kept.message_id))
    assert _stored_files() == sorted([*before, key])


def test_the_sweep_deletes_only_unreferenced_files_older_than_an_hour(ctx, team):
    schulz, _, _, anna, _ = team
    conversation = start(ctx, schulz, anna, files=[Upload("a.pdf", PDF)])
    key = conversation.messages[0].files[0].storage_key
    target = message_files.folder()
    now = time.time()
    old, young = now - 3601, now - 3599
    for name, mtime in (("deadbeef" * 4, old), ("feedface" * 4, young), ("cafebabe" * 4 + ".part", old)):
        (target / name).write_bytes(b"x")
        os.utime(target / name, (mtime, mtime))
    os.utime(target / key, (old, old))
    before = _stored_files()
    assert message_files.sweep(ctx, now=now) == 2
    assert _stored_files() == sorted(set(before) - {"deadbeef" * 4, "cafebabe" * 4 + ".part"})
    assert key in _stored_files() and "feedface" * 4 in _stored_files()
    assert message_files.sweep(ctx, now=now) == 0


def test_the_first_contact_mails_the_partner_at_once_and_later_messages_wait_for_the_digest(ctx, team):
    schulz, _, _, anna, _ = team
    conversation = start(
        ctx, schulz, anna, store_name="Ladenglück", conversation_url="https://desk.example/c/"
    )
    write(ctx, conversation, Party.customer, "Noch eine Frage.", NOW + timedelta(minutes=1))
    mails = ctx.scalars(sa.select(OutboxMail)).all()
    assert [(m.kind, m.recipient, m.subject) for m in mails] == [
        ("conversation_first_contact", "anfragen@schulz.example", "Neue Nachricht von Anna Becker")
    ]
    assert "Shop: Ladenglück" in mails[0].body_text
    assert f"Antworten: https://desk.example/c/{conversation.id}" in mails[0].body_text


def _digests(ctx):
    return ctx.execute(
        sa.select(OutboxMail.recipient, OutboxMail.subject, OutboxMail.message_id)
        .where(OutboxMail.kind == "conversation_digest")
        .order_by(OutboxMail.id)
    ).all()


def test_the_digest_mails_unread_messages_once_and_leaves_read_ones_out(ctx, team):
    schulz, colleague, other, anna, bernd = team
    first = start(ctx, schulz, anna, now=NOW - timedelta(hours=1))
    second = start(ctx, schulz, bernd, now=NOW - timedelta(hours=1))
    foreign = start(ctx, other, anna, now=NOW - timedelta(hours=1))
    write(ctx, first, Party.customer, "Noch etwas", NOW)
    write(ctx, first, Party.customer, "Und noch etwas", NOW + timedelta(minutes=5))
    write(ctx, second, Party.customer, "Gelesen", NOW)
    write(ctx, foreign, Party.customer, "Andere Firma", NOW)
    with transaction.unit_of_work(ctx):
        conversations.mark_read(ctx, second.id, colleague.id)
    late = write(
        ctx, first, Party.customer, "Nach der vollen Stunde", NOW.replace(minute=0) + timedelta(hours=1)
    )
    run_at = NOW.replace(minute=5) + timedelta(hours=1)
    assert run_digest(ctx, now=run_at) == {"released": 0, "claimed": 3, "mails": 2}
    assert run_digest(ctx, now=run_at) == {"released": 0, "claimed": 0, "mails": 0}
    mails = _digests(ctx)
    assert sorted((m.recipient, m.subject) for m in mails) == sorted(
        [
            ("anfragen@schulz.example", "2 ungelesene Nachrichten in der letzten Stunde"),
            (other.user.email, "1 ungelesene Nachricht in der letzten Stunde"),  # the owner's login
        ]
    )
    assert f"<digest-{schulz.id}-2026110311@partnerdesk.local>" in [m.message_id for m in mails]
    assert ctx.get(Message, late.message_id).digested_at is None


def test_a_digest_that_died_after_claiming_is_released_later_and_sent_once(ctx, team):
    schulz, _, _, anna, _ = team
    conversation = start(ctx, schulz, anna, now=NOW - timedelta(hours=1))
    write(ctx, conversation, Party.customer, "Noch etwas", NOW)
    run_at = NOW + timedelta(hours=1)
    with transaction.unit_of_work(ctx):
        assert len(message_digest.claim(ctx, "dead-run", run_at)) == 1
    assert run_digest(ctx, now=run_at) == {"released": 0, "claimed": 0, "mails": 0}
    later = run_at + timedelta(hours=1, minutes=1)
    assert run_digest(ctx, now=later) == {"released": 1, "claimed": 1, "mails": 1}
    assert run_digest(ctx, now=later) == {"released": 0, "claimed": 0, "mails": 0}
    assert len(_digests(ctx)) == 1


def test_a_slow_digest_whose_claim_was_released_and_taken_over_stamps_and_sends_nothing(ctx, team):
    schulz, _, other, anna, bernd = team
    mine = start(ctx, schulz, anna, now=NOW - timedelta(hours=1))
    theirs = start(ctx, other, bernd, now=NOW - timedelta(hours=1))
    kept = write(ctx, mine, Party.customer, "Noch etwas", NOW)
    lost = write(ctx, theirs, Party.customer, "Auch noch", NOW)
    run_at = NOW + timedelta(hours=1)
    with transaction.unit_of_work(ctx):
        claimed = message_digest.claim(ctx, "slow-run", run_at)
    assert sorted(claimed) == [(kept.message_id, mine.id), (lost.message_id, theirs.id)]
    with transaction.unit_of_work(ctx):
        batches = message_digest.batches(ctx, claimed, partners=1)
    by_partner = sorted([(schulz.id, kept.message_id), (other.id, lost.message_id)])
    assert [b.message_ids for b in batches] == [[mid] for _, mid in by_partner]
    with transaction.unit_of_work(ctx):  # another run took this message over meanwhile
        ctx.execute(sa.update(Message).where(Message.id == lost.message_id).values(digest_claim="next-run"))
    sent = 0
    for batch in batches:
        with transaction.unit_of_work(ctx):
            sent += message_digest.send_batch(ctx, "slow-run", batch, run_at)
    assert sent == 1
    assert [m.recipient for m in _digests(ctx)] == ["anfragen@schulz.example"]
    ctx.expire_all()
    assert ctx.get(Message, kept.message_id).digested_at is not None
    assert ctx.get(Message, lost.message_id).digested_at is None


def test_staff_read_a_conversation_only_after_a_report_and_every_read_is_logged(ctx, team, make):
    schulz, colleague, _, anna, _ = team
    staff = make.user("staffer", "Staff")
    conversation = start(ctx, schulz, anna)
    with pytest.raises(NotFound):
        conversations.read_as_staff(ctx, conversation.id, staff.id)
    with pytest.raises(RuleViolations):
        conversations.report_conversation(ctx, conversation, Party.customer, "  ")
    with transaction.unit_of_work(ctx):
        conversations.report_conversation(ctx, conversation, Party.customer, "Beleidigungen")
    with transaction.unit_of_work(ctx):
        found, reports = conversations.read_as_staff(ctx, conversation.id, staff.id)
    assert (found.id, [r.reason for r in reports]) == (conversation.id, ["Beleidigungen"])
    with transaction.unit_of_work(ctx):
        conversations.read_as_staff(ctx, conversation.id, staff.id)
    assert ctx.execute(sa.select(StaffRead.conversation_id, StaffRead.user_id)).all() == [
        (conversation.id, staff.id),
        (conversation.id, staff.id),
    ]
