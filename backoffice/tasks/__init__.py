"""The one background-task mechanism: huey as the queue, the `task` table as the record.

    from backoffice.tasks import task, submit, TaskContext

    @task("imports.run")
    def run_import(session, ctx: TaskContext, **params) -> dict: ...

    task = submit(session, "imports.run", {"import_id": 5}, user_id=user.id, title="Import x.csv")

`submit` commits a queued Task row and enqueues its id; a worker (`flask tasks worker`) runs
the function inside an app context with `db.session`, commits its writes with the result,
or rolls back and marks the task failed. See registry.task for the re-run rule.
"""

from .context import TaskContext
from .registry import task
from .runner import submit

__all__ = ["TaskContext", "task", "submit"]
