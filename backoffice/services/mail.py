"""Mail through the outbox: render a mail into a row now, send it later, never twice.

    mail.queue_mail(session, "team_invitation", "kim@example.org", "en", {"link": …})

`queue_mail` renders the mail's templates in the recipient's language and adds an
`OutboxMail` row to the caller's transaction: the mail exists exactly when the change that
caused it is committed. The sender (`backoffice/tasks/mail.py`) claims due rows with a
guarded UPDATE (on PostgreSQL after `FOR UPDATE SKIP LOCKED`), so two workers never hold the
same row; it marks a row sent only while its claim holds, and after a failure waits longer
each time (`backoff`). A sender that dies between sending and marking leaves a claim that
runs out: the row is sent again with the same Message-ID, which receivers treat as a
duplicate.

A person's mails are erased with the person (`erase_mails_to`): the rows stay with kind,
dates and status, the recipient and the bodies go, and a waiting mail is cancelled: the
sender claims waiting rows only and records a sending only for a row still waiting.

Mails are not kept for ever: `forget_old_mails` (nightly, `MAIL_KEEP_DAYS`) blanks the texts
of sent and failed mails and deletes their `.eml` copies, keeping the record of the sending.

A mail can carry files (`attachments`: file name and a `StoredFile`): they are stored in the
database with the row, so any worker on any machine attaches the same bytes, and a resend
after a crash is still the same message.

Templates: every mail kind has four, `templates/mail/<kind>.<de|en>.txt` (plain text;
`{% set subject = … %}` at its top gives the subject) and `templates/mail/<kind>.<de|en>.html`
(the HTML part: extends `mail/layout.html`, which sets `lang`; autoescaped, since names,
requests and messages in the context are written by customers and partners). A kind without
either part cannot be queued (`tests/mail/test_templates.py` checks every kind). They are
rendered in `templates()`, the app's environment without the pages' globals: a mail is
written from its context alone, whichever request queues it. Amounts in a mail are written
by `money_text` in the recipient's language.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from babel.numbers import format_currency
from flask import current_app
from jinja2 import Environment, TemplateNotFound

from ..errors import InvalidInput
from ..models import StoredFile
from ..models.mail import MailAttachment, MailStatus, OutboxMail
from ..models.types import utcnow
from .driver import insert_of
from .file_removal import remove_after_commit

LANGUAGES = ("de", "en")
# session.info: this transaction wrote outbox rows (the value: the session's `Connection`, on
# which the after-commit question "does a sender wait?" is asked, or True)
QUEUED_FLAG = "mail_queued"
BACKOFF_FIRST_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600


def language_of(value) -> str:
    """The recipient's language as one of ours (German unless it is English)."""
    code = getattr(value, "value", value) or ""
    return code if code in LANGUAGES else "de"


CENT = Decimal("0.01")


@functools.cache
def _euro_shape(language: str) -> tuple[tuple[str, str], tuple[str, str], dict[int, str]]:
    """What Babel writes around the digits of a positive and of a negative amount in
    `language`, and its group and decimal marks: read once from Babel's own output."""
    around = []
    for probe in ("1234567.89", "-1234567.89"):
        text = format_currency(Decimal(probe), "EUR", locale=language)
        digits = [index for index, char in enumerate(text) if char.isdigit()]
        around.append((text[: digits[0]], text[digits[-1] + 1 :]))
        number = text[digits[0] : digits[-1] + 1]
    return around[0], around[1], str.maketrans({",": number[1], ".": number[-3]})


def money_text(amount: Decimal, language: str) -> str:
    """An amount in euros as `language` writes it (`1.234,50 €`, `€1,234.50`), as Babel's
    `format_currency` does (the sign of the amount as given, cents rounded half to even)
    without its lookups of the locale's data on every call: a mail's context is built in
    the transaction of the change that sends it."""
    positive, negative, marks = _euro_shape(language_of(language))
    if not isinstance(amount, Decimal):
        amount = Decimal(str(amount))
    prefix, suffix = negative if amount.is_signed() else positive
    return prefix + f"{abs(amount).quantize(CENT):,.2f}".translate(marks) + suffix


_TEMPLATES = "mail_templates"  # the key of `templates()` in app.extensions


def templates() -> Environment:
    """The environment mails are rendered in: the app's (its loader, filters, autoescaping of
    `.html`, finalize) without any globals — request, session, g, url_for, csrf_token,
    gettext, not even Jinja's range or namespace: a mail reads its context only. Every
    render copies the globals into its contexts, so none also makes a render cheaper. One
    per app, with its own cache of compiled templates."""
    app = current_app._get_current_object()
    env = app.extensions.get(_TEMPLATES)
    if env is None:
        # Own cache: a copied one would hold templates bound to the pages' globals.
        env = app.jinja_env.overlay(cache_size=400)
        env.globals = {}
        app.extensions[_TEMPLATES] = env
    return env


