"""Background tasks: one row per piece of work handed to the task queue (see backoffice/tasks).

The queue message carries only the task id; everything the user sees (status, progress,
result, file) lives here, so it outlives the queue and a worker restart.
"""

from __future__ import annotations

import json

from flask_appbuilder import Model
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text

from .addresses import LabelledEnum, _enum
from .types import UTCDateTime, utcnow


class TaskStatus(LabelledEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


TaskStatus.LABELS = {"queued": _l("Queued"), "running": _l("Running"), "done": _l("Done"),
                     "failed": _l("Failed")}


class Task(Model):
    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_user_created", "user_id", "created_at"),
        Index("ix_task_status", "status"),
    )

    id = Column(Integer, primary_key=True)
    kind = Column(String(64), nullable=False)           # registered task function name
    title = Column(String(200), nullable=False)
    params = Column(Text, nullable=False, default="{}")  # JSON
    status = Column(_enum(TaskStatus, "task_status"), nullable=False, default=TaskStatus.queued)
    progress_done = Column(Integer, nullable=False, default=0)
    progress_total = Column(Integer, nullable=True)
    message = Column(Text, nullable=True)
    result = Column(Text, nullable=True)                # JSON
    error = Column(Text, nullable=True)
    # Who started it (only they may see it); NULL for periodic/cron tasks.
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    started_at = Column(UTCDateTime, nullable=True)
    finished_at = Column(UTCDateTime, nullable=True)
    attempts = Column(Integer, nullable=False, default=0)
    # Which worker runs it ("host:pid") and when it last said so: how a restarted or other
    # worker tells a task whose worker died from one that is still being worked on.
    worker = Column(String(200), nullable=True)
    heartbeat_at = Column(UTCDateTime, nullable=True)
    file_name = Column(String(255), nullable=True)
    file_path = Column(String(1000), nullable=True)
    file_mimetype = Column(String(200), nullable=True)

    @property
    def params_dict(self) -> dict:
        return json.loads(self.params or "{}")

    @property
    def result_dict(self) -> dict:
        return json.loads(self.result) if self.result else {}

    @property
    def finished(self) -> bool:
        return self.status in (TaskStatus.done, TaskStatus.failed)

    def __str__(self) -> str:
        return f"{self.title} [{self.id}]"
