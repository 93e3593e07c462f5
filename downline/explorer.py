"""The explorable drawn downline (D7): the data the browser draws, a few levels at a time.

The page draws the tree itself (backoffice/static/partnerdesk/downline-tree.js) and asks for
more as the viewer expands or re-centres: `branch()` answers one node with `levels` levels
below it. A node's firstline is cut after `limit` members (the biggest downlines first, then
the newest), and what is left becomes one summary group that counts the rest by type; the next
page of that firstline is `branch(..., offset=...)`. A sponsor with 25,000 firstline is then
one page of boxes and a group "+24,980", never 25,000 boxes.

Scoping is the caller's: the node comes from `navigator.node()` against the viewer's root,
and everything here lies below that node. `crumbs` stops at the viewer's root.
"""

from __future__ import annotations

from sqlalchemy import func, select

from backoffice.models import Address, AddressType

from .navigator import _name, breadcrumb, search

FIRSTLINE_LIMIT = 20
DEEPER_LIMIT = 8
MAX_LEVELS = 3
TYPES = [t.value for t in AddressType]


def _box(row, level: int) -> dict:
    """A drawn box: the name and figures every viewer of the downline may see."""
    return {"id": row.id, "name": _name(row), "type": getattr(row.type, "value", row.type),
            "firstline": row.firstline_count, "downline": row.downline_count, "level": level}


def _order():
    """Biggest downlines first, then the newest: the index `ix_address_sponsor_downline`
    backwards, so a page of a huge firstline reads only its rows."""
    return (Address.downline_count.desc(), Address.id.desc())


_COLUMNS = (Address.id, Address.sponsor_id, Address.first_name, Address.last_name, Address.company,
            Address.type, Address.firstline_count, Address.downline_count)


def _members(session, sponsor_ids: list[int], offset: int, limit: int) -> dict[int, list]:
    """The first `limit` members (after `offset`) of each sponsor's firstline, in `_order()`:
    one index range per sponsor (a row number over several firstlines would sort them all)."""
    return {sponsor_id: session.execute(select(*_COLUMNS).where(Address.sponsor_id == sponsor_id)
                                        .order_by(*_order()).offset(offset).limit(limit)).all()
            for sponsor_id in sponsor_ids}


def _type_counts(session, sponsor_ids: list[int]) -> dict[int, dict[str, int]]:
    counts = {i: {} for i in sponsor_ids}
    for sponsor_id, type_, n in session.execute(
            select(Address.sponsor_id, Address.type, func.count()).where(Address.sponsor_id.in_(sponsor_ids))
            .group_by(Address.sponsor_id, Address.type)):
        counts[sponsor_id][getattr(type_, "value", type_)] = n
    return counts


def _earlier_types(session, sponsor_id: int, offset: int) -> dict[str, int]:
    """The types of the first `offset` members (the pages an earlier answer drew)."""
    first = select(Address.type).where(Address.sponsor_id == sponsor_id).order_by(*_order()).limit(offset)
    counts = {}
    for (type_,) in session.execute(select(first.subquery())):
        key = getattr(type_, "value", type_)
        counts[key] = counts.get(key, 0) + 1
    return counts


def _level(session, boxes: list[dict], levels: int, offset: int, limit: int) -> None:
    """Fill `children` and `more` of `boxes` (all on one level), then of their members."""
    parents = [b for b in boxes if b["firstline"] > 0]
    if levels <= 0 or not parents:
        return
    ids = [b["id"] for b in parents]
    members = _members(session, ids, offset, limit)
    cut = [b["id"] for b in parents if offset + len(members[b["id"]]) < b["firstline"]]
    counts = _type_counts(session, cut) if cut else {}
    below = []
    for box in parents:
        box["children"] = [_box(row, box["level"] + 1) for row in members[box["id"]]]
        box["more"] = None
        if box["id"] in counts:
            drawn = _earlier_types(session, box["id"], offset) if offset else {}
            for child in box["children"]:
                drawn[child["type"]] = drawn.get(child["type"], 0) + 1
            after = offset + len(box["children"])
            box["more"] = {"count": box["firstline"] - after, "offset": after,
                           "by_type": {t: counts[box["id"]].get(t, 0) - drawn.get(t, 0) for t in TYPES}}
        below.extend(box["children"])
    _level(session, below, levels - 1, 0, DEEPER_LIMIT)


def branch(session, address: Address, *, levels: int = 2, offset: int = 0,
           limit: int = FIRSTLINE_LIMIT, root_id: int | None = None) -> dict:
    """`address` with `levels` levels below it (children lists cut as described above), its
    breadcrumb from the viewer's root (`root_id`, None: the tree's root) and its sponsor's id
    if the viewer may open it."""
    levels = max(1, min(levels, MAX_LEVELS))
    box = _box(address, 0)
    _level(session, [box], levels, max(offset, 0), max(1, min(limit, 100)))
    crumbs = breadcrumb(session, address, root_id)
    up = crumbs[-2][0] if len(crumbs) > 1 else None
    return {"node": box, "crumbs": [{"id": i, "name": n} for i, n in crumbs], "up": up}


def find(session, within: Address, text: str, limit: int = 20) -> list[dict]:
    """Names in `within`'s downline that contain `text`, nearest level first."""
    base = within.depth or 0
    return [{"id": a.id, "name": a.name, "type": a.type.value, "level": a.depth - base}
            for a in search(session, within, text, limit=limit)]
