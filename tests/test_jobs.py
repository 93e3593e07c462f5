"""Background jobs: a real huey consumer runs them against the test database."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.jobs import submit
from backoffice.jobs.queue import queue_for
from backoffice.jobs.recovery import recover
from backoffice.models import Address, Job, JobStatus
from tests import jobs_kinds  # noqa: F401  (registers the test job kinds)
from tests.conftest import login


def test_job_reports_progress_while_it_runs_and_stores_its_result(job_worker, make, client, tmp_path):
    user = make.user("runner", "Staff")
    flag = tmp_path / "go-on"
    job = submit(db.session, "test.count", {"n": 4, "flag": str(flag)}, user_id=user.id, title="Count")
    login(client, "runner")

    def halfway():
        state = client.get(f"/jobs/{job.id}/status").json
        return state if state["done"] == 2 else None

    deadline = time.monotonic() + 20
    while (state := halfway()) is None:
        assert time.monotonic() < deadline, f"progress never reached 2 of 4: {vars(job_worker.job(job.id))}"
        time.sleep(0.1)
    assert state["status"] == "running" and state["total"] == 4 and state["percent"] == 50
    assert state["message"] == "counted 2" and not state["finished"]
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'data-test="job-progress"' in page and "/status" in page
    assert '<script src="http' not in page  # nothing from the internet

    flag.touch()
    done = job_worker.wait(job.id)
    assert done.status == JobStatus.done and done.attempts == 1
    assert done.result_dict == {"counted": 4, "url": "/jobs/"}
    assert (done.progress_done, done.progress_total, done.message) == (4, 4, "counted 4")
    assert done.created_at <= done.started_at <= done.finished_at
    assert done.finished_at.tzinfo is not None
    state = client.get(f"/jobs/{job.id}/status").json
    assert state["finished"] and state["percent"] == 100 and state["result_url"] == "/jobs/"
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'data-test="job-result"' in page and 'href="/jobs/"' in page


def test_result_file_is_for_the_user_who_started_the_job_only(job_worker, make, app):
    owner = make.partner("meier")
    make.partner("schulz")
    make.user("staff", "Staff")
    make.user("admin", "Admin")
    job = submit(db.session, "test.file", {"text": "Hallo Welt"}, user_id=owner.user_id, title="File")
    done = job_worker.wait(job.id)
    assert done.status == JobStatus.done and done.file_name == "greeting.txt"
    assert Path(done.file_path).parent == Path(job_worker.env["JOBS_FILES_DIR"]) / str(job.id)

    mine = login(app.test_client(), "meier")
    response = mine.get(f"/jobs/{job.id}/file")
    assert response.status_code == 200 and response.data == b"Hallo Welt"
    assert "greeting.txt" in response.headers["Content-Disposition"]
    assert f"/jobs/{job.id}" in mine.get("/jobs/").get_data(as_text=True)

    for other in ("schulz", "staff", "admin"):
        client = login(app.test_client(), other)
        for url in (f"/jobs/{job.id}/file", f"/jobs/{job.id}/status", f"/jobs/{job.id}"):
            assert client.get(url).status_code == 404, (other, url)
        assert f"/jobs/{job.id}" not in client.get("/jobs/").get_data(as_text=True)
    anonymous = app.test_client()
    assert anonymous.get(f"/jobs/{job.id}/file").status_code == 404
    assert anonymous.get(f"/jobs/{job.id}/status").status_code == 404
    assert anonymous.get(f"/jobs/{job.id}").status_code in (302, 404)


def test_failing_job_is_marked_failed_and_writes_nothing(job_worker, make, app):
    user = make.user("runner", "Finance")
    job = submit(db.session, "test.fail", {"last_name": "Halbfertig"}, user_id=user.id, title="Fail")
    failed = job_worker.wait(job.id)
    assert failed.status == JobStatus.failed
    assert failed.error == "the ledger does not balance"
    assert failed.file_path is None and failed.result is None
    assert not (Path(job_worker.env["JOBS_FILES_DIR"]) / str(job.id)).exists()
    assert db.session.scalar(sa.select(sa.func.count()).where(Address.last_name == "Halbfertig")) == 0
    client = login(app.test_client(), "runner")
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "the ledger does not balance" in page
    assert client.get(f"/jobs/{job.id}/file").status_code == 404


def test_job_survives_a_killed_worker_and_completes_exactly_once(job_worker_process, job_queue, make,
                                                                 tmp_path):
    user = make.user("runner", "Staff")
    started, flag = tmp_path / "started", tmp_path / "go-on"
    job = submit(db.session, "test.blocking_write", {
        "last_name": "Genaueinmal", "started": str(started), "flag": str(flag)}, user_id=user.id,
        title="Blocking")
    first = job_worker_process()
    deadline = time.monotonic() + 60
    while not started.exists():
        assert first.poll() is None and time.monotonic() < deadline, "first worker never started the job"
        time.sleep(0.1)
    assert job_queue.job(job.id).status == JobStatus.running
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert job_queue.job(job.id).status == JobStatus.running  # nobody told the database

    flag.touch()
    job_worker_process()  # a new worker finds the job of the dead one and runs it again
    done = job_queue.wait(job.id, timeout=60)
    assert done.status == JobStatus.done and done.attempts == 2
    assert done.result_dict == {"wrote": "Genaueinmal"}
    assert started.read_text() == "started\nstarted\n"
    assert db.session.scalar(sa.select(sa.func.count()).where(Address.last_name == "Genaueinmal")) == 1


def test_recovery_gives_up_after_the_last_attempt(job_queue, ctx, app):
    dead = f"{os.uname().nodename}:999999999"
    job = Job(kind="test.count", title="Doomed", params="{}", status=JobStatus.running,
              attempts=app.config["JOBS_MAX_ATTEMPTS"], worker=dead, progress_done=0)
    again = Job(kind="test.count", title="Again", params="{}", status=JobStatus.running, attempts=1,
                worker=dead, progress_done=0)
    alive = Job(kind="test.count", title="Alive elsewhere", params="{}", status=JobStatus.running,
                attempts=1, worker="other-host:1", heartbeat_at=datetime.now(UTC), progress_done=0)
    db.session.add_all([job, again, alive])
    db.session.commit()
    assert recover(db.session) == [again.id]
    assert job_queue.job(job.id).status == JobStatus.failed and "3" in job_queue.job(job.id).error
    assert job_queue.job(again.id).status == JobStatus.queued
    assert job_queue.job(alive.id).status == JobStatus.running
    assert queue_for(app).pending_job_ids() == {again.id}


def test_periodic_jobs_are_scheduled_and_recorded_without_user(job_worker, app, make):
    make.address(last_name="Wurzel")
    huey = queue_for(app).huey
    names = {task.__name__ for task in huey._registry._periodic_tasks}
    assert {"periodic:downline.check", "periodic:jobs.cleanup", "recover"} <= names
    due = [task for task in huey.read_periodic(datetime(2026, 11, 23, 2, 30)) if task.name != "recover"]
    assert [task.name for task in due] == ["periodic:downline.check"]
    for task in due:  # what the consumer's scheduler does at 02:30 UTC
        huey.enqueue(task)
    deadline = time.monotonic() + 20
    while not (jobs := db.session.scalars(sa.select(Job).where(Job.kind == "downline.check")).all()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
        db.session.rollback()
    done = job_worker.wait(jobs[0].id)
    assert done.user_id is None and done.status == JobStatus.done
    assert done.result_dict["ok"] is True and done.result_dict["checked"] == 1


def test_cleanup_command_deletes_old_jobs_and_their_files(job_queue, app, ctx):
    files = Path(job_queue.env["JOBS_FILES_DIR"])
    old = Job(kind="test.file", title="Old", params="{}", status=JobStatus.done, progress_done=0,
              attempts=1, created_at=datetime.now(UTC) - timedelta(days=31))
    new = Job(kind="test.file", title="New", params="{}", status=JobStatus.done, progress_done=0,
              attempts=1)
    db.session.add_all([old, new])
    db.session.commit()
    for job in (old, new):
        (files / str(job.id)).mkdir(parents=True)
        (files / str(job.id) / "x.csv").write_text("x")
    old_id, new_id = old.id, new.id

    result = app.test_cli_runner().invoke(args=["jobs", "cleanup"])
    assert result.exit_code == 0, result.output
    assert "done" in result.output and '"deleted": 1' in result.output
    assert job_queue.job(old_id) is None and not (files / str(old_id)).exists()
    assert job_queue.job(new_id) is not None and (files / str(new_id) / "x.csv").exists()
    recorded = db.session.scalars(sa.select(Job).where(Job.kind == "jobs.cleanup")).one()
    assert recorded.user_id is None and recorded.status == JobStatus.done

    listed = app.test_cli_runner().invoke(args=["jobs", "list"])
    assert "jobs.cleanup" in listed.output and "New" in listed.output


def test_cron_runs_the_downline_check_as_a_recorded_job(job_queue, app, ctx, make):
    make.address(last_name="Wurzel")
    result = app.test_cli_runner().invoke(args=["jobs", "run", "downline.check"])
    assert result.exit_code == 0, result.output
    job = db.session.scalars(sa.select(Job).where(Job.kind == "downline.check")).one()
    assert job.status == JobStatus.done and job.result_dict["ok"] is True and job.user_id is None
    unknown = app.test_cli_runner().invoke(args=["jobs", "run", "no.such.kind"])
    assert unknown.exit_code != 0 and "unknown job kind" in unknown.output


def test_submit_refuses_an_unknown_kind(job_queue, ctx):
    from backoffice.jobs.registry import UnknownJobKind

    with pytest.raises(UnknownJobKind):
        submit(db.session, "no.such.kind", {})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def _redis_url() -> str:
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but Redis at {url} is not reachable: {exc}", pytrace=False)
        pytest.skip(f"Redis at {url} not reachable")
    return url


class TestRedisMode:
    """The mode for several machines: the same jobs through RedisHuey."""

    @pytest.fixture
    def job_queue_url(self):
        return _redis_url()

    def test_job_runs_through_redis_with_progress_and_file(self, job_worker, make, app):
        assert type(queue_for(app).huey).__name__ == "RedisHuey"
        user = make.user("runner", "Staff")
        counted = submit(db.session, "test.count", {"n": 3}, user_id=user.id, title="Count")
        filed = submit(db.session, "test.file", {"text": "über Redis"}, user_id=user.id, title="File")
        assert job_worker.wait(counted.id).result_dict == {"counted": 3, "url": "/jobs/"}
        assert job_worker.wait(filed.id).status == JobStatus.done
        response = login(app.test_client(), "runner").get(f"/jobs/{filed.id}/file")
        assert response.status_code == 200 and response.data.decode() == "über Redis"
