"""Ids that start high and differ per table, on SQLite as on PostgreSQL.

A test database whose ids all start at 1 hides two kinds of bugs: an id above a few hundred
that is refused (a bound, a fixed-width format, a 16-bit field), and one table's id used
where another's was meant (address 1 and voucher 1 both exist). Table number k (in name
order) therefore hands out ids from (k + 1) × 1,000,000 on.

SQLite reuses ids after a DELETE unless a table is declared AUTOINCREMENT, and the
migrations create `id INTEGER NOT NULL, … PRIMARY KEY (id)`. The stored CREATE statements
are rewritten to `… PRIMARY KEY AUTOINCREMENT` (the rowid table itself is the same on
disk), and `sqlite_sequence` gets each table's start. PostgreSQL: `setval` on each sequence.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

STEP = 1_000_000
_PRIMARY_KEY = re.compile(r",\s*PRIMARY KEY \(id\)")


def start(table_number: int) -> int:
    return (table_number + 1) * STEP


def start_ids_high(url: str) -> dict[str, int]:
    """Make every table with an integer `id` key hand out ids from its own high start.
    Returns {table: first id}. Run once on a freshly migrated database."""
    engine = sa.create_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            return _sqlite(engine)
        return _postgres(engine)
    finally:
        engine.dispose()


def _postgres(engine) -> dict[str, int]:
    starts = {}
    with engine.begin() as conn:
        # The columns first (MATERIALIZED), the sequences of those after: in one WHERE the
        # planner may call pg_get_serial_sequence on a catalog table, which has no `id`.
        tables = conn.execute(sa.text(
            "WITH ids AS MATERIALIZED (SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = 'id' "
            "AND data_type IN ('integer', 'bigint')) "
            "SELECT table_name FROM ids "
            "WHERE pg_get_serial_sequence(quote_ident(table_name), 'id') IS NOT NULL ORDER BY table_name"
        )).scalars().all()
        for number, table in enumerate(tables):
            starts[table] = start(number)
            conn.execute(sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), "
                                 "greatest(:s, (SELECT coalesce(max(id), 0) + 1 FROM " + f'"{table}"' + ")), "
                                 "false)"), {"t": f'"{table}"', "s": starts[table]})
    return starts


def _sqlite(engine) -> dict[str, int]:
    starts = {}
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS _ids_high (id INTEGER PRIMARY KEY AUTOINCREMENT)")
        conn.exec_driver_sql("DROP TABLE _ids_high")  # sqlite_sequence stays
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'alembic_version' ORDER BY name").all()
        version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
        conn.exec_driver_sql("PRAGMA writable_schema = ON")
        for number, (name, sql) in enumerate(name_sql for name_sql in rows
                                              if _rewritable(name_sql[1])):
            rewritten = _PRIMARY_KEY.sub("", re.sub(r"\bid INTEGER NOT NULL",
                                                    "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT",
                                                    sql, count=1), count=1)
            conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                                 (rewritten, name))
            starts[name] = start(number)
        conn.exec_driver_sql("PRAGMA writable_schema = OFF")
        conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
        conn.commit()
    with engine.connect() as conn:  # a new connection reads the rewritten schema
        for name, first in starts.items():
            highest = conn.exec_driver_sql(f'SELECT coalesce(max(id), 0) FROM "{name}"').scalar()
            conn.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                                 (name, max(first - 1, highest)))
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        conn.commit()
    return starts


def _rewritable(sql: str) -> bool:
    return bool(re.search(r"\bid INTEGER NOT NULL", sql)) and len(_PRIMARY_KEY.findall(sql)) == 1 \
        and "AUTOINCREMENT" not in sql
