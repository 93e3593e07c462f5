"""Background tasks: a real huey consumer runs them against the test database."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Address, Task, TaskStatus
from backoffice.tasks import submit
from backoffice.tasks.queue import queue_for
from backoffice.tasks.recovery import recover
from tests.support import task_kinds  # noqa: F401  (registers the test task kinds)
from tests.support.http import login


def test_task_reports_progress_while_it_runs_and_stores_its_result(task_worker, make, client, tmp_path):
    user = make.user("runner", "Staff")
    flag = tmp_path / "go-on"
    task = submit(db.session, "test.count", {"n": 4, "flag": str(flag)}, user_id=user.id, title="Count")
    login(client, "runner")

    def halfway():
        state = client.get(f"/tasks/{task.id}/status").json
        return state if state["done"] == 2 else None

    deadline = time.monotonic() + 20
    while (state := halfway()) is None:
        assert time.monotonic() < deadline, \
            f"progress never reached 2 of 4: {vars(task_worker.task(task.id))}"
        time.sleep(0.1)
    assert state["status"] == "running" and state["total"] == 4 and state["percent"] == 50
    assert state["message"] == "counted 2" and not state["finished"]
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-test="task-progress"' in page and "/status" in page
    assert '<script src="http' not in page  # nothing from the internet

    flag.touch()
    done = task_worker.wait(task.id)
    assert done.status == TaskStatus.done and done.attempts == 1
    assert done.result_dict == {"counted": 4, "url": "/tasks/"}
    assert (done.progress_done, done.progress_total, done.message) == (4, 4, "counted 4")
    assert done.created_at <= done.started_at <= done.finished_at
    assert done.finished_at.tzinfo is not None
    state = client.get(f"/tasks/{task.id}/status").json
    assert state["finished"] and state["percent"] == 100 and state["result_url"] == "/tasks/"
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'data-test="task-result"' in page and 'href="/tasks/"' in page


def test_result_file_is_for_the_user_who_started_the_task_only(task_worker, make, app):
    owner = make.partner("meier")
    make.partner("schulz")
    make.user("staff", "Staff")
    make.user("admin", "Admin")
    task = submit(db.session, "test.file", {"text": "Hallo Welt"}, user_id=owner.user_id, title="File")
    done = task_worker.wait(task.id)
    assert done.status == TaskStatus.done and done.file_name == "greeting.txt"
    assert Path(done.file_path).parent == Path(task_worker.env["TASKS_FILES_DIR"]) / str(task.id)

    mine = login(app.test_client(), "meier")
    response = mine.get(f"/tasks/{task.id}/file")
    assert response.status_code == 200 and response.data == b"Hallo Welt"
    assert "greeting.txt" in response.headers["Content-Disposition"]
    assert f"/tasks/{task.id}" in mine.get("/tasks/").get_data(as_text=True)

    for other in ("schulz", "staff", "admin"):
        client = login(app.test_client(), other)
        for url in (f"/tasks/{task.id}/file", f"/tasks/{task.id}/status", f"/tasks/{task.id}"):
            assert client.get(url).status_code == 404, (other, url)
        assert f"/tasks/{task.id}" not in client.get("/tasks/").get_data(as_text=True)
    anonymous = app.test_client()
    assert anonymous.get(f"/tasks/{task.id}/file").status_code == 404
    assert anonymous.get(f"/tasks/{task.id}/status").status_code == 404
    assert anonymous.get(f"/tasks/{task.id}").status_code in (302, 404)


def test_failing_task_is_marked_failed_and_writes_nothing(task_worker, make, app):
    user = make.user("runner", "Finance")
    task = submit(db.session, "test.fail", {"last_name": "Halbfertig"}, user_id=user.id, title="Fail")
    failed = task_worker.wait(task.id)
    assert failed.status == TaskStatus.failed
    assert failed.error == "the ledger does not balance"
    assert failed.file_path is None and failed.result is None
    assert not (Path(task_worker.env["TASKS_FILES_DIR"]) / str(task.id)).exists()
    assert db.session.scalar(sa.select(sa.func.count()).where(Address.last_name == "Halbfertig")) == 0
    client = login(app.test_client(), "runner")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "the ledger does not balance" in page
    assert client.get(f"/tasks/{task.id}/file").status_code == 404


def test_task_survives_a_killed_worker_and_completes_exactly_once(task_worker_process, task_queue, make,
                                                                  tmp_path):
    user = make.user("runner", "Staff")
    started, flag = tmp_path / "started", tmp_path / "go-on"
    task = submit(db.session, "test.blocking_write", {
        "last_name": "Genaueinmal", "started": str(started), "flag": str(flag)}, user_id=user.id,
        title="Blocking")
    first = task_worker_process()
    deadline = time.monotonic() + 60
    while not started.exists():
        assert first.poll() is None and time.monotonic() < deadline, "first worker never started the task"
        time.sleep(0.1)
    assert task_queue.task(task.id).status == TaskStatus.running
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert task_queue.task(task.id).status == TaskStatus.running  # nobody told the database

    flag.touch()
    task_worker_process()  # a new worker finds the task of the dead one and runs it again
    done = task_queue.wait(task.id, timeout=60)
    assert done.status == TaskStatus.done and done.attempts == 2
    assert done.result_dict == {"wrote": "Genaueinmal"}
    assert started.read_text() == "started\nstarted\n"
    assert db.session.scalar(sa.select(sa.func.count()).where(Address.last_name == "Genaueinmal")) == 1


def test_recovery_gives_up_after_the_last_attempt(task_queue, ctx, app):
    dead = f"{os.uname().nodename}:999999999"
    task = Task(kind="test.count", title="Doomed", params="{}", status=TaskStatus.running,
                attempts=app.config["TASKS_MAX_ATTEMPTS"], worker=dead, progress_done=0)
    again = Task(kind="test.count", title="Again", params="{}", status=TaskStatus.running, attempts=1,
                 worker=dead, progress_done=0)
    alive = Task(kind="test.count", title="Alive elsewhere", params="{}", status=TaskStatus.running,
                 attempts=1, worker="other-host:1", heartbeat_at=datetime.now(UTC), progress_done=0)
    db.session.add_all([task, again, alive])
    db.session.commit()
    assert recover(db.session) == [again.id]
    assert task_queue.task(task.id).status == TaskStatus.failed and "3" in task_queue.task(task.id).error
    assert task_queue.task(again.id).status == TaskStatus.queued
    assert task_queue.task(alive.id).status == TaskStatus.running
    assert queue_for(app).pending_task_ids() == {again.id}


def test_periodic_tasks_are_scheduled_and_recorded_without_user(task_worker, app, make):
    make.address(last_name="Wurzel")
    huey = queue_for(app).huey
    names = {task.__name__ for task in huey._registry._periodic_tasks}
    assert {"periodic:downline.check", "periodic:tasks.cleanup", "recover"} <= names
    # housekeeping, the mail drain, the expiry of requests to order and offers
    every_few_minutes = {"recover", "periodic:mail.send", "periodic:service_orders.expire",
                         "periodic:jobs.sweep", "periodic:billing.render_invoices"}
    due = [task for task in huey.read_periodic(datetime(2026, 11, 23, 2, 30))
           if task.name not in every_few_minutes]
    assert [task.name for task in due] == ["periodic:downline.check"]
    for task in due:  # what the consumer's scheduler does at 02:30 UTC
        huey.enqueue(task)
    deadline = time.monotonic() + 20
    while not (tasks := db.session.scalars(sa.select(Task).where(Task.kind == "downline.check")).all()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
        db.session.rollback()
    done = task_worker.wait(tasks[0].id)
    assert done.user_id is None and done.status == TaskStatus.done
    assert done.result_dict["ok"] is True and done.result_dict["checked"] == 1


def test_cleanup_command_deletes_old_tasks_and_their_files(task_queue, app, ctx):
    files = Path(task_queue.env["TASKS_FILES_DIR"])
    old = Task(kind="test.file", title="Old", params="{}", status=TaskStatus.done, progress_done=0,
               attempts=1, created_at=datetime.now(UTC) - timedelta(days=31))
    new = Task(kind="test.file", title="New", params="{}", status=TaskStatus.done, progress_done=0,
               attempts=1)
    db.session.add_all([old, new])
    db.session.commit()
    for task in (old, new):
        (files / str(task.id)).mkdir(parents=True)
        (files / str(task.id) / "x.csv").write_text("x")
    old_id, new_id = old.id, new.id

    result = app.test_cli_runner().invoke(args=["tasks", "cleanup"])
    assert result.exit_code == 0, result.output
    assert "done" in result.output and '"deleted": 1' in result.output
    assert task_queue.task(old_id) is None and not (files / str(old_id)).exists()
    assert task_queue.task(new_id) is not None and (files / str(new_id) / "x.csv").exists()
    recorded = db.session.scalars(sa.select(Task).where(Task.kind == "tasks.cleanup")).one()
    assert recorded.user_id is None and recorded.status == TaskStatus.done

    listed = app.test_cli_runner().invoke(args=["tasks", "list"])
    assert "tasks.cleanup" in listed.output and "New" in listed.output


def test_cron_runs_the_downline_check_as_a_recorded_task(task_queue, app, ctx, make):
    make.address(last_name="Wurzel")
    result = app.test_cli_runner().invoke(args=["tasks", "run", "downline.check"])
    assert result.exit_code == 0, result.output
    task = db.session.scalars(sa.select(Task).where(Task.kind == "downline.check")).one()
    assert task.status == TaskStatus.done and task.result_dict["ok"] is True and task.user_id is None
    unknown = app.test_cli_runner().invoke(args=["tasks", "run", "no.such.kind"])
    assert unknown.exit_code != 0 and "unknown task kind" in unknown.output


def test_submit_refuses_an_unknown_kind(task_queue, ctx):
    from backoffice.tasks.registry import UnknownTaskKind

    with pytest.raises(UnknownTaskKind):
        submit(db.session, "no.such.kind", {})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 0


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
    """The mode for several machines: the same tasks through RedisHuey."""

    @pytest.fixture
    def task_queue_url(self):
        return _redis_url()

    def test_task_runs_through_redis_with_progress_and_file(self, task_worker, make, app):
        assert type(queue_for(app).huey).__name__ == "RedisHuey"
        user = make.user("runner", "Staff")
        counted = submit(db.session, "test.count", {"n": 3}, user_id=user.id, title="Count")
        filed = submit(db.session, "test.file", {"text": "über Redis"}, user_id=user.id, title="File")
        assert task_worker.wait(counted.id).result_dict == {"counted": 3, "url": "/tasks/"}
        assert task_worker.wait(filed.id).status == TaskStatus.done
        response = login(app.test_client(), "runner").get(f"/tasks/{filed.id}/file")
        assert response.status_code == 200 and response.data.decode() == "über Redis"
