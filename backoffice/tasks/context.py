"""What a task function gets besides its session: its id, progress reporting, file saving."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.pool import NullPool
from werkzeug.utils import secure_filename

from backoffice.extensions import db
from backoffice.models import Task, TaskStatus
from backoffice.models.types import utcnow

from .queue import queue_for

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5  # seconds: at most two progress writes a second


def side_engine(app: Flask) -> sa.Engine:
    """Connections for progress and heartbeat writes, apart from the task's own transaction.

    On SQLite they wait briefly only: while the task's own transaction holds the database's one
    write lock they fail (the live figures are in the queue's store anyway). They run in the
    reporter thread, so the wait never slows the task down.
    """
    engine = app.extensions.get("tasks_side_engine")
    if engine is None:
        if db.engine.dialect.name == "sqlite":
            engine = sa.create_engine(db.engine.url, poolclass=NullPool, connect_args={"timeout": 0.1})
        else:
            engine = db.engine
        app.extensions["tasks_side_engine"] = engine
    return engine


def touch(app: Flask, task_id: int, **values) -> bool:
    """Write `values` (and a heartbeat) to a running task in a short transaction of its own."""
    statement = (sa.update(Task.__table__)
                 .where(Task.__table__.c.id == task_id, Task.__table__.c.status == TaskStatus.running.value)
                 .values(heartbeat_at=utcnow(), **values))
    try:
        with side_engine(app).begin() as conn:
            conn.execute(statement)
        return True
    except sa.exc.OperationalError as exc:
        log.debug("task %s: progress not written to the database now (%s)", task_id, exc.orig)
        return False


def files_dir(app: Flask, task_id: int) -> Path:
    return Path(app.config["TASKS_FILES_DIR"]) / str(int(task_id))


class TaskContext:
    """Handed to every task function as `ctx`.

    `progress` only notes the figures; the runner's reporter thread writes them (at most
    twice a second, and the last figures always), so a task that reports every row pays
    nothing for it and a task that then works quietly for minutes still shows its last step.
    """

    def __init__(self, task_id: int, app: Flask | None = None):
        self.task_id = task_id
        self.app = app or current_app._get_current_object()
        self.done, self.total, self.message = 0, None, None
        self.file: tuple[str, str, str] | None = None  # (name, path, mimetype), saved with the task
        self._lock = threading.Lock()
        self._unwritten = False

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Report how far the task is (`total`/`message` None: keep the previous ones)."""
        with self._lock:
            self.done = int(done)
            if total is not None:
                self.total = int(total)
            if message is not None:
                self.message = str(message)
            self._unwritten = True

    def write_progress(self) -> bool:
        """Persist unwritten figures: to the queue's store and, in its own transaction, the task
        row. Returns whether there was something to write."""
        with self._lock:
            if not self._unwritten:
                return False
            self._unwritten = False
            figures = {"done": self.done, "total": self.total, "message": self.message}
        try:
            queue_for(self.app).put_progress(self.task_id, figures)
        except Exception:
            with self._lock:
                self._unwritten = True  # try again on the next tick
            raise
        touch(self.app, self.task_id, progress_done=figures["done"], progress_total=figures["total"],
              message=figures["message"])
        return True

    def save_file(self, filename: str, data: bytes, mimetype: str) -> Path:
        """Store the task's result file; the task page offers it to the user who started the task."""
        folder = files_dir(self.app, self.task_id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (secure_filename(filename) or "result")
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(data)
        os.replace(partial, path)
        self.file = (filename, str(path), mimetype)
        return path

    def discard_files(self) -> None:
        shutil.rmtree(files_dir(self.app, self.task_id), ignore_errors=True)
        self.file = None
