"""Mails are not kept for ever: past MAIL_KEEP_DAYS a sent or failed mail keeps the record of
its sending and loses its texts and its `.eml` copy; a waiting mail is never touched."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from backoffice import transaction
from backoffice.models.mail import MailStatus, OutboxMail
from backoffice.models.types import utcnow
from backoffice.services import mail as outbox
from backoffice.tasks.mail import deliver

from .test_outbox_privacy import queue


def test_old_mails_lose_their_texts_and_copies_and_keep_the_record_of_the_sending(app, ctx):
    sent_long_ago = queue(ctx, "alt@example.org")
    assert deliver(ctx) == {"sent": 1, "failed": 0}
    failed_long_ago = queue(ctx, "weg@example.org")
    with transaction.unit_of_work(ctx):
        [claimed] = outbox.claim_due(ctx, "w0")
        outbox.mark_failed(ctx, claimed, "w0", "550 unknown user", permanent=True)
    sent_recently = queue(ctx, "neu@example.org")
    assert deliver(ctx) == {"sent": 1, "failed": 0}
    waiting_long = queue(ctx, "wartet@example.org")  # its server has refused it for months
    old = [sent_long_ago, failed_long_ago, waiting_long]
    with transaction.unit_of_work(ctx):
        ctx.execute(sa.update(OutboxMail).where(OutboxMail.id.in_(old))
                    .values(created_at=utcnow() - timedelta(days=200)))
    copy = Path(ctx.get(OutboxMail, sent_long_ago).eml_path)
    recent_copy = Path(ctx.get(OutboxMail, sent_recently).eml_path)
    assert copy.is_file() and recent_copy.is_file()

    result = app.test_cli_runner().invoke(args=["tasks", "run", "mail.forget"])
    assert result.exit_code == 0, result.output
    ctx.expire_all()
    mails = {m.id: m for m in ctx.scalars(sa.select(OutboxMail))}
    for mail_id in (sent_long_ago, failed_long_ago):
        mail = mails[mail_id]
        assert (mail.body_text, mail.body_html, mail.eml_path) == ("—", None, None)
        assert mail.subject == "Einladung in das Team von Meier Naturkosmetik"
    first = mails[sent_long_ago]
    assert (first.status, first.recipient) == (MailStatus.sent, "alt@example.org")
    assert not copy.exists() and recent_copy.is_file()
    assert "Meier Naturkosmetik" in mails[waiting_long].body_text  # still to be sent: untouched
    assert "Meier Naturkosmetik" in mails[sent_recently].body_text
    # A failed mail whose text is gone is not sent again; a second run has nothing to do.
    with transaction.unit_of_work(ctx):
        outbox.retry_now(ctx, failed_long_ago)
        assert outbox.forget_old_mails(ctx, utcnow() - timedelta(days=180)) == 0
    assert ctx.get(OutboxMail, failed_long_ago).status == MailStatus.failed
