"""Bulk placement: the tree columns of many new rows at once (imports, the demo seed).

The session hooks of `downline.tree` place one address per change, which is right for a
form or the shop but costs a round trip per row. A bulk writer instead computes, before
it writes, every new row's `path`, `depth`, `firstline_count` and `downline_count` here,
level by level with numpy, and what the new rows add to the counts of addresses already
in the database (and to their uplines), then writes rows and counts in one go.

Rows are given by position; a row's sponsor is either another row of the batch
(`parent_row`, its position) or an address already in the database (`parent_db`, its id,
with its place in `db_places`), or neither (a root). Rows whose sponsor chain within the
batch never reaches a placed row form or run into a cycle: they stay unplaced (`stuck`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .tree import ROOT_PATH, ids_in


@dataclass(frozen=True)
class Place:
    """Where an address already in the database sits: the parent of new rows."""

    path: str
    depth: int


@dataclass
class Placement:
    depth: np.ndarray       # -1 where the row could not be placed
    path: np.ndarray        # object array of paths ("/1/2/"); None where not placed
    firstline: np.ndarray   # direct children among the batch
    downline: np.ndarray    # all descendants among the batch
    stuck: np.ndarray       # positions in (or hanging below) a cycle of the batch
    # What the placed rows add to addresses already in the database: direct children per
    # sponsor, and descendants per sponsor and each of its uplines.
    firstline_added: dict[int, int] = field(default_factory=dict)
    downline_added: dict[int, int] = field(default_factory=dict)

    @property
    def placed(self) -> np.ndarray:
        return self.depth >= 0


def place(ids: np.ndarray, parent_row: np.ndarray, parent_db: np.ndarray,
          db_places: Mapping[int, Place], new: np.ndarray | None = None) -> Placement:
    """Place the rows flagged `new` (all by default); other rows are existing addresses that
    are only referenced (they must not have a batch parent)."""
    n = len(ids)
    new = np.ones(n, dtype=bool) if new is None else new
    depth = np.full(n, -1, dtype=np.int64)
    path = np.empty(n, dtype=object)
    roots = new & (parent_row < 0) & (parent_db == 0)
    depth[roots] = 0
    path[roots] = ROOT_PATH
    for i in np.flatnonzero(new & (parent_db > 0)):
        sponsor = int(parent_db[i])
        place_of = db_places[sponsor]
        depth[i] = place_of.depth + 1
        path[i] = f"{place_of.path}{sponsor}/"
    id_text = np.asarray(ids).astype(str).astype(object)
    pending = new & (depth < 0)
    while pending.any():  # one pass per level: the rows whose sponsor was placed in the last
        step = pending & (parent_row >= 0) & (depth[np.maximum(parent_row, 0)] >= 0)
        if not step.any():
            break
        p = parent_row[step]
        depth[step] = depth[p] + 1
        path[step] = path[p] + id_text[p] + "/"
        pending &= ~step

    firstline = np.zeros(n, dtype=np.int64)
    downline = np.zeros(n, dtype=np.int64)
    placed = new & (depth >= 0)
    has_row_parent = placed & (parent_row >= 0)
    np.add.at(firstline, parent_row[has_row_parent], 1)
    for level in range(int(depth[placed].max()) if placed.any() else 0, 0, -1):
        at = np.flatnonzero(has_row_parent & (depth == level))
        np.add.at(downline, parent_row[at], downline[at] + 1)

    firstline_added: dict[int, int] = {}
    subtree_below: dict[int, int] = {}
    for i in np.flatnonzero(placed & (parent_db > 0)):
        sponsor = int(parent_db[i])
        firstline_added[sponsor] = firstline_added.get(sponsor, 0) + 1
        subtree_below[sponsor] = subtree_below.get(sponsor, 0) + int(downline[i]) + 1
    downline_added: dict[int, int] = {}
    for sponsor, count in subtree_below.items():
        for ancestor in [*ids_in(db_places[sponsor].path), sponsor]:
            downline_added[ancestor] = downline_added.get(ancestor, 0) + count
    return Placement(depth, path, firstline, downline, np.flatnonzero(pending),
                     firstline_added, downline_added)
