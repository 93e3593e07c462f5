"""Jobs survive a worker restart: find the ones whose worker died and queue them again.

huey removes a message from the queue when a worker takes it, so a worker killed mid-job
takes the message with it. The job row still says `running`: if its worker was a process on
this host that no longer exists, or its heartbeat is older than JOBS_STALE_SECONDS (a worker
on another host), the job is queued again, at most JOBS_MAX_ATTEMPTS times in all. Queued jobs
without a message (the queue was unreachable at submit) get one. Runs when a worker starts
and every few minutes.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from backoffice.models import Job, JobStatus
from backoffice.models.types import utcnow

from .queue import queue_for

log = logging.getLogger(__name__)

JOB = Job.__table__


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_alive(job: Job, stale_after: timedelta, now) -> bool:
    host, _, pid = (job.worker or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return _process_alive(int(pid))
    return job.heartbeat_at is not None and job.heartbeat_at > now - stale_after


def recover(session) -> list[int]:
    """Queue again (or give up on) running jobs whose worker is gone; returns their ids."""
    config = current_app.config
    queue = queue_for(current_app._get_current_object())
    now = utcnow()
    stale_after = timedelta(seconds=config["JOBS_STALE_SECONDS"])
    requeued = []
    running = session.scalars(sa.select(Job).where(Job.status == JobStatus.running)).all()
    for job in running:
        if worker_alive(job, stale_after, now):
            continue
        mine = sa.update(JOB).where(JOB.c.id == job.id, JOB.c.status == JobStatus.running.value,
                                    JOB.c.worker == job.worker)
        if job.attempts >= config["JOBS_MAX_ATTEMPTS"]:
            session.execute(mine.values(
                status=JobStatus.failed.value, finished_at=now,
                error=_("Gave up after %(n)s attempts: the worker stopped while running it.",
                        n=job.attempts)))
            session.commit()
            log.warning("job %s: gave up after %s attempts", job.id, job.attempts)
            continue
        taken = session.execute(mine.values(status=JobStatus.queued.value)).rowcount
        session.commit()
        if taken:
            queue.enqueue(job.id)
            requeued.append(job.id)
            log.warning("job %s: its worker %s is gone; queued again", job.id, job.worker)
    pending = queue.pending_job_ids()
    queued = session.scalars(sa.select(Job.id).where(Job.status == JobStatus.queued)).all()
    for job_id in queued:
        if job_id not in pending:
            queue.enqueue(job_id)
            requeued.append(job_id)
    session.commit()
    return requeued
