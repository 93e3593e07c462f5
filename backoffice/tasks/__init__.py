"""The one background-task mechanism: huey as the queue, the `task` table as the record.

    from backoffice.tasks import task, submit, TaskContext

    @task("imports.run")
    def run_import(session, ctx: TaskContext, **params) -> dict: ...

    @task("downline.check", schedule=crontab(minute="30", hour="2"), title=_l("Nightly check"))
    def check(session, ctx: TaskContext) -> dict: ...

    record = submit(session, "imports.run", {"import_id": 5}, user_id=user.id, title="Import x.csv")

`submit` commits a queued Task row and enqueues its id; a worker (`flask tasks worker`) runs
the function inside an app context with `db.session`, commits its writes with the result,
or rolls back and marks the task failed. A kind with a schedule is submitted on it by the
queue. A module's tasks are registered when it is imported (`create_app` imports them);
see registry.task for the re-run rule.
"""

from .context import TaskContext
from .registry import task
from .runner import submit

__all__ = ["TaskContext", "task", "submit"]
