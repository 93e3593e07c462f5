"""Bulk placement: the tree columns of many new rows, computed before they are written."""

from __future__ import annotations

import numpy as np

from downline.placement import Place, place


def test_new_rows_below_the_batch_and_below_existing_addresses():
    # Existing: 1 (root) -> 2. New rows 10..13: 10 under 2, 11 under 10, 12 under 11, 13 a root.
    ids = np.array([10, 11, 12, 13])
    parent_row = np.array([-1, 0, 1, -1])
    parent_db = np.array([2, 0, 0, 0])
    placement = place(ids, parent_row, parent_db, {2: Place("/1/", 1)})
    assert placement.path.tolist() == ["/1/2/", "/1/2/10/", "/1/2/10/11/", "/"]
    assert placement.depth.tolist() == [2, 3, 4, 0]
    assert placement.firstline.tolist() == [1, 1, 0, 0]
    assert placement.downline.tolist() == [2, 1, 0, 0]
    # 2 gains one direct child; 2 and its upline 1 gain the three rows below it.
    assert placement.firstline_added == {2: 1}
    assert placement.downline_added == {1: 3, 2: 3}
    assert placement.stuck.tolist() == []


def test_rows_in_a_cycle_of_the_batch_stay_unplaced():
    # 20 -> 21 -> 20 is a cycle; 22 hangs below it; 23 is fine under an existing address.
    ids = np.array([20, 21, 22, 23])
    parent_row = np.array([1, 0, 1, -1])
    parent_db = np.array([0, 0, 0, 5])
    placement = place(ids, parent_row, parent_db, {5: Place("/", 0)})
    assert placement.stuck.tolist() == [0, 1, 2]
    assert placement.placed.tolist() == [False, False, False, True]
    assert placement.path[3] == "/5/" and placement.depth[3] == 1
    assert placement.firstline_added == {5: 1} and placement.downline_added == {5: 1}


def test_rows_that_exist_already_are_only_referenced():
    ids = np.array([7, 30])
    new = np.array([False, True])
    placement = place(ids, np.array([-1, 0]), np.array([0, 0]), {}, new=new)
    assert placement.depth.tolist() == [-1, -1]  # 30's sponsor row is not new: the caller maps it
    placement = place(ids, np.array([-1, -1]), np.array([0, 7]), {7: Place("/3/", 1)}, new=new)
    assert placement.path[1] == "/3/7/" and placement.downline_added == {3: 1, 7: 1}
