"""The mails to a person in its personal data (GDPR): listed in the export; on erasure their
recipient and bodies go, and a mail still waiting is never sent."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import AddressType
from backoffice.models.mail import MailStatus, OutboxMail
from backoffice.services import mail as outbox
from backoffice.services import privacy
from backoffice.tasks.mail import deliver

INVITATION = {"partner_name": "Meier Naturkosmetik", "inviter_name": "Maria Meier",
              "link": "https://partnerdesk.example/team/join/abc", "expires": "07.12.2026 12:00"}


def queue(ctx, recipient: str) -> int:
    with transaction.unit_of_work(ctx):
        queued = outbox.queue_mail(ctx, "team_invitation", recipient, "de", INVITATION,
                                   send_after_commit=False)
    return queued.id


def rows(ctx) -> dict[int, tuple]:
    ctx.expire_all()
    mails = ctx.scalars(sa.select(OutboxMail))
    return {m.id: (m.recipient, m.status, m.body_text, m.body_html) for m in mails}


def test_her_mails_are_listed_then_blanked_and_a_waiting_one_is_never_sent(ctx, make):
    erika = make.address(type=AddressType.customer, first_name="Erika", last_name="Muster",
                         email="erika@example.org")
    failed = queue(ctx, "erika@example.org")
    with transaction.unit_of_work(ctx):
        [claimed] = outbox.claim_due(ctx, "w0")
        outbox.mark_failed(ctx, claimed, "w0", "550 mailbox full", permanent=True)
    sent = queue(ctx, "Erika@Example.org")  # the same mailbox
    assert deliver(ctx) == {"sent": 1, "failed": 0}
    eml = Path(ctx.get(OutboxMail, sent).eml_path)
    assert eml.is_file()
    in_flight = queue(ctx, "erika@example.org")
    with transaction.unit_of_work(ctx):  # a sender took this one just before the erasure
        assert outbox.claim_due(ctx, "w1") == [in_flight]
    waiting, other = queue(ctx, "erika@example.org"), queue(ctx, "kim@example.org")
    before = rows(ctx)

    data = privacy.personal_data(ctx, erika.id)
    assert [(m["kind"], m["status"], m["subject"]) for m in data["mails"]] == [
        ("team_invitation", "failed", "Einladung in das Team von Meier Naturkosmetik"),
        ("team_invitation", "sent", "Einladung in das Team von Meier Naturkosmetik"),
        ("team_invitation", "pending", "Einladung in das Team von Meier Naturkosmetik"),
        ("team_invitation", "pending", "Einladung in das Team von Meier Naturkosmetik")]
    assert "kim@" not in privacy.as_json(data).decode()

    with transaction.unit_of_work(ctx):
        result = privacy.erase(ctx, erika.id, reason="Art. 17", actor_user_id=None, actor_label="staff")
    assert result.mails_erased == 4
    after = rows(ctx)
    assert after[failed] == ("—", MailStatus.failed, "—", None)
    assert after[sent] == ("—", MailStatus.sent, "—", None)
    assert after[waiting] == after[in_flight] == ("—", MailStatus.cancelled, "—", None)
    assert after[other] == before[other]  # somebody else's mail is untouched
    assert not eml.exists()  # the copy of the sent mail
    # The sender leaves cancelled mails alone, and one it held records no sending.
    with transaction.unit_of_work(ctx):
        assert not outbox.mark_sent(ctx, in_flight, "w1")
        outbox.retry_now(ctx, waiting)
    assert deliver(ctx) == {"sent": 1, "failed": 0}  # Kim's only
    after = rows(ctx)
    assert after[waiting][1] == after[in_flight][1] == MailStatus.cancelled
    assert after[other][1] == MailStatus.sent
    subjects = ctx.scalars(sa.select(OutboxMail.subject).where(OutboxMail.id == sent)).all()
    assert subjects == ["Einladung in das Team von Meier Naturkosmetik"]  # kind, dates and subject stay


def test_the_erasure_finds_the_mails_by_an_index_not_by_reading_the_outbox(ctx):
    """No statement of `erase_mails_to` reads the whole outbox: the index on the lower-cased
    recipient serves them (PostgreSQL is told to avoid a full scan: with a few rows it would
    rightly prefer one)."""
    statements = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if "mail_outbox" in statement and not statement.startswith("EXPLAIN"):
            statements.append((statement, parameters))

    connection = ctx.connection()
    sa.event.listen(connection, "before_cursor_execute", grab)
    try:
        outbox.erase_mails_to(ctx, ["Erika@Example.org", "kim@example.org"], "[erased]")
    finally:
        sa.event.remove(connection, "before_cursor_execute", grab)
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plans = []
    for statement, parameters in statements:
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        plan = connection.exec_driver_sql(explain + statement, parameters).all()
        plans.append(" ".join(str(row[-1]) for row in plan))
    full_scan = "Seq Scan" if postgres else "SCAN mail_outbox"
    assert len(plans) == 3 and not [plan for plan in plans if full_scan in plan], plans
    # The eml paths and the blanking have nothing else to go by; cancelling the waiting
    # ones may go by the due mails' index (few are waiting) instead.
    assert all("ix_mail_outbox_recipient_lower" in plans[i] for i in (0, 2)), plans
    ctx.rollback()
