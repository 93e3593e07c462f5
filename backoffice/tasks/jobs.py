"""The expert jobs' sweep: expire what waited 72 hours, remind 24 hours before (every 5 minutes).

Both are re-derived from the `job_assignment` table with guarded UPDATEs, so a lost, late,
doubled or concurrent run changes and mails each thing once."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from huey import crontab

from backoffice.services import jobs

from .context import TaskContext
from .registry import task


@task("jobs.sweep", schedule=crontab(minute="*/5"), title=_l("Expire unanswered jobs and send reminders"))
def sweep(session, ctx: TaskContext) -> dict:
    base = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    expired = jobs.expire_due(session)
    reminded = jobs.remind_due(session, jobs_url=f"{base}/my/jobs/" if base else "")
    return {"expired": expired, "reminded": reminded}
