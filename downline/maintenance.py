"""Recompute the derived tree data in bulk: after a bulk load, or to repair.

Set-based SQL only (no rows through Python). The new values are worked out in a scratch
table first: one recursive CTE for paths and depths, one GROUP BY for firstline sizes and
one GROUP BY per level, deepest first, for downline sizes. Then one UPDATE per table writes
the rows whose values differ (every row after a bulk load, none on a healthy tree), and
missing tree rows are inserted: on PostgreSQL each row version rewrites all of the table's
indexes, so writing each row once instead of once per step is what keeps 1M rows in reach.
Addresses in a cycle (unreachable from any root) get `path` NULL: `flask downline check`
reports them.
"""

from __future__ import annotations

from sqlalchemy import text

from backoffice.models import AddressTree
from backoffice.postgres_plans import parallel_reads

from . import counters

SCRATCH = "downline_rebuild"
# Indexes over columns that every row gets new values for: rebuilt after the write (a sort)
# instead of maintained row by row (random inserts).
REBUILT_INDEXES = ("ix_address_tree_path", "ix_address_tree_depth_type_path")

PATHS = """
CREATE TEMPORARY TABLE {scratch} AS
WITH RECURSIVE t(id, sponsor_id, type, path, depth) AS (
    SELECT id, sponsor_id, type, CAST('/' AS TEXT), 0 FROM address WHERE sponsor_id IS NULL
    UNION ALL
    SELECT a.id, a.sponsor_id, a.type, CAST(t.path || CAST(t.id AS TEXT) || '/' AS TEXT), t.depth + 1
    FROM address a JOIN t ON a.sponsor_id = t.id
)
SELECT id, sponsor_id, type, path, depth, 0 AS firstline_count, 0 AS downline_count FROM t
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

WRITE_SIZES = """
UPDATE address SET firstline_count = s.firstline_count, downline_count = s.downline_count
FROM {scratch} s
WHERE address.id = s.id
  AND (address.firstline_count <> s.firstline_count OR address.downline_count <> s.downline_count)
"""

WRITE_TREE = """
UPDATE address_tree SET path = s.path, depth = s.depth, type = s.type
FROM {scratch} s
WHERE address_tree.address_id = s.id
  AND (address_tree.path {ne} s.path OR address_tree.depth {ne} s.depth OR address_tree.type <> s.type)
"""

INSERT_TREE = """
INSERT INTO address_tree (address_id, path, depth, type)
SELECT s.id, s.path, s.depth, s.type FROM {scratch} s
WHERE NOT EXISTS (SELECT 1 FROM address_tree t WHERE t.address_id = s.id)
"""

# Addresses no root reaches (a cycle): no place in the tree, no sizes.
UNREACHABLE = (
    """
UPDATE address SET firstline_count = 0, downline_count = 0
WHERE NOT EXISTS (SELECT 1 FROM {scratch} s WHERE s.id = address.id)
  AND (firstline_count <> 0 OR downline_count <> 0)
""",
    """
INSERT INTO address_tree (address_id, path, depth, type)
SELECT a.id, NULL, NULL, a.type FROM address a
WHERE NOT EXISTS (SELECT 1 FROM address_tree t WHERE t.address_id = a.id)
""",
    """
UPDATE address_tree SET path = NULL, depth = NULL,
       type = (SELECT a.type FROM address a WHERE a.id = address_tree.address_id)
WHERE NOT EXISTS (SELECT 1 FROM {scratch} s WHERE s.id = address_tree.address_id)
  AND (path IS NOT NULL OR depth IS NOT NULL
       OR type <> (SELECT a.type FROM address a WHERE a.id = address_tree.address_id))
""",
    # Rows of deleted addresses (SQLite enforces no foreign keys here).
    "DELETE FROM address_tree "
    "WHERE NOT EXISTS (SELECT 1 FROM address a WHERE a.id = address_tree.address_id)",
)


def sweep_settings(conn) -> None:
    """PostgreSQL, for this transaction: plans for reading the whole tree. The default plan
    merge-joins the whole index at every level (see downline-notes); parallel workers help."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL enable_mergejoin = off"))
        parallel_reads(conn)


def rebuild(session) -> dict:
    """Recompute the tree rows (path, depth, type) and the sizes of every address."""
    return rebuild_on_connection(session.connection())


def rebuild_on_connection(conn) -> dict:
    """The rebuild on a bare connection; no commit."""
    postgres = conn.dialect.name == "postgresql"
    fmt = {"scratch": SCRATCH, "ne": "IS DISTINCT FROM" if postgres else "IS NOT"}
    sweep_settings(conn)
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
    changed = conn.execute(text(f"SELECT COUNT(*) FROM {SCRATCH} s LEFT JOIN address_tree t "
                                f"ON t.address_id = s.id WHERE t.path {fmt['ne']} s.path")).scalar()
    indexes = [i for i in AddressTree.__table__.indexes if i.name in REBUILT_INDEXES]
    many = changed > 10_000
    if many:
        for index in indexes:
            index.drop(conn)
    conn.execute(text(WRITE_SIZES.format(**fmt)))
    conn.execute(text(WRITE_TREE.format(**fmt)))
    conn.execute(text(INSERT_TREE.format(**fmt)))
    for statement in UNREACHABLE:
        conn.execute(text(statement.format(**fmt)))
    if many:
        for index in indexes:
            index.create(conn)
    conn.execute(text(f"DROP TABLE {SCRATCH}"))
    if postgres:
        conn.execute(text("ANALYZE address"))
        conn.execute(text("ANALYZE address_tree"))
    counters.recount(conn)
    unplaced = conn.execute(text("SELECT COUNT(*) FROM address a LEFT JOIN address_tree t "
                                 "ON t.address_id = a.id WHERE t.path IS NULL")).scalar()
    return {"max_depth": max_depth, "unplaced": unplaced}
