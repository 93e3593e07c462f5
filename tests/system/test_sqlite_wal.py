"""The embedded database enforces foreign keys on every connection and checkpoints its WAL in a
background thread, not in a request's COMMIT."""

import time

import pytest
import sqlalchemy as sa

import backoffice.extensions  # noqa: F401  (registers the connection settings on every engine)

FILL = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
        "INSERT INTO t SELECT randomblob(4000) FROM n")  # ~8 MB: twice SQLite's default threshold


def test_a_big_commit_does_not_checkpoint_but_the_background_thread_does(tmp_path):
    path = tmp_path / "wal.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            conn.exec_driver_sql("CREATE TABLE t (x BLOB)")
        with engine.begin() as conn:
            conn.exec_driver_sql(FILL)
        # The committing connection left the pages in the log (SQLite's default would have
        # copied them into the database file inside this COMMIT)...
        assert path.stat().st_size < 1_000_000
        assert (tmp_path / "wal.db-wal").stat().st_size > 7_000_000
        # ...and the checkpoint thread copies them soon after, while the connection stays open.
        deadline = time.monotonic() + 15
        while path.stat().st_size < 7_000_000 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert path.stat().st_size > 7_000_000
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar() == 2000
    finally:
        engine.dispose()


def test_every_engine_refuses_a_row_pointing_at_nothing(tmp_path):
    """Not only the web app's: the worker, the CLI and the benchmarks make engines of their own."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
            conn.exec_driver_sql("CREATE TABLE child (id INTEGER PRIMARY KEY, "
                                 "parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE)")
            conn.exec_driver_sql("INSERT INTO parent VALUES (1)")
            conn.exec_driver_sql("INSERT INTO child VALUES (1, 1)")
        with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.exec_driver_sql("INSERT INTO child VALUES (2, 99)")
        with engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM parent")
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM child").scalar() == 0
    finally:
        engine.dispose()
