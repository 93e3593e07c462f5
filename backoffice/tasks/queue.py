"""The task queue: huey on a SQLite file (embedded default) or on Redis (several machines).

One huey instance per app, built from `TASKS_QUEUE_URL`. Its only ordinary huey task is
`run_task(task_id)`. Every registered task kind with a schedule gets a huey periodic task that
submits it (user NULL), so a scheduled run shows up and is kept like any other task; each such
kind is also `flask tasks run <kind>` for plain cron. A message carries nothing but a task id:
the task's state lives in the database, the queue only says "work on this now".
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import Flask
from huey import Huey, RedisHuey, SqliteHuey, crontab

from . import registry

log = logging.getLogger(__name__)

# The queue's own housekeeping (times are UTC, huey's clock).
RECOVER_EVERY = crontab(minute="*/5")

_lock = threading.RLock()


def huey_from_url(url: str, name: str = "partnerdesk") -> Huey:
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), results=False)
    raise ValueError(f"TASKS_QUEUE_URL must be sqlite:///<file> or redis://..., not {url!r}")


class Queue:
    """The app's huey instance with our tasks registered on it.

    Built on first use, from the task kinds registered by then: `create_app` has imported
    every module that defines tasks.
    """

    def __init__(self, app: Flask):
        self.app = app
        self.huey = huey_from_url(app.config["TASKS_QUEUE_URL"], app.config["TASKS_QUEUE_NAME"])
        self.run_task = self.huey.task(name="run_task")(self._run_task)
        for kind in registry.scheduled():
            self.huey.periodic_task(kind.schedule, name=f"periodic:{kind.name}")(
                self._periodic(kind.name, kind.title))
        self.huey.periodic_task(RECOVER_EVERY, name="recover")(self._recover)

    def _run_task(self, task_id: int) -> None:
        from .runner import run

        with self.app.app_context():
            run(task_id)

    def _periodic(self, kind: str, title):
        def submit_periodic():
            from backoffice.extensions import db

            from .runner import submit

            with self.app.app_context():
                submit(db.session, kind, {}, user_id=None, title=title)
                db.session.remove()

        submit_periodic.__name__ = f"periodic_{kind.replace('.', '_')}"
        return submit_periodic

    def _recover(self) -> None:
        from backoffice.extensions import db

        from .recovery import recover

        with self.app.app_context():
            recover(db.session)
            db.session.remove()

    def enqueue(self, task_id: int) -> None:
        self.run_task(task_id)

    def pending_task_ids(self) -> set[int]:
        return {message.args[0] for message in self.huey.pending()
                if message.name == "run_task" and message.args}

    # Live progress: a key per running task in the queue's own store, written without touching
    # the app database (whose one SQLite write lock the task itself may be holding).
    def put_progress(self, task_id: int, progress: dict) -> None:
        self.huey.put(f"progress:{task_id}", progress)

    def progress(self, task_id: int) -> dict | None:
        return self.huey.get(f"progress:{task_id}", peek=True)

    def drop_progress(self, task_id: int) -> None:
        self.huey.delete(f"progress:{task_id}")


def queue_for(app: Flask) -> Queue:
    queue = app.extensions.get("tasks_queue")
    if queue is None:
        with _lock:
            queue = app.extensions.get("tasks_queue")
            if queue is None:
                queue = app.extensions["tasks_queue"] = Queue(app)
    return queue


def reset_queue(app: Flask) -> None:
    """Forget the app's queue (after changing TASKS_QUEUE_URL, e.g. in tests)."""
    with _lock:
        app.extensions.pop("tasks_queue", None)
