"""Migration 0008 renames the background-job table to `task` and keeps its rows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import create_app
from backoffice.extensions import db

SCRATCH_SCHEMA = "tasks_migration"

COLUMNS = ("id, kind, title, params, status, progress_done, progress_total, message, result, error, "
           "user_id, created_at, started_at, finished_at, attempts, worker, heartbeat_at, file_name, "
           "file_path, file_mimetype")


@pytest.fixture
def scratch_url(database_url, tmp_path):
    """An empty database of the run's backend: a SQLite file, or a PostgreSQL schema of its own."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'previous.db'}"
        return
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCRATCH_SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {SCRATCH_SCHEMA}"))
    yield f"{database_url}?options=-csearch_path%3D{SCRATCH_SCHEMA}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {SCRATCH_SCHEMA} CASCADE"))
    engine.dispose()


def _insert_jobs() -> None:
    """A finished export and a queued cleanup, as the schema of 0007 stores them."""
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO job (id, kind, title, params, status, progress_done, progress_total, message, "
            "result, error, created_at, started_at, finished_at, attempts, worker, heartbeat_at, "
            "file_name, file_path, file_mimetype) VALUES (7, 'downline.export', 'Export', "
            "'{\"address_id\": 3}', 'done', 4, 4, 'fertig', '{\"bytes\": 12}', NULL, "
            ":created, :started, :finished, 2, 'host:42', :finished, 'downline-3.csv', "
            "'/srv/tasks/7/downline-3.csv', 'text/csv')"),
            {"created": "2026-11-30 08:00:00", "started": "2026-11-30 08:00:01",
             "finished": "2026-11-30 08:00:05"})
        conn.execute(sa.text(
            "INSERT INTO job (id, kind, title, params, status, progress_done, created_at, attempts) "
            "VALUES (8, 'jobs.cleanup', 'Cleanup', '{}', 'queued', 0, :created, 0)"),
            {"created": "2026-11-30 03:15:00"})
        conn.execute(sa.text(
            "INSERT INTO import_run (id, kind, file_name, dry_run, status, source, job_id, rows_total, "
            "rows_done, created, updated, unchanged, rejected, error_count, created_at) VALUES "
            "(1, 'articles', 'a.csv', :no, 'imported', 'desk', 7, 3, 3, 3, 0, 0, 0, 0, :created)"),
            {"no": False, "created": "2026-11-30 08:00:00"})


def _rows(table: str, link: str) -> tuple[list, list]:
    with db.engine.connect() as conn:
        tasks = conn.execute(sa.text(f"SELECT {COLUMNS} FROM {table} ORDER BY id")).all()
        links = conn.execute(sa.text(f"SELECT id, {link} FROM import_run")).all()
    return [tuple(row) for row in tasks], [tuple(row) for row in links]


def _indexes(table: str) -> set[str]:
    with db.engine.connect() as conn:
        return {index["name"] for index in sa.inspect(conn).get_indexes(table)}


def test_job_rows_become_task_rows_and_back(app, scratch_url):
    other = create_app({"SQLALCHEMY_DATABASE_URI": scratch_url, "TESTING": True})
    with other.app_context():
        from flask_migrate import downgrade, upgrade

        upgrade(revision="0007_address_tree")  # the previous release
        _insert_jobs()
        jobs, links = _rows("job", "job_id")
        upgrade(revision="heads")

        tasks, task_links = _rows("task", "task_id")
        assert tasks[0] == jobs[0]
        assert tasks[1] == (*jobs[1][:1], "tasks.cleanup", *jobs[1][2:])
        assert task_links == links == [(1, 7)]
        assert _indexes("task") == {"ix_task_user_created", "ix_task_status"}
        with db.engine.connect() as conn:
            assert "job" not in sa.inspect(conn).get_table_names()
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:  # the id sequence moved along with the table
                assert conn.execute(sa.text(
                    "INSERT INTO task (kind, title, params, status, progress_done, created_at, attempts) "
                    "VALUES ('imports.run', 'New', '{}', 'queued', 0, now(), 0) RETURNING id")).scalar() == 1
                conn.execute(sa.text("DELETE FROM task WHERE title = 'New'"))

        downgrade(revision="0007_address_tree")
        assert _rows("job", "job_id") == (jobs, links)
        assert _indexes("job") == {"ix_job_user_created", "ix_job_status"}
        with db.engine.connect() as conn:
            assert "task" not in sa.inspect(conn).get_table_names()
        db.session.remove()
        db.engine.dispose()
