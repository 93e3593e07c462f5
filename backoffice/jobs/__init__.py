"""The one background-job mechanism: huey as the queue, the `job` table as the record.

    from backoffice.jobs import job_function, submit, JobContext

    @job_function("imports.run")
    def run_import(session, ctx: JobContext, **params) -> dict: ...

    job = submit(session, "imports.run", {"import_id": 5}, user_id=user.id, title="Import x.csv")

`submit` commits a queued Job row and enqueues its id; a worker (`flask jobs worker`) runs
the function inside an app context with `db.session`, commits its writes with the result,
or rolls back and marks the job failed. See registry.job_function for the re-run rule.
"""

from .context import JobContext
from .registry import job_function
from .runner import submit

__all__ = ["JobContext", "job_function", "submit"]
