"""My jobs: the logged-in user's background jobs, a self-refreshing job page, the result file.

A job belongs to the user who started it and nobody else (admins included): every page
looks the job up together with the user's id, so another user's job is simply not found.
"""

from __future__ import annotations

import functools

from flask import abort, current_app, jsonify, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from sqlalchemy import select

from ..extensions import db
from ..jobs.queue import queue_for
from ..models import Job, JobStatus
from ..security import logged_in_user
from .mixins import local_datetime

PAGE_SIZE = 100


def _user_id() -> int | None:
    user = logged_in_user()
    return user.id if user is not None and getattr(user, "is_authenticated", False) else None


def own_job_or_404(pk: int) -> Job:
    user_id = _user_id()
    job = db.session.get(Job, pk, populate_existing=True)  # a worker changes it meanwhile
    if job is None or user_id is None or job.user_id != user_id:
        abort(404)
    return job


def owner_only(method):
    """Like FAB's has_access, but 404 (not a login page) for anybody without the permission:
    a job's file and status must not even reveal that the job exists."""

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


def job_state(job: Job) -> dict:
    """What the job page shows and polls: live figures from the queue while it runs."""
    done, total, message = job.progress_done, job.progress_total, job.message
    if job.status == JobStatus.running:
        live = queue_for(current_app._get_current_object()).progress(job.id) or {}
        done, total = live.get("done", done), live.get("total", total)
        message = live.get("message", message)
    result = job.result_dict
    return {
        "id": job.id,
        "status": job.status.value,
        "status_label": str(job.status),
        "finished": job.finished,
        "done": done,
        "total": total,
        "percent": min(100, round(100 * done / total)) if total else (100 if job.finished else None),
        "message": message,
        "error": job.error if job.status == JobStatus.failed else None,
        "file_url": url_for("JobsView.file", pk=job.id) if job.file_path and job.finished else None,
        "file_name": job.file_name,
        "result_url": _local_url(result.get("url")),
    }


def result_rows(result: dict, limit: int = 20) -> list[tuple[str, str]]:
    """A job's result as short key/value rows (lists cut to `limit` entries)."""
    rows = []
    for key, value in result.items():
        if key == "url":
            continue
        if isinstance(value, list):
            more = f" … (+{len(value) - limit})" if len(value) > limit else ""
            value = "; ".join(map(str, value[:limit])) + more
        rows.append((key, "" if value is None else str(value)))
    return rows


class JobsView(BaseView):
    route_base = "/jobs"
    default_view = "list"

    @expose("/")
    @has_access
    def list(self):
        jobs = db.session.scalars(select(Job).where(Job.user_id == _user_id())
                                  .order_by(Job.id.desc()).limit(PAGE_SIZE)).all()
        return self.render_template("jobs/list.html", jobs=jobs, when=local_datetime)

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        job = own_job_or_404(pk)
        return self.render_template("jobs/show.html", job=job, state=job_state(job),
                                    result_rows=result_rows(job.result_dict), when=local_datetime)

    @expose("/<int:pk>/status")
    @owner_only
    def status(self, pk):
        return jsonify(job_state(own_job_or_404(pk)))

    @expose("/<int:pk>/file")
    @owner_only
    def file(self, pk):
        job = own_job_or_404(pk)
        if job.status != JobStatus.done or not job.file_path:
            abort(404)
        try:
            return send_file(job.file_path, mimetype=job.file_mimetype, as_attachment=True,
                             download_name=job.file_name)
        except FileNotFoundError:
            abort(404)
