"""Every mail is an outbox row first, written with the change that causes it, then sent by a
task through a real SMTP server on loopback: once, with its fixed Message-ID, in the
recipient's language, and later when the server was down."""

from __future__ import annotations

import email
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.extensions import db
from backoffice.models import Address
from backoffice.models.mail import MailStatus, OutboxMail
from backoffice.models.types import utcnow
from backoffice.services import mail as outbox
from backoffice.services import stored_files
from backoffice.tasks.mail import deliver
from tests.support.concurrency import run_together
from tests.support.http import login
from tests.support.smtp import parts

INVITATION = {"partner_name": "Meier Naturkosmetik", "inviter_name": "Maria Meier",
              "link": "https://partnerdesk.example/team/join/abc", "expires": "07.12.2026 12:00"}


def _queue(session, recipient="kim@example.org", language="de", kind="team_invitation", context=None):
    return outbox.queue_mail(session, kind, recipient, language, context or INVITATION)


def _mails():
    db.session.rollback()
    return db.session.scalars(sa.select(OutboxMail).order_by(OutboxMail.id)).all()


def test_a_mail_exists_only_if_the_change_that_causes_it_is_committed(ctx, make):
    with pytest.raises(RuntimeError), transaction.unit_of_work(ctx):
        ctx.add(Address(last_name="Verworfen"))
        _queue(ctx)
        raise RuntimeError("the business change fails")
    assert _mails() == []
    with transaction.unit_of_work(ctx):
        ctx.add(Address(last_name="Behalten"))
        _queue(ctx)
    assert [m.status for m in _mails()] == [MailStatus.pending]


def test_mails_go_out_once_in_the_recipients_language_with_text_and_html(ctx, smtp_server):
    with transaction.unit_of_work(ctx):
        german = _queue(ctx, "kim@example.org", "de")
        english = _queue(ctx, "lee@example.org", "en")
    assert deliver(ctx) == {"sent": 2, "failed": 0}
    assert deliver(ctx) == {"sent": 0, "failed": 0}  # nothing is sent twice
    received = {m["To"]: m for m in smtp_server.messages}
    assert len(smtp_server.messages) == 2
    de, en = received["kim@example.org"], received["lee@example.org"]
    assert de["Message-ID"] == german.message_id and en["Message-ID"] == english.message_id
    assert de["Subject"] == "Einladung in das Team von Meier Naturkosmetik"
    assert en["Subject"] == "Invitation to the team of Meier Naturkosmetik"
    de_parts, en_parts = parts(de), parts(en)
    assert "lädt Sie in das Team" in de_parts["text/plain"] and INVITATION["link"] in de_parts["text/plain"]
    assert 'lang="de"' in de_parts["text/html"] and INVITATION["link"] in de_parts["text/html"]
    assert "invites you to the team" in en_parts["text/plain"] and 'lang="en"' in en_parts["text/html"]
    assert {m.status for m in _mails()} == {MailStatus.sent}
    assert len(de.get_all("Message-ID")) == 1


def test_a_batch_of_mails_goes_out_over_one_smtp_connection(ctx, smtp_server):
    with transaction.unit_of_work(ctx):
        queued = outbox.queue_mails(ctx, "team_invitation", [
            (f"kim{n}@example.org", "de", INVITATION, f"<batch-{n}@partnerdesk.local>") for n in range(5)])
    assert queued == 5
    assert deliver(ctx, limit=3) == {"sent": 5, "failed": 0}
    assert sorted(m["Message-ID"] for m in smtp_server.messages) == [
        f"<batch-{n}@partnerdesk.local>" for n in range(5)]
    peers = smtp_server.recorder.peers
    assert len(set(peers[:3])) == 1 and len(set(peers[3:])) == 1 and peers[0] != peers[3]


def test_a_mail_carries_its_stored_attachments_to_the_server(ctx, smtp_server):
    pdf, table = b"%PDF-1.7\n%\xe2\xe3 binary \x00\xff", b"Tag;Betrag\r\n1;2,50\r\n"
    with transaction.unit_of_work(ctx):
        first = stored_files.store(ctx, pdf, "application/pdf")
        second = stored_files.store(ctx, table, "text/csv")
        queued = outbox.queue_mail(ctx, "team_invitation", "kim@example.org", "de", INVITATION,
                                   attachments=[("PR-000001.pdf", first), ("umsatz.csv", second)])
    other = _queue(ctx, "lee@example.org")  # no attachments
    transaction.keep(ctx)
    assert deliver(ctx) == {"sent": 2, "failed": 0}
    received = {m["To"]: m for m in smtp_server.wait_for(2)}
    message = received["kim@example.org"]
    assert message["Message-ID"] == queued.message_id
    files = [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
             for p in message.walk() if p.get_filename()]
    assert files == [("PR-000001.pdf", "application/pdf", pdf), ("umsatz.csv", "text/csv", table)]
    text = [p for p in message.walk() if p.get_content_type() == "text/plain" and not p.get_filename()]
    assert "lädt Sie in das Team" in text[0].get_payload(decode=True).decode("utf-8")
    assert [p.get_filename() for p in received["lee@example.org"].walk() if p.get_filename()] == []
    assert received["lee@example.org"]["Message-ID"] == other.message_id


