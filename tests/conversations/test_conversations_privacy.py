"""A customer's files, abuse reports and blocks in its personal data (GDPR): exported; on
erasure the files it sent are gone for everyone (row and bytes), its reports lose their
reasons, and what the partner sent, reported or blocked stays."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import AbuseReport, AddressType, Conversation, CustomerBlock, MessageFile, Party
from backoffice.services import conversations, message_files, privacy
from tests.conversations.test_messages import PDF, PNG
from tests.support.directory import category, published_partner
from tests.support.http import login

NOW = datetime(2026, 11, 4, 11, 0, tzinfo=UTC)


@pytest.fixture
def talk(app, ctx, make):
    """Erika wrote to Schulz with a contract, Schulz answered with a sketch; both reported the
    conversation, and Schulz blocked her."""
    schulz = published_partner(make, "schulz", category("Design", "Design"))
    erika = make.address(type=AddressType.customer, first_name="Erika", last_name="Muster",
                         email="erika@example.org")
    with transaction.unit_of_work(ctx):
        started = conversations.start_conversation(
            ctx, erika.id, schulz.id, requirements="Ein Logo", body="Anbei mein Vertrag", now=NOW,
            files=[message_files.Upload("Vertrag Erika Muster.pdf", PDF)])
        conversation = ctx.get(Conversation, started.conversation_id)
        conversations.post_message(ctx, conversation, Party.partner, "Hier ein Entwurf", now=NOW,
                                   files=[message_files.Upload("entwurf.png", PNG)])
        conversations.report_conversation(ctx, conversation, Party.customer, "Belästigt Erika Muster",
                                          now=NOW)
        conversations.report_conversation(ctx, conversation, Party.partner, "Spam", now=NOW)
        conversations.block_customer(ctx, schulz.id, erika.id, user_id=None, reason="Beleidigend", now=NOW)
    files = {row.file_name: row for row in ctx.scalars(sa.select(MessageFile))}
    return {"erika": erika, "schulz": schulz, "conversation": started.conversation_id,
            "hers": files["Vertrag Erika Muster.pdf"], "his": files["entwurf.png"]}


def test_files_reports_and_blocks_are_exported(ctx, talk):
    data = privacy.personal_data(ctx, talk["erika"].id)
    assert [(f["file_name"], f["size"], f["conversation_id"]) for f in data["message_files"]] == [
        ("Vertrag Erika Muster.pdf", len(PDF), talk["conversation"])]  # the partner's file is his
    assert data["message_files"][0]["created_at"]
    assert [r["reason"] for r in data["abuse_reports"]] == ["Belästigt Erika Muster"]
    assert data["blocks"] == [{"partner_id": talk["schulz"].id, "blocked_at": NOW.isoformat()}]
    messages = data["conversations"][0]["messages"]
    assert [m["body"] for m in messages] == ["Anbei mein Vertrag", "Hier ein Entwurf"]


def test_erasure_deletes_her_files_for_good_and_her_report_reasons(app, ctx, talk):
    hers, his = talk["hers"], talk["his"]
    folder = message_files.folder()
    hers_on_disk, his_on_disk = folder / hers.storage_key, folder / his.storage_key
    partner = login(app.test_client(), "schulz")
    assert partner.get(f"/my/conversations/files/{hers.id}").data == PDF

    # A failed erasure keeps everything: one transaction, the bytes go only with its commit.
    with pytest.raises(RuntimeError), transaction.unit_of_work(ctx):
        privacy.erase(ctx, talk["erika"].id, reason="Art. 17", actor_user_id=None, actor_label="staff")
        raise RuntimeError("something after the erasure fails")
    assert hers_on_disk.is_file() and partner.get(f"/my/conversations/files/{hers.id}").status_code == 200

    with transaction.unit_of_work(ctx):
        result = privacy.erase(ctx, talk["erika"].id, reason="Art. 17", actor_user_id=None,
                               actor_label="staff")
    assert result.files_deleted == 1
    assert partner.get(f"/my/conversations/files/{hers.id}").status_code == 404
    assert not hers_on_disk.exists()
    ctx.expire_all()
    assert ctx.get(MessageFile, hers.id) is None
    assert partner.get(f"/my/conversations/files/{his.id}").data == PNG and his_on_disk.is_file()
    reports = ctx.execute(sa.select(AbuseReport.reported_by, AbuseReport.reason)
                          .order_by(AbuseReport.id)).all()
    assert reports == [(Party.customer, "—"), (Party.partner, "Spam")]  # both reports stay
    # The partner stays protected: its block and its reason stay.
    assert ctx.scalars(sa.select(CustomerBlock.reason)).all() == ["Beleidigend"]
    exported = privacy.as_json(privacy.personal_data(ctx, talk["erika"].id)).decode()
    assert "Vertrag" not in exported and "Belästigt" not in exported and "Erika" not in exported
