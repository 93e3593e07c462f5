"""Old jobs go: rows and files older than JOBS_KEEP_DAYS (`flask jobs cleanup`, nightly)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from backoffice.models import Job
from backoffice.models.types import utcnow

from .registry import job_function


def cleanup(session, keep_days: int) -> int:
    """Delete jobs created more than `keep_days` ago, their files, and files of no job."""
    cutoff = utcnow() - timedelta(days=keep_days)
    old = session.scalars(sa.select(Job.id).where(Job.created_at < cutoff)).all()
    if old:
        session.execute(sa.delete(Job).where(Job.id.in_(old)))
    session.commit()
    folder = Path(current_app.config["JOBS_FILES_DIR"])
    if folder.is_dir():
        known = set(session.scalars(sa.select(Job.id)).all())
        for entry in folder.iterdir():
            if entry.is_dir() and not (entry.name.isdigit() and int(entry.name) in known):
                shutil.rmtree(entry, ignore_errors=True)
    return len(old)


@job_function("jobs.cleanup")
def cleanup_job(session, ctx, keep_days: int | None = None) -> dict:
    days = current_app.config["JOBS_KEEP_DAYS"] if keep_days is None else keep_days
    return {"deleted": cleanup(session, days), "keep_days": days}
