"""My background tasks: the logged-in user's tasks, a self-refreshing task page, the result file.

A task belongs to the user who started it and nobody else (admins included): every page
looks the task up together with the user's id, so another user's task is simply not found.
"""

from __future__ import annotations

import functools

from flask import abort, current_app, jsonify, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from sqlalchemy import select

from ..extensions import db
from ..models import Task, TaskStatus
from ..security import logged_in_user
from ..tasks.queue import queue_for
from .mixins import local_datetime

PAGE_SIZE = 100


def _user_id() -> int | None:
    user = logged_in_user()
    return user.id if user is not None and getattr(user, "is_authenticated", False) else None


def own_task_or_404(pk: int) -> Task:
    user_id = _user_id()
    task = db.session.get(Task, pk, populate_existing=True)  # a worker changes it meanwhile
    if task is None or user_id is None or task.user_id != user_id:
        abort(404)
    return task


def owner_only(method):
    """Like FAB's has_access, but 404 (not a login page) for anybody without the permission:
    a task's file and status must not even reveal that the task exists."""

    @functools.wraps(method)
    def wrapped(self, pk):
        allowed = _user_id() is not None and self.appbuilder.sm.has_access(
            f"can_{method.__name__}", self.class_permission_name)
        if not allowed:
            abort(404)
        return method(self, pk)

    wrapped._permission_name = method.__name__
    return wrapped


def _local_url(url) -> str | None:
    """Only a path of this app becomes a link (no other sites, no javascript: URLs)."""
    return url if isinstance(url, str) and url.startswith("/") and not url.startswith("//") else None


def task_state(task: Task) -> dict:
    """What the task page shows and polls: live figures from the queue while it runs."""
    done, total, message = task.progress_done, task.progress_total, task.message
    if task.status == TaskStatus.running:
        live = queue_for(current_app._get_current_object()).progress(task.id) or {}
        done, total = live.get("done", done), live.get("total", total)
        message = live.get("message", message)
    result = task.result_dict
    return {
        "id": task.id,
        "status": task.status.value,
        "status_label": str(task.status),
        "finished": task.finished,
        "done": done,
        "total": total,
        "percent": min(100, round(100 * done / total)) if total else (100 if task.finished else None),
        "message": message,
        "error": task.error if task.status == TaskStatus.failed else None,
        "file_url": url_for("TasksView.file", pk=task.id) if task.file_path and task.finished else None,
        "file_name": task.file_name,
        "result_url": _local_url(result.get("url")),
    }


def result_rows(result: dict, limit: int = 20) -> list[tuple[str, str]]:
    """A task's result as short key/value rows (lists cut to `limit` entries)."""
    rows = []
    for key, value in result.items():
        if key == "url":
            continue
        if isinstance(value, list):
            more = f" … (+{len(value) - limit})" if len(value) > limit else ""
            value = "; ".join(map(str, value[:limit])) + more
        rows.append((key, "" if value is None else str(value)))
    return rows


class TasksView(BaseView):
    route_base = "/tasks"
    default_view = "list"

    @expose("/")
    @has_access
    def list(self):
        tasks = db.session.scalars(select(Task).where(Task.user_id == _user_id())
                                   .order_by(Task.id.desc()).limit(PAGE_SIZE)).all()
        return self.render_template("tasks/list.html", tasks=tasks, when=local_datetime)

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        task = own_task_or_404(pk)
        return self.render_template("tasks/show.html", task=task, state=task_state(task),
                                    result_rows=result_rows(task.result_dict), when=local_datetime)

    @expose("/<int:pk>/status")
    @owner_only
    def status(self, pk):
        return jsonify(task_state(own_task_or_404(pk)))

    @expose("/<int:pk>/file")
    @owner_only
    def file(self, pk):
        task = own_task_or_404(pk)
        if task.status != TaskStatus.done or not task.file_path:
            abort(404)
        try:
            return send_file(task.file_path, mimetype=task.file_mimetype, as_attachment=True,
                             download_name=task.file_name)
        except FileNotFoundError:
            abort(404)
