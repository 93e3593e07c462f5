"""Integrity sweep of the sponsor tree: cycles, orphans, derived columns out of step.

Set-based SQL finds the suspects over the whole table; networkx then names the cycles
among the (few) addresses no root reaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
from sqlalchemy import text

from . import counters
from .maintenance import sweep_settings

EXPECTED = """
WITH RECURSIVE t(id, path, depth) AS (
    SELECT id, CAST('/' AS TEXT), 0 FROM address WHERE sponsor_id IS NULL
    UNION ALL
    SELECT a.id, CAST(t.path || CAST(t.id AS TEXT) || '/' AS TEXT), t.depth + 1
    FROM address a JOIN t ON a.sponsor_id = t.id
)
"""


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check(session, limit: int = 50) -> Report:
    conn = session.connection()
    sweep_settings(conn)
    report = Report(checked=conn.execute(text("SELECT COUNT(*) FROM address")).scalar())

    def add(kind: str, rows, describe):
        for row in rows[:limit]:
            report.problems.append(f"{kind}: {describe(row)}")
        if len(rows) > limit:
            report.problems.append(f"{kind}: ... and {len(rows) - limit} more")

    orphans = conn.execute(text(
        "SELECT a.id, a.sponsor_id FROM address a LEFT JOIN address s ON s.id = a.sponsor_id "
        "WHERE a.sponsor_id IS NOT NULL AND s.id IS NULL ORDER BY a.id")).all()
    add("orphan", orphans, lambda r: f"address {r.id} names missing sponsor {r.sponsor_id}")

    # Local consistency: every root has path "/" and depth 0, every other address its
    # sponsor's path plus the sponsor's id and depth + 1. By induction from the roots this
    # equals the whole-tree truth, and it rules out cycles (paths grow along every edge), so
    # a healthy tree needs no recursive walk at all. A missing tree row reads as no path.
    wrong_path = conn.execute(text(
        "SELECT a.id, t.path, t.depth, CASE WHEN a.sponsor_id IS NULL THEN '/' "
        "ELSE s.path || CAST(a.sponsor_id AS TEXT) || '/' END AS want_path, "
        "CASE WHEN a.sponsor_id IS NULL THEN 0 ELSE s.depth + 1 END AS want_depth "
        "FROM address a LEFT JOIN address_tree t ON t.address_id = a.id "
        "LEFT JOIN address_tree s ON s.address_id = a.sponsor_id "
        "WHERE t.path IS NULL OR t.depth IS NULL "
        "OR (a.sponsor_id IS NULL AND (t.path <> '/' OR t.depth <> 0)) "
        "OR (a.sponsor_id IS NOT NULL AND (s.path IS NULL OR s.depth IS NULL "
        "    OR t.path <> s.path || CAST(a.sponsor_id AS TEXT) || '/' OR t.depth <> s.depth + 1)) "
        "ORDER BY a.id")).all()
    if wrong_path or orphans:
        unreachable = conn.execute(text(
            EXPECTED + "SELECT a.id, a.sponsor_id FROM address a LEFT JOIN t ON t.id = a.id "
            "WHERE t.id IS NULL")).all()
        graph = nx.DiGraph((r.id, r.sponsor_id) for r in unreachable if r.sponsor_id is not None)
        cycles = [sorted(c) for c in nx.simple_cycles(graph)] if graph else []
        add("cycle", cycles, lambda c: "addresses " + " -> ".join(map(str, c)))
        in_cycles = {i for c in cycles for i in c} | {r.id for r in orphans}
        below = [r for r in unreachable if r.id not in in_cycles]
        add("unreachable", below, lambda r: f"address {r.id} hangs below a cycle or orphan")
        in_cycles |= {r.id for r in below}
        wrong_path = [r for r in wrong_path if r.id not in in_cycles]
    add("path", wrong_path, lambda r: f"address {r.id} has path {r.path!r} depth {r.depth}, "
                                     f"expected {r.want_path!r} depth {r.want_depth}")

    # The tree's copy of the type (and tree rows of addresses that are gone).
    wrong_type = conn.execute(text(
        "SELECT t.address_id AS id, t.type, a.type AS want FROM address_tree t "
        "LEFT JOIN address a ON a.id = t.address_id WHERE a.id IS NULL OR t.type <> a.type "
        "ORDER BY t.address_id")).all()
    add("type", wrong_type, lambda r: f"address {r.id} has type {r.want} but {r.type} in its tree row"
                                     if r.want else f"tree row {r.id} belongs to no address")

    wrong_counts = conn.execute(text(
        "SELECT a.id, a.firstline_count, a.downline_count, COALESCE(c.n, 0) AS n, "
        "COALESCE(c.below, 0) AS below FROM address a LEFT JOIN ("
        "  SELECT sponsor_id, COUNT(*) AS n, SUM(downline_count + 1) AS below FROM address "
        "  WHERE sponsor_id IS NOT NULL GROUP BY sponsor_id) c ON c.sponsor_id = a.id "
        "WHERE a.firstline_count <> COALESCE(c.n, 0) OR a.downline_count <> COALESCE(c.below, 0) "
        "ORDER BY a.id")).all()
    add("sizes", wrong_counts, lambda r: f"address {r.id} has firstline {r.firstline_count} / downline "
                                        f"{r.downline_count}, expected {r.n} / {r.below}")
    report.problems.extend(counters.differences(conn)[:limit])
    return report
