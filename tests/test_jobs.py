"""Background jobs: a real huey consumer runs them against the test database."""

from __future__ import annotations

from backoffice.jobs import submit
from backoffice.models import JobStatus
from tests import jobs_kinds  # noqa: F401  (registers the test job kinds)


def test_job_runs_and_stores_its_result(job_worker, make):
    user = make.user("runner", "Staff")
    job = submit(make_session(), "test.count", {"n": 4}, user_id=user.id, title="Count to four")
    done = job_worker.wait(job.id)
    assert done.status == JobStatus.done
    assert done.result_dict == {"counted": 4, "url": "/jobs/"}
    assert (done.progress_done, done.progress_total, done.message) == (4, 4, "counted 4")
    assert done.attempts == 1 and done.started_at and done.finished_at


def make_session():
    from backoffice.extensions import db

    return db.session