def render(kind: str, language: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) of a mail in `language`."""
    env = templates()
    language = language_of(language)
    try:
        text_template = env.get_template(f"mail/{kind}.{language}.txt")
        html_template = env.get_template(f"mail/{kind}.{language}.html")
    except TemplateNotFound as missing:
        raise InvalidInput("unknown_mail", f"no mail template {missing.name!r}") from None
    module = text_template.make_module(dict(context, language=language))
    subject = " ".join(str(getattr(module, "subject", kind)).split())
    html = html_template.render(dict(context, language=language, subject=subject))
    return subject, str(module).strip() + "\n", html


def new_message_id() -> str:
    domain = current_app.config.get("MAIL_MESSAGE_ID_DOMAIN") or "partnerdesk.local"
    return f"<{uuid.uuid4().hex}@{domain}>"


def _outbox_row(kind: str, recipient: str, language, context: dict, message_id: str | None,
                now: datetime) -> dict:
    if not recipient or "@" not in recipient:
        raise InvalidInput("invalid_recipient", "a mail needs a recipient address")
    language = language_of(language)
    subject, text, html = render(kind, language, context)
    return {"message_id": message_id or new_message_id(), "kind": kind, "recipient": recipient.strip(),
            "language": language, "subject": subject[:300], "body_text": text, "body_html": html,
            "status": MailStatus.pending, "attempts": 0, "next_attempt_at": now}


def queue_mail(session, kind: str, recipient: str, language, context: dict, *,
               message_id: str | None = None,
               attachments: Sequence[tuple[str, StoredFile]] = (),
               send_after_commit: bool = True) -> OutboxMail:
    """Add the rendered mail to the caller's transaction; it is sent after the commit.

    `message_id`: a Message-ID the caller fixed (a digest's per partner and hour).
    `attachments`: (file name, stored file) in the order the mail carries them.
    `send_after_commit=False`: the commit does not start a sender; a batch that queues many
    mails in many transactions starts one itself at its end (or the minutely drain sends)."""
    mail = OutboxMail(**_outbox_row(kind, recipient, language, context, message_id, utcnow()))
    mail.attachments = [MailAttachment(position=position, filename=name[:200], file=stored)
                        for position, (name, stored) in enumerate(attachments, 1)]
    session.add(mail)
    if send_after_commit:
        session.info[QUEUED_FLAG] = True
    return mail


def queue_mails(session, kind: str, mails: list[tuple[str, str, dict, str | None]]) -> int:
    """Several mails of one kind — (recipient, language, context, Message-ID or None) each —
    rendered and added to the caller's transaction in one INSERT (a digest's batch: no ORM
    object per mail). The number queued."""
    now = utcnow()
    rows = [dict(_outbox_row(kind, recipient, language, context, message_id, now), created_at=now)
            for recipient, language, context, message_id in mails]
    if not rows:
        return 0
    connection = session.connection()
    if len(rows) == 1:  # a single mail (a direct request's): one INSERT on the driver
        _INSERT_ONE.all(connection, rows[0])
    else:
        connection.execute(OutboxMail.__table__.insert(), rows)
    session.info[QUEUED_FLAG] = connection
    return len(rows)


_INSERT_ONE = insert_of(OutboxMail.__table__, "message_id", "kind", "recipient", "language", "subject",
                        "body_text", "body_html", "status", "attempts", "next_attempt_at", "created_at")


def backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt: 30 s, 1 min, 2 min, … at most an hour."""
    seconds = BACKOFF_FIRST_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, BACKOFF_MAX_SECONDS))


def _due(now: datetime):
    table = OutboxMail.__table__
    return sa.and_(table.c.status == MailStatus.pending.value, table.c.next_attempt_at <= now,
                   sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until < now))


