"""The task queue: huey on a SQLite file (embedded default) or on Redis (several machines).

One huey instance per app, built from `JOBS_QUEUE_URL`. Its only ordinary task is
`run_job(job_id)`; the periodic tasks submit ordinary jobs (user NULL) on a schedule, so
they show up and are kept like any other job. A message carries nothing but a job id: the
job's state lives in the database, the queue only says "work on this now".
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import Flask
from huey import Huey, RedisHuey, SqliteHuey, crontab

from . import registry

log = logging.getLogger(__name__)

# (job kind, when, title): every kind here is also `flask jobs run <kind>` for plain cron.
# Times are UTC (huey's clock).
PERIODIC = (
    ("downline.check", crontab(minute="30", hour="2"), "Nightly downline integrity check"),
    ("jobs.cleanup", crontab(minute="15", hour="3"), "Delete old jobs and their files"),
)
RECOVER_EVERY = crontab(minute="*/5")

_lock = threading.RLock()


def huey_from_url(url: str, name: str = "partnerdesk") -> Huey:
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), results=False)
    raise ValueError(f"JOBS_QUEUE_URL must be sqlite:///<file> or redis://..., not {url!r}")


class Queue:
    """The app's huey instance with our tasks registered on it."""

    def __init__(self, app: Flask):
        self.app = app
        self.huey = huey_from_url(app.config["JOBS_QUEUE_URL"], app.config["JOBS_QUEUE_NAME"])
        registry.load_modules(app.config["JOBS_MODULES"])
        self.run_job = self.huey.task(name="run_job")(self._run_job)
        for kind, when, title in PERIODIC:
            self.huey.periodic_task(when, name=f"periodic:{kind}")(self._periodic(kind, title))
        self.huey.periodic_task(RECOVER_EVERY, name="recover")(self._recover)

    def _run_job(self, job_id: int) -> None:
        from .runner import run

        with self.app.app_context():
            run(job_id)

    def _periodic(self, kind: str, title: str):
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

    def enqueue(self, job_id: int) -> None:
        self.run_job(job_id)

    def pending_job_ids(self) -> set[int]:
        return {task.args[0] for task in self.huey.pending()
                if task.name == "run_job" and task.args}

    # Live progress: a key per running job in the queue's own store, written without touching
    # the app database (whose one SQLite write lock the job itself may be holding).
    def put_progress(self, job_id: int, progress: dict) -> None:
        self.huey.put(f"progress:{job_id}", progress)

    def progress(self, job_id: int) -> dict | None:
        return self.huey.get(f"progress:{job_id}", peek=True)

    def drop_progress(self, job_id: int) -> None:
        self.huey.delete(f"progress:{job_id}")


def queue_for(app: Flask) -> Queue:
    queue = app.extensions.get("jobs_queue")
    if queue is None:
        with _lock:
            queue = app.extensions.get("jobs_queue")
            if queue is None:
                queue = app.extensions["jobs_queue"] = Queue(app)
    return queue


def reset_queue(app: Flask) -> None:
    """Forget the app's queue (after changing JOBS_QUEUE_URL, e.g. in tests)."""
    with _lock:
        app.extensions.pop("jobs_queue", None)