def test_mails_wait_while_the_server_is_down_and_go_out_when_it_is_back(ctx, smtp_server):
    smtp_server.stop()
    with transaction.unit_of_work(ctx):
        mail = _queue(ctx)
    assert deliver(ctx) == {"sent": 0, "failed": 1}
    [waiting] = _mails()
    assert waiting.status == MailStatus.pending and waiting.attempts == 1
    assert waiting.last_error and waiting.next_attempt_at > utcnow() + timedelta(seconds=20)
    smtp_server.start()
    assert deliver(ctx) == {"sent": 0, "failed": 0}  # not before its backoff is over
    # Time passes: the retry is due.
    ctx.execute(sa.update(OutboxMail).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    transaction.keep(ctx)
    assert deliver(ctx) == {"sent": 1, "failed": 0}
    assert smtp_server.message_ids() == [mail.message_id]
    [sent] = _mails()
    assert sent.status == MailStatus.sent and sent.attempts == 2


def test_waits_grow_after_each_failure_up_to_an_hour():
    waits = [outbox.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits[:4] == [30, 60, 120, 240] and waits[-1] == 3600 and waits == sorted(waits)


def test_a_refused_recipient_fails_for_good_the_others_go_out(ctx, smtp_server):
    smtp_server.recorder.refuse.add("nobody@example.org")
    with transaction.unit_of_work(ctx):
        _queue(ctx, "nobody@example.org")
        _queue(ctx, "kim@example.org")
    assert deliver(ctx) == {"sent": 1, "failed": 1}
    statuses = {m.recipient: m.status for m in _mails()}
    assert statuses == {"nobody@example.org": MailStatus.failed, "kim@example.org": MailStatus.sent}


def test_a_mail_whose_sender_died_is_sent_again_with_the_same_message_id(ctx, smtp_server):
    with transaction.unit_of_work(ctx):
        mail = _queue(ctx)
    # A worker claimed it and was never heard of again; its claim has run out.
    with transaction.unit_of_work(ctx):
        assert outbox.claim_due(ctx, "dead-worker") == [mail.id]
    assert deliver(ctx) == {"sent": 0, "failed": 0}  # claimed: nobody else takes it meanwhile
    with transaction.unit_of_work(ctx):
        ctx.execute(sa.update(OutboxMail).values(claimed_until=utcnow() - timedelta(seconds=1)))
    assert deliver(ctx) == {"sent": 1, "failed": 0}
    assert smtp_server.message_ids() == [mail.message_id]
    with transaction.unit_of_work(ctx):
        assert not outbox.mark_sent(ctx, mail.id, "dead-worker")  # its late report changes nothing


def test_two_workers_never_send_the_same_mail(app, ctx, smtp_server):
    """Two senders at once over 40 mails in batches of 3: every mail arrives exactly once."""
    smtp_server.recorder.delay = 0.01
    with transaction.unit_of_work(ctx):
        ids = {_queue(ctx, f"r{n}@example.org").message_id for n in range(40)}
    outcomes = run_together(app, [lambda session: deliver(session, limit=3)] * 2)
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert sum(o["sent"] for o in outcomes) == 40
    received = smtp_server.message_ids()
    assert sorted(received) == sorted(ids)  # each exactly once
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        assert all(o["sent"] > 0 for o in outcomes), outcomes  # SKIP LOCKED: both worked


def test_without_smtp_mails_become_eml_files_that_staff_read_in_the_outbox(app, ctx, client, make):
    assert not app.config["MAIL_SERVER"]
    with transaction.unit_of_work(ctx):
        mail = _queue(ctx, "lee@example.org", "en")
    assert deliver(ctx) == {"sent": 1, "failed": 0}
    [sent] = _mails()
    written = email.message_from_bytes(Path(sent.eml_path).read_bytes())
    assert written["Message-ID"] == mail.message_id and written["To"] == "lee@example.org"
    make.user("staff", "Staff")
    login(client, "staff")
    listing = client.get("/desk/outbox/list/").get_data(as_text=True)
    assert "Invitation to the team of Meier Naturkosmetik" in listing and "lee@example.org" in listing
    page = client.get(f"/desk/outbox/show/{sent.id}").get_data(as_text=True)
    assert "invites you to the team" in page
    assert "Teameinladung" in page and "team_invitation" not in page  # the kind by its name
    eml = client.get(f"/desk/outbox/eml/{sent.id}")
    assert eml.status_code == 200 and email.message_from_bytes(eml.data)["Message-ID"] == mail.message_id
    html = client.get(f"/desk/outbox/html/{sent.id}")
    assert html.status_code == 200 and "sandbox" in html.headers["Content-Security-Policy"]


def test_the_outbox_is_for_staff_only(ctx, client, make):
    with transaction.unit_of_work(ctx):
        mail = _queue(ctx, "geheim@example.org")
    make.partner("meier")
    login(client, "meier")
    for url in ["/desk/outbox/list/", f"/desk/outbox/show/{mail.id}", f"/desk/outbox/eml/{mail.id}"]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "geheim@example.org" not in response.get_data(as_text=True)


def test_staff_send_a_waiting_mail_again_at_once(ctx, client, make, smtp_server):
    smtp_server.stop()
    with transaction.unit_of_work(ctx):
        mail = _queue(ctx)
    deliver(ctx)
    smtp_server.start()
    make.user("staff", "Staff")
    login(client, "staff")
    from tests.support.http import csrf_token

    token = csrf_token(client, "/desk/outbox/list/")
    response = client.post("/desk/outbox/action_post", data={"action": "retry", "rowid": [mail.id],
                                                              "csrf_token": token})
    assert response.status_code == 302
    assert deliver(ctx) == {"sent": 1, "failed": 0}


def test_the_task_sends_what_a_commit_queued(ctx, task_worker, smtp_server):
    with transaction.unit_of_work(ctx):
        mail = _queue(ctx, "kim@example.org")
    smtp_server.wait_for(1)
    assert smtp_server.message_ids() == [mail.message_id]
