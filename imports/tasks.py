"""Desk uploads run here, in the background worker (`flask tasks worker`), never in a web worker."""

from __future__ import annotations

from flask_babel import gettext as _

from backoffice.tasks import TaskContext, task

from .runs import execute


@task("imports.run")
def run_import(session, ctx: TaskContext, import_id: int) -> dict:
    """Re-runnable: the import is one transaction that either committed or left nothing."""
    def progress(done: int, total: int) -> None:
        ctx.progress(done, total, _("%(done)s of about %(total)s rows", done=done, total=total))

    report = execute(session, import_id, progress=progress)
    return {"url": f"/imports/{import_id}", "ok": report.ok, "rows": report.rows, "created": report.created,
            "updated": report.updated, "rejected": report.rejected}
