"""Planner settings of the application's PostgreSQL connections.

No parallel workers by default: the application's queries are page-sized. psycopg prepares a
statement from its fifth run on, and PostgreSQL's generic plan for a downline range cannot
see how narrow the range is: it chose a parallel plan whose workers cost more than the query
(name search in a 100k downline: 46-201 ms in those runs, 17-26 ms without). On a 2-core server
the workers also take the CPU of the other web worker. Reads of a large part of the tree
(exports, `flask downline check`, the rebuild) ask for them again with `parallel_reads`.
"""

from __future__ import annotations

from sqlalchemy import text


def configure(dbapi_connection) -> None:
    """For every new psycopg connection (outside any transaction of SQLAlchemy's): a session
    setting, made in autocommit mode so that it needs no transaction of its own."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute("SET max_parallel_workers_per_gather = 0")
    finally:
        dbapi_connection.autocommit = autocommit


def parallel_reads(conn) -> None:
    """PostgreSQL, this transaction only: parallel workers for a large read (the CSV export
    of a 102k downline: 1.0-1.5 s with them, 1.4-2.1 s without)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 2"))