def claim_due(session, worker: str, *, now: datetime | None = None, limit: int = 20,
              lease_seconds: int = 300) -> list[int]:
    """Take up to `limit` due mails for `worker` until `lease_seconds` from now; the ids taken.

    On PostgreSQL the candidates are locked with `FOR UPDATE SKIP LOCKED`: a second worker
    takes other rows instead of waiting for these. The UPDATE repeats the "due and unclaimed"
    test, so a row another worker claimed and committed in between is not taken (SQLite has
    one writer at a time; there the UPDATE's condition alone decides).
    """
    now = now or utcnow()
    table = OutboxMail.__table__
    candidates = (sa.select(table.c.id).where(_due(now)).order_by(table.c.next_attempt_at, table.c.id)
                  .limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    for _ in range(5):  # another worker took all candidates in between: look again
        ids = session.scalars(candidates).all()
        if not ids:
            return []
        statement = (sa.update(table).where(table.c.id.in_(ids), _due(now))
                     .values(claimed_by=worker, claimed_until=now + timedelta(seconds=lease_seconds))
                     .returning(table.c.id))
        claimed = sorted(session.execute(statement).scalars().all())
        if claimed:
            return claimed
    return []


def _own(mail_id: int, worker: str):
    table = OutboxMail.__table__
    return sa.update(table).where(table.c.id == mail_id, table.c.claimed_by == worker,
                                  table.c.status == MailStatus.pending.value)


def mark_sent(session, mail_id: int, worker: str, *, eml_path: str | None = None) -> bool:
    """Record the sending, if `worker` still holds the claim."""
    table = OutboxMail.__table__
    done = session.execute(_own(mail_id, worker).values(
        status=MailStatus.sent.value, sent_at=utcnow(), attempts=table.c.attempts + 1,
        claimed_until=None, last_error=None, eml_path=eml_path)).rowcount
    return done == 1


def mark_failed(session, mail_id: int, worker: str, error: str, *, permanent: bool = False,
                now: datetime | None = None) -> None:
    """A failed attempt: try again after the backoff, or never (`permanent`)."""
    now = now or utcnow()
    mail = session.get(OutboxMail, mail_id, populate_existing=True)
    if mail is None or mail.claimed_by != worker or mail.status != MailStatus.pending:
        return
    attempts = mail.attempts + 1
    session.execute(_own(mail_id, worker).values(
        status=(MailStatus.failed if permanent else MailStatus.pending).value, attempts=attempts,
        next_attempt_at=now + backoff(attempts), claimed_until=None, last_error=error[:2000]))


def retry_now(session, mail_id: int) -> None:
    """Staff: send a waiting or failed mail at the next run, without waiting for the backoff
    (a sent or cancelled one stays as it is, so does one whose text was forgotten)."""
    mail = session.get(OutboxMail, mail_id)
    if mail is None or mail.status in (MailStatus.sent, MailStatus.cancelled) or mail.body_text == FORGOTTEN:
        return
    mail.status, mail.next_attempt_at, mail.claimed_until = MailStatus.pending, utcnow(), None


def _copies_go(session, which) -> None:
    """The `.eml` copies of the mails `which` (a condition) are deleted once the caller's
    transaction commits (kept if it rolls back)."""
    copies = session.scalars(sa.select(OutboxMail.eml_path).where(which, OutboxMail.eml_path.is_not(None)))
    remove_after_commit(session, [Path(path) for path in copies])


def erase_mails_to(session, recipients: Iterable[str], placeholder: str) -> int:
    """The mails to these addresses (any case) lose recipient and bodies (`placeholder`
    instead of the required ones) in the caller's transaction; waiting ones are cancelled,
    and their `.eml` copies are deleted once it commits. The number of mails."""
    wanted = sorted({address.strip().lower() for address in recipients if address and address.strip()})
    if not wanted:
        return 0
    addressed = sa.func.lower(OutboxMail.recipient).in_(wanted)
    _copies_go(session, addressed)

    def run(statement) -> int:
        return session.execute(statement.execution_options(synchronize_session="fetch")).rowcount

    run(sa.update(OutboxMail).where(addressed, OutboxMail.status == MailStatus.pending)
        .values(status=MailStatus.cancelled, claimed_by=None, claimed_until=None))
    return run(sa.update(OutboxMail).where(addressed).values(
        recipient=placeholder, body_text=placeholder, body_html=None, eml_path=None))


FORGOTTEN = "—"  # the text of a mail kept past MAIL_KEEP_DAYS


def forget_old_mails(session, before: datetime) -> int:
    """Data minimisation: mails created before `before` that are sent or failed lose their
    texts (`FORGOTTEN`) and their `.eml` copies (deleted once the caller commits). The row
    stays as the record of the sending: kind, recipient, subject, dates, status,
    attachments (documents such as invoices, kept as long as their own records). A waiting
    mail is never touched. The number of mails."""
    old = sa.and_(OutboxMail.status.in_([MailStatus.sent, MailStatus.failed]), OutboxMail.created_at < before,
                  OutboxMail.body_text != FORGOTTEN)
    _copies_go(session, old)
    return session.execute(sa.update(OutboxMail).where(old)
                           .values(body_text=FORGOTTEN, body_html=None, eml_path=None)
                           .execution_options(synchronize_session=False)).rowcount


def pending_count(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)
                          .where(OutboxMail.status == MailStatus.pending))
