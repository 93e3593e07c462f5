"""Old tasks go: rows and files older than TASKS_KEEP_DAYS (`flask tasks cleanup`, nightly)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from huey import crontab

from backoffice import transaction
from backoffice.models import Task
from backoffice.models.types import utcnow

from .registry import task


def cleanup(session, keep_days: int) -> int:
    """Delete tasks created more than `keep_days` ago, their files, and files of no task
    (the rows go first, so no task shown to a user ever lacks its file)."""
    cutoff = utcnow() - timedelta(days=keep_days)
    with transaction.unit_of_work(session):
        old = session.scalars(sa.select(Task.id).where(Task.created_at < cutoff)).all()
        if old:
            session.execute(sa.delete(Task).where(Task.id.in_(old)))
    folder = Path(current_app.config["TASKS_FILES_DIR"])
    if folder.is_dir():
        known = set(session.scalars(sa.select(Task.id)).all())
        for entry in folder.iterdir():
            if entry.is_dir() and not (entry.name.isdigit() and int(entry.name) in known):
                shutil.rmtree(entry, ignore_errors=True)
    return len(old)


@task("tasks.cleanup", schedule=crontab(minute="15", hour="3"), title=_l("Delete old tasks and their files"))
def cleanup_task(session, ctx, keep_days: int | None = None) -> dict:
    days = current_app.config["TASKS_KEEP_DAYS"] if keep_days is None else keep_days
    return {"deleted": cleanup(session, days), "keep_days": days}
