"""Submitting a task and running one in a worker.

A run claims the task with a conditional UPDATE (queued -> running), so a message that was
delivered twice (or re-enqueued by recovery) runs the task once. The task function's writes
and the task's result are committed together; an exception rolls the session back and
marks the task failed with its message.
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

from backoffice import transaction
from backoffice.audit import acting_as
from backoffice.extensions import db
from backoffice.models import Task, TaskStatus
from backoffice.models.types import utcnow

from . import registry
from .context import PROGRESS_INTERVAL, TaskContext, touch
from .queue import queue_for

log = logging.getLogger(__name__)

TASK = Task.__table__


def worker_id() -> str:
    """Who runs a task: recovery on the same host asks whether this process still lives."""
    return f"{socket.gethostname()}:{os.getpid()}"


def submit(session, kind: str, params: dict | None = None, *, user_id: int | None = None,
           title: str | None = None, enqueue: bool = True) -> Task:
    """Commit a queued Task row and enqueue a message carrying its id (unless `enqueue` is
    False: the caller runs it in its own process, as `flask tasks run` does)."""
    app = current_app._get_current_object()
    queue = queue_for(app)
    registry.function(kind)  # an unknown kind fails here, not later in the worker
    task = Task(kind=kind, title=str(title or kind)[:200], params=json.dumps(params or {}),
                status=TaskStatus.queued, user_id=user_id, progress_done=0, attempts=0)
    with transaction.unit_of_work(session):
        session.add(task)
    if not enqueue:
        return task
    try:
        queue.enqueue(task.id)
    except Exception:
        # The row stays queued; a worker's recovery enqueues it when the queue is back.
        log.exception("task %s: could not enqueue", task.id)
    return task


def _claim(task_id: int) -> bool:
    now = utcnow()
    with db.engine.begin() as conn:
        claimed = conn.execute(
            sa.update(TASK).where(TASK.c.id == task_id, TASK.c.status == TaskStatus.queued.value)
            .values(status=TaskStatus.running.value, attempts=TASK.c.attempts + 1, started_at=now,
                    heartbeat_at=now, worker=worker_id(), error=None)).rowcount
    return claimed == 1


def _fail(task_id: int, exc: BaseException) -> None:
    message = (str(exc) or type(exc).__name__)[:2000]
    with db.engine.begin() as conn:
        conn.execute(sa.update(TASK).where(TASK.c.id == task_id)
                     .values(status=TaskStatus.failed.value, error=message, finished_at=utcnow(),
                             file_name=None, file_path=None, file_mimetype=None))


def _actor(session, user_id: int | None, kind: str) -> str:
    if user_id is None:
        return f"task {kind}"
    user = session.get(current_app.appbuilder.sm.user_model, user_id)
    return user.username if user else f"task {kind}"


class _Reporter(threading.Thread):
    """Writes the task's progress (≤ 2/s) and a heartbeat every TASKS_HEARTBEAT_SECONDS, by
    which workers on other hosts tell a live task from one whose worker died."""

    def __init__(self, ctx: TaskContext):
        super().__init__(name=f"task-{ctx.task_id}-reporter", daemon=True)
        self.ctx = ctx
        self.beat_every = ctx.app.config["TASKS_HEARTBEAT_SECONDS"]
        self.stopped = threading.Event()

    def run(self):
        last_beat = time.monotonic()
        while not self.stopped.wait(PROGRESS_INTERVAL):
            try:
                if self.ctx.write_progress():  # a progress write is a heartbeat too
                    last_beat = time.monotonic()
                elif time.monotonic() - last_beat >= self.beat_every:
                    touch(self.ctx.app, self.ctx.task_id)
                    last_beat = time.monotonic()
            except Exception:
                log.warning("task %s: progress not written", self.ctx.task_id, exc_info=True)

    def stop(self):
        self.stopped.set()
        self.join()


def run(task_id: int) -> None:
    """Run one task in this process (inside an app context): the body of the worker's huey task."""
    app = current_app._get_current_object()
    if not _claim(task_id):
        log.info("task %s is not queued (already run or taken by another worker)", task_id)
        return
    session = db.session
    ctx = TaskContext(task_id, app)
    reporter = _Reporter(ctx)
    reporter.start()
    try:
        task = session.get(Task, task_id)
        function = registry.function(task.kind)
        params, user_id = task.params_dict, task.user_id
        actor = _actor(session, user_id, task.kind)
        transaction.keep(session)  # start the task's own work in a fresh transaction
        log.info("task %s (%s) started", task_id, task.kind)
        with acting_as(actor, user_id=user_id):
            result = function(session, ctx, **params)
        reporter.stop()
        _finish(session, task_id, ctx, result)
    except Exception as exc:
        reporter.stop()
        transaction.discard(session)
        log.exception("task %s failed", task_id)
        ctx.discard_files()
        _fail(task_id, exc)
    finally:
        reporter.stopped.set()
        session.remove()
        try:
            queue_for(app).drop_progress(task_id)
        except Exception:
            log.warning("task %s: live progress not dropped", task_id, exc_info=True)


def _finish(session, task_id: int, ctx: TaskContext, result) -> None:
    encoded = json.dumps(result if result is not None else {})
    task = session.get(Task, task_id)
    task.status = TaskStatus.done
    task.result = encoded
    task.finished_at = utcnow()
    task.progress_done = ctx.done if ctx.total is None else max(ctx.done, ctx.total)
    task.progress_total = ctx.total
    task.message = ctx.message
    if ctx.file:
        task.file_name, task.file_path, task.file_mimetype = ctx.file
    transaction.keep(session)  # the task function's writes and the result together
    log.info("task %s done", task_id)
