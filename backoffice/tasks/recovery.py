"""Tasks survive a worker restart: find the ones whose worker died and queue them again.

huey removes a message from the queue when a worker takes it, so a worker killed mid-task
takes the message with it. The task row still says `running`: if its worker was a process on
this host that no longer exists, or its heartbeat is older than TASKS_STALE_SECONDS (a worker
on another host), the task is queued again, at most TASKS_MAX_ATTEMPTS times in all. Queued
tasks without a message (the queue was unreachable at submit) get one. Runs when a worker
starts and every few minutes.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from backoffice import transaction
from backoffice.models import Task, TaskStatus
from backoffice.models.types import utcnow

from .queue import queue_for

log = logging.getLogger(__name__)

TASK = Task.__table__


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_alive(task: Task, stale_after: timedelta, now) -> bool:
    host, _, pid = (task.worker or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return _process_alive(int(pid))
    return task.heartbeat_at is not None and task.heartbeat_at > now - stale_after


def recover(session) -> list[int]:
    """Queue again (or give up on) running tasks whose worker is gone; returns their ids."""
    config = current_app.config
    queue = queue_for(current_app._get_current_object())
    now = utcnow()
    stale_after = timedelta(seconds=config["TASKS_STALE_SECONDS"])
    requeued = []
    running = session.scalars(sa.select(Task).where(Task.status == TaskStatus.running)).all()
    for task in running:
        if worker_alive(task, stale_after, now):
            continue
        mine = sa.update(TASK).where(TASK.c.id == task.id, TASK.c.status == TaskStatus.running.value,
                                     TASK.c.worker == task.worker)
        if task.attempts >= config["TASKS_MAX_ATTEMPTS"]:
            with transaction.unit_of_work(session):
                session.execute(mine.values(
                    status=TaskStatus.failed.value, finished_at=now,
                    error=_("Gave up after %(n)s attempts: the worker stopped while running it.",
                            n=task.attempts)))
            log.warning("task %s: gave up after %s attempts", task.id, task.attempts)
            continue
        with transaction.unit_of_work(session):  # queued in the database before the message goes
            taken = session.execute(mine.values(status=TaskStatus.queued.value)).rowcount
        if taken:
            queue.enqueue(task.id)
            requeued.append(task.id)
            log.warning("task %s: its worker %s is gone; queued again", task.id, task.worker)
    pending = queue.pending_task_ids()
    queued = session.scalars(sa.select(Task.id).where(Task.status == TaskStatus.queued)).all()
    for task_id in queued:
        if task_id not in pending:
            queue.enqueue(task_id)
            requeued.append(task_id)
    transaction.keep(session)
    return requeued
