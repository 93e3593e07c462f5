"""The hourly digest of unread messages (`messages.digest`, at five past every hour, UTC).

Each step is its own transaction (see `services.message_digest`): release stale claims,
claim, then stamp and queue partner by partner in batches. A run that dies after claiming
leaves claims that the next run releases once they are stale; a second run at the same time
claims nothing the first claimed.

`messages.sweep_files` (hourly) deletes stored message files that no row names once they are
an hour old: what a process that died before its commit left behind.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from huey import crontab

from backoffice import transaction
from backoffice.models.types import utcnow
from backoffice.services import message_digest, message_files

from .registry import task


def run_digest(session, *, now: datetime | None = None, chunk: int = 500) -> dict:
    now = now or utcnow()
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    link = f"{base}/my/conversations/" if base else None
    released = transaction.run(lambda s: message_digest.release_stale(s, now), session=session, retries=3)
    token = message_digest.new_token()
    claimed = transaction.run(lambda s: message_digest.claim(s, token, now), session=session, retries=3)
    mails = 0
    if claimed:
        batches = transaction.run(lambda s: message_digest.batches(s, claimed, partners=chunk),
                                  session=session)
        for batch in batches:
            with transaction.unit_of_work(session):
                mails += message_digest.send_batch(session, token, batch, now, link=link)
    return {"released": released, "claimed": len(claimed), "mails": mails}


@task("messages.digest", schedule=crontab(minute="5"), title=_l("Hourly digest of unread messages"))
def digest_task(session, ctx) -> dict:
    transaction.keep(session)
    return run_digest(session)


@task("messages.sweep_files", schedule=crontab(minute="35"),
      title=_l("Delete message files of messages that were never saved"))
def sweep_files_task(session, ctx) -> dict:
    transaction.keep(session)
    return {"deleted": transaction.run(lambda s: message_files.sweep(s), session=session)}
