"""Submitting a job and running one in a worker.

A run claims the job with a conditional UPDATE (queued -> running), so a message that was
delivered twice (or re-enqueued by recovery) runs the job once. The job function's writes
and the job's result are committed together; an exception rolls the session back and
marks the job failed with its message.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time

import sqlalchemy as sa
from flask import current_app

from backoffice.audit import acting_as
from backoffice.extensions import db
from backoffice.models import Job, JobStatus
from backoffice.models.types import utcnow

from . import registry
from .context import PROGRESS_INTERVAL, JobContext, touch
from .queue import queue_for

log = logging.getLogger(__name__)

JOB = Job.__table__


def worker_id() -> str:
    """Who runs a job: recovery on the same host asks whether this process still lives."""
    return f"{socket.gethostname()}:{os.getpid()}"


def submit(session, kind: str, params: dict | None = None, *, user_id: int | None = None,
           title: str | None = None, enqueue: bool = True) -> Job:
    """Commit a queued Job row and enqueue a message carrying its id (unless `enqueue` is
    False: the caller runs it in its own process, as `flask jobs run` does)."""
    app = current_app._get_current_object()
    queue = queue_for(app)
    registry.function(kind)  # an unknown kind fails here, not later in the worker
    job = Job(kind=kind, title=(title or kind)[:200], params=json.dumps(params or {}),
              status=JobStatus.queued, user_id=user_id, progress_done=0, attempts=0)
    session.add(job)
    session.commit()
    if not enqueue:
        return job
    try:
        queue.enqueue(job.id)
    except Exception:
        # The row stays queued; a worker's recovery enqueues it when the queue is back.
        log.exception("job %s: could not enqueue", job.id)
    return job


def _claim(job_id: int) -> bool:
    now = utcnow()
    with db.engine.begin() as conn:
        claimed = conn.execute(
            sa.update(JOB).where(JOB.c.id == job_id, JOB.c.status == JobStatus.queued.value)
            .values(status=JobStatus.running.value, attempts=JOB.c.attempts + 1, started_at=now,
                    heartbeat_at=now, worker=worker_id(), error=None)).rowcount
    return claimed == 1


def _fail(job_id: int, exc: BaseException) -> None:
    message = (str(exc) or type(exc).__name__)[:2000]
    with db.engine.begin() as conn:
        conn.execute(sa.update(JOB).where(JOB.c.id == job_id)
                     .values(status=JobStatus.failed.value, error=message, finished_at=utcnow(),
                             file_name=None, file_path=None, file_mimetype=None))


def _actor(session, user_id: int | None, kind: str) -> str:
    if user_id is None:
        return f"job {kind}"
    user = session.get(current_app.appbuilder.sm.user_model, user_id)
    return user.username if user else f"job {kind}"


class _Reporter(threading.Thread):
    """Writes the job's progress (≤ 2/s) and a heartbeat every JOBS_HEARTBEAT_SECONDS, by
    which workers on other hosts tell a live job from one whose worker died."""

    def __init__(self, ctx: JobContext):
        super().__init__(name=f"job-{ctx.job_id}-reporter", daemon=True)
        self.ctx = ctx
        self.beat_every = ctx.app.config["JOBS_HEARTBEAT_SECONDS"]
        self.stopped = threading.Event()

    def run(self):
        last_beat = time.monotonic()
        while not self.stopped.wait(PROGRESS_INTERVAL):
            try:
                if self.ctx.write_progress():  # a progress write is a heartbeat too
                    last_beat = time.monotonic()
                elif time.monotonic() - last_beat >= self.beat_every:
                    touch(self.ctx.app, self.ctx.job_id)
                    last_beat = time.monotonic()
            except Exception:
                log.warning("job %s: progress not written", self.ctx.job_id, exc_info=True)

    def stop(self):
        self.stopped.set()
        self.join()


def run(job_id: int) -> None:
    """Run one job in this process (inside an app context): the worker's task body."""
    app = current_app._get_current_object()
    if not _claim(job_id):
        log.info("job %s is not queued (already run or taken by another worker)", job_id)
        return
    session = db.session
    ctx = JobContext(job_id, app)
    reporter = _Reporter(ctx)
    reporter.start()
    try:
        job = session.get(Job, job_id)
        function = registry.function(job.kind)
        params, user_id = job.params_dict, job.user_id
        actor = _actor(session, user_id, job.kind)
        session.commit()  # start the job's own work in a fresh transaction
        log.info("job %s (%s) started", job_id, job.kind)
        with acting_as(actor, user_id=user_id):
            result = function(session, ctx, **params)
        reporter.stop()
        _finish(session, job_id, ctx, result)
    except Exception as exc:
        reporter.stop()
        session.rollback()
        log.exception("job %s failed", job_id)
        ctx.discard_files()
        _fail(job_id, exc)
    finally:
        reporter.stopped.set()
        session.remove()
        try:
            queue_for(app).drop_progress(job_id)
        except Exception:
            log.warning("job %s: live progress not dropped", job_id, exc_info=True)


def _finish(session, job_id: int, ctx: JobContext, result) -> None:
    encoded = json.dumps(result if result is not None else {})
    job = session.get(Job, job_id)
    job.status = JobStatus.done
    job.result = encoded
    job.finished_at = utcnow()
    job.progress_done = ctx.done if ctx.total is None else max(ctx.done, ctx.total)
    job.progress_total = ctx.total
    job.message = ctx.message
    if ctx.file:
        job.file_name, job.file_path, job.file_mimetype = ctx.file
    session.commit()
    log.info("job %s done", job_id)
