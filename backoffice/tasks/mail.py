"""Sending the outbox: the `mail.send` task, run after every commit that queued mail and
every minute as a drain for what a lost task or a down server left.

Flask-Mailman builds and sends the messages: unlike Flask-Mail it has a connection timeout
(`MAIL_TIMEOUT`: a hanging server cannot block a worker for ever), takes the Message-ID as a
plain header without adding a second one, and gives the finished message as bytes, which is
also what the embedded default writes as an `.eml` file when no `MAIL_SERVER` is set.

Each mail goes through three short transactions: claim (`services.mail.claim_due`), send,
record. A connection error or a 4xx answer means "try again later" (with growing waits); a
5xx refusal of the recipient or the message is final.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_mailman import EmailMultiAlternatives, Mail
from huey import crontab
from sqlalchemy import event
from sqlalchemy.orm import Session

from backoffice import transaction
from backoffice.extensions import db
from backoffice.models import Task, TaskStatus
from backoffice.models.mail import OutboxMail
from backoffice.models.types import utcnow
from backoffice.services import mail as outbox
from backoffice.services.driver import DriverStatement

from .registry import task
from .runner import submit, worker_id

log = logging.getLogger(__name__)

mailman = Mail()


def init_app(app) -> None:
    mailman.init_app(app)


def embedded(app=None) -> bool:
    """No SMTP server configured: mails become `.eml` files (the demo works alone)."""
    return not (app or current_app).config.get("MAIL_SERVER")


def build_message(mail: OutboxMail) -> EmailMultiAlternatives:
    config = current_app.config
    message = EmailMultiAlternatives(
        subject=mail.subject, body=mail.body_text, from_email=config["MAIL_DEFAULT_SENDER"],
        to=[mail.recipient], headers={"Message-ID": mail.message_id}, connection=None)
    if mail.body_html:
        message.attach_alternative(mail.body_html, "text/html")
    for attachment in mail.attachments:
        message.attach(attachment.filename, attachment.file.content, attachment.file.content_type)
    return message


def eml_bytes(mail: OutboxMail) -> bytes:
    return build_message(mail).message().as_bytes(linesep="\r\n")


def _connection():
    config = current_app.config
    return mailman.get_connection(
        backend="smtp", fail_silently=False, host=config["MAIL_SERVER"], port=int(config["MAIL_PORT"]),
        username=config.get("MAIL_USERNAME") or "", password=config.get("MAIL_PASSWORD") or "",
        use_tls=bool(config.get("MAIL_USE_TLS")), use_ssl=bool(config.get("MAIL_USE_SSL")),
        timeout=float(config["MAIL_TIMEOUT"]))


def _write_eml(mail_id: int, message: EmailMultiAlternatives) -> str:
    folder = Path(current_app.config["MAIL_OUTBOX_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{mail_id:08d}.eml"
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(message.message().as_bytes(linesep="\r\n"))
    partial.replace(path)
    return str(path)


def _is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and code >= 500 and not isinstance(exc, smtplib.SMTPServerDisconnected)


def deliver(session: Session | None = None, *, limit: int = 20) -> dict:
    """Send every due mail (in batches of `limit`); {"sent": n, "failed": n}."""
    session = session or db.session
    config = current_app.config
    worker = f"{worker_id()}:{uuid.uuid4().hex[:8]}"  # one per run: threads too
    lease = int(config["MAIL_CLAIM_SECONDS"])
    counts = {"sent": 0, "failed": 0}
    while True:
        with transaction.unit_of_work(session):
            ids = outbox.claim_due(session, worker, limit=limit, lease_seconds=lease)
        if not ids:
            return counts
        connection = None if embedded() else _connection()
        try:
            for mail_id in ids:
                counts["sent" if _send_one(session, mail_id, worker, connection) else "failed"] += 1
        finally:
            if connection is not None:
                connection.close()


def _send_one(session, mail_id: int, worker: str, connection) -> bool:
    mail = session.get(OutboxMail, mail_id, populate_existing=True)
    message, recipient = build_message(mail), mail.recipient
    transaction.discard(session)  # no transaction held open while the server answers
    try:
        if connection is None:
            eml_path = _write_eml(mail_id, message)
        else:
            eml_path = None
            connection.open()
            connection.send_messages([message])
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        log.warning("mail %s to %s not sent: %s", mail_id, recipient, exc)
        if connection is not None:
            connection.close()  # the next mail of the batch opens a fresh one
        with transaction.unit_of_work(session):
            outbox.mark_failed(session, mail_id, worker, f"{type(exc).__name__}: {exc}",
                               permanent=_is_permanent(exc))
        return False
    with transaction.unit_of_work(session):
        outbox.mark_sent(session, mail_id, worker, eml_path=eml_path)
    return True


@task("mail.send", schedule=crontab(minute="*"), title=_l("Send waiting e-mails"))
def send_task(session, ctx) -> dict:
    transaction.keep(session)
    return deliver(session)


_WAITING = sa.select(Task.id).where(Task.status == TaskStatus.queued, Task.kind == "mail.send").limit(1)
_WAITING_ON_DRIVER = DriverStatement(lambda _dialect: _WAITING)


def send_waiting(session) -> bool:
    """Whether a `mail.send` task waits in the queue, not started yet: it will read the
    outbox after any commit that happened before this question, so it sends that mail too.
    `session`: a session or a connection."""
    return session.execute(_WAITING).first() is not None


def _queued_mail(session) -> None:
    """After a commit that wrote outbox rows: a `mail.send` task sends them now."""
    queued = session.info.pop(outbox.QUEUED_FLAG, False)
    if queued:
        request_sending(queued if isinstance(queued, sa.Connection) else None)


def request_sending(committed: sa.Connection | None = None) -> None:
    """Submit a `mail.send` task now (unless `MAIL_SEND_AFTER_COMMIT` is off), unless one is
    waiting already (a burst of sends costs one task and one read each, not a task row, a
    commit and a queue message each). If the queue cannot take it, the minutely drain sends
    a little later. `committed`: the connection of the transaction that just committed,
    still held by its session: the question is asked on it, through the driver (no second
    connection from the pool)."""
    if not current_app or not current_app.config.get("MAIL_SEND_AFTER_COMMIT", True):
        return
    try:
        if committed is not None and not committed.closed and not committed.invalidated:
            if _waiting_on(committed):
                return
        else:
            with db.engine.connect() as conn:  # a plain connection: the usual answer is "one waits"
                if send_waiting(conn):
                    return
        with Session(db.engine) as side:
            submit(side, "mail.send", {}, user_id=None, title=str(_l("Send waiting e-mails")))
    except Exception:
        log.exception("mail.send not submitted; the periodic run sends the mail")


def _waiting_on(committed: sa.Connection) -> bool:
    """`send_waiting` on the committed connection. The transaction PostgreSQL opens for the
    read ends when the session closes the connection (the pool rolls back on return)."""
    return _WAITING_ON_DRIVER.first(committed, {}) is not None


def _rolled_back(session, *_args) -> None:
    session.info.pop(outbox.QUEUED_FLAG, None)


if not event.contains(Session, "after_commit", _queued_mail):
    event.listen(Session, "after_commit", _queued_mail)
    event.listen(Session, "after_soft_rollback", _rolled_back)


@task("mail.forget", schedule=crontab(minute="45", hour="3"), title=_l("Forget the texts of old e-mails"))
def forget_task(session, ctx, keep_days: int | None = None) -> dict:
    """The texts of mails older than MAIL_KEEP_DAYS go (`outbox.forget_old_mails`)."""
    days = current_app.config["MAIL_KEEP_DAYS"] if keep_days is None else keep_days
    with transaction.unit_of_work(session):
        forgotten = outbox.forget_old_mails(session, utcnow() - timedelta(days=days))
    return {"forgotten": forgotten, "keep_days": days}
