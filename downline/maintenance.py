"""Recompute every derived tree column in bulk: after a bulk load, or to repair.

Set-based SQL only (no rows through Python). The new values are worked out in a scratch
table first: one recursive CTE for paths and depths, one GROUP BY for firstline sizes and
one GROUP BY per level, deepest first, for downline sizes. Then a single UPDATE writes the
rows whose values differ (every row after a bulk load, none on a healthy tree): on
PostgreSQL each row version rewrites all of the table's indexes, so writing each row once
instead of once per step is what keeps 1M rows in reach. Addresses in a cycle (unreachable
from any root) get `path` NULL: `flask downline check` reports them.
"""

from __future__ import annotations

from sqlalchemy import text

from backoffice.models import Address

SCRATCH = "downline_rebuild"
# Indexes over columns that every row gets new values for: rebuilt after the write (a sort)
# instead of maintained row by row (random inserts).
REBUILT_INDEXES = ("ix_address_path", "ix_address_depth_type_path")

PATHS = """
CREATE TEMPORARY TABLE {scratch} AS
WITH RECURSIVE t(id, sponsor_id, path, depth) AS (
    SELECT id, sponsor_id, CAST('/' AS TEXT), 0 FROM address WHERE sponsor_id IS NULL
    UNION ALL
    SELECT a.id, a.sponsor_id, CAST(t.path || CAST(t.id AS TEXT) || '/' AS TEXT), t.depth + 1
    FROM address a JOIN t ON a.sponsor_id = t.id
)
SELECT id, sponsor_id, path, depth, 0 AS firstline_count, 0 AS downline_count FROM t
"""

FIRSTLINE = """
UPDATE {scratch} SET firstline_count = s.n
FROM (SELECT sponsor_id, COUNT(*) AS n FROM {scratch} WHERE sponsor_id IS NOT NULL
      GROUP BY sponsor_id) s
WHERE {scratch}.id = s.sponsor_id
"""

DOWNLINE_LEVEL = """
UPDATE {scratch} SET downline_count = s.n
FROM (SELECT sponsor_id, SUM(downline_count + 1) AS n FROM {scratch} WHERE depth = :depth
      GROUP BY sponsor_id) s
WHERE {scratch}.id = s.sponsor_id
"""

WRITE = """
UPDATE address SET path = s.path, depth = s.depth, firstline_count = s.firstline_count,
                   downline_count = s.downline_count
FROM {scratch} s
WHERE address.id = s.id AND (address.path {ne} s.path OR address.depth {ne} s.depth
      OR address.firstline_count <> s.firstline_count OR address.downline_count <> s.downline_count)
"""

UNREACHABLE = """
UPDATE address SET path = NULL, depth = NULL, firstline_count = 0, downline_count = 0
WHERE NOT EXISTS (SELECT 1 FROM {scratch} s WHERE s.id = address.id)
  AND (path IS NOT NULL OR depth IS NOT NULL OR firstline_count <> 0 OR downline_count <> 0)
"""


def rebuild(session, commit: bool = True) -> dict:
    """Recompute path, depth, firstline_count and downline_count of every address."""
    result = rebuild_on_connection(session.connection())
    if commit:
        session.commit()
    return result


def rebuild_on_connection(conn) -> dict:
    """The rebuild on a bare connection (the migration's backfill uses it); no commit."""
    postgres = conn.dialect.name == "postgresql"
    fmt = {"scratch": SCRATCH, "ne": "IS DISTINCT FROM" if postgres else "IS NOT"}
    if postgres:
        # The default plan merge-joins the whole index at every level (see downline-notes).
        conn.execute(text("SET LOCAL enable_mergejoin = off"))
    conn.execute(text(f"DROP TABLE IF EXISTS {SCRATCH}"))
    conn.execute(text(PATHS.format(**fmt)))
    conn.execute(text(f"CREATE UNIQUE INDEX ix_{SCRATCH}_id ON {SCRATCH} (id)"))
    conn.execute(text(f"CREATE INDEX ix_{SCRATCH}_depth ON {SCRATCH} (depth)"))
    if postgres:
        conn.execute(text(f"ANALYZE {SCRATCH}"))
    conn.execute(text(FIRSTLINE.format(**fmt)))
    max_depth = conn.execute(text(f"SELECT MAX(depth) FROM {SCRATCH}")).scalar() or 0
    for depth in range(max_depth, 0, -1):
        conn.execute(text(DOWNLINE_LEVEL.format(**fmt)), {"depth": depth})
    changed = conn.execute(text(f"SELECT COUNT(*) FROM address a JOIN {SCRATCH} s ON s.id = a.id "
                                f"WHERE a.path {fmt['ne']} s.path")).scalar()
    indexes = [i for i in Address.__table__.indexes if i.name in REBUILT_INDEXES]
    many = changed > 10_000
    if many:
        for index in indexes:
            index.drop(conn)
    conn.execute(text(WRITE.format(**fmt)))
    conn.execute(text(UNREACHABLE.format(**fmt)))
    if many:
        for index in indexes:
            index.create(conn)
    conn.execute(text(f"DROP TABLE {SCRATCH}"))
    if postgres:
        conn.execute(text("ANALYZE address"))
    unplaced = conn.execute(text("SELECT COUNT(*) FROM address WHERE path IS NULL")).scalar()
    return {"max_depth": max_depth, "unplaced": unplaced}
