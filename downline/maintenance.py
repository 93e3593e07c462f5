"""Recompute every derived tree column in bulk: after a bulk load, or to repair.

Set-based SQL only (no rows through Python): one recursive CTE for paths and depths, one
GROUP BY for firstline sizes, and one GROUP BY per level, deepest first, for downline sizes.
Addresses in a cycle (unreachable from any root) keep `path` NULL: `flask downline check`
reports them.
"""

from __future__ import annotations

from sqlalchemy import text

from backoffice.models import Address

REBUILT_INDEXES = ("ix_address_path", "ix_address_depth")

PATHS = """
WITH RECURSIVE t(id, path, depth) AS (
    SELECT id, CAST('/' AS {text}), 0 FROM address WHERE sponsor_id IS NULL
    UNION ALL
    SELECT a.id, CAST(t.path || CAST(t.id AS {text}) || '/' AS {text}), t.depth + 1
    FROM address a JOIN t ON a.sponsor_id = t.id
)
UPDATE address SET path = t.path, depth = t.depth FROM t WHERE address.id = t.id
"""

FIRSTLINE = """
UPDATE address SET firstline_count = s.n
FROM (SELECT sponsor_id, COUNT(*) AS n FROM address WHERE sponsor_id IS NOT NULL GROUP BY sponsor_id) s
WHERE address.id = s.sponsor_id
"""

DOWNLINE_LEVEL = """
UPDATE address SET downline_count = s.n
FROM (SELECT sponsor_id, SUM(downline_count + 1) AS n FROM address WHERE depth = :depth
      GROUP BY sponsor_id) s
WHERE address.id = s.sponsor_id
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
    if postgres:
        # The default plan merge-joins the whole index at every level (see downline-notes).
        conn.execute(text("SET LOCAL enable_mergejoin = off"))
    # Rewriting every path through its index costs minutes at 1M (random index inserts);
    # building the index afresh from the finished column is a sort.
    indexes = [i for i in Address.__table__.indexes if i.name in REBUILT_INDEXES]
    for index in indexes:
        index.drop(conn)
    conn.execute(text("UPDATE address SET path = NULL, depth = NULL, firstline_count = 0, "
                      "downline_count = 0"))
    conn.execute(text(PATHS.format(text="TEXT")))
    for index in indexes:
        index.create(conn)
    conn.execute(text(FIRSTLINE))
    max_depth = conn.execute(text("SELECT MAX(depth) FROM address")).scalar() or 0
    for depth in range(max_depth, 0, -1):
        conn.execute(text(DOWNLINE_LEVEL), {"depth": depth})
    if postgres:
        conn.execute(text("ANALYZE address"))
    unplaced = conn.execute(text("SELECT COUNT(*) FROM address WHERE path IS NULL")).scalar()
    return {"max_depth": max_depth, "unplaced": unplaced}
