"""The explorable drawn downline (D7): the data the browser draws, a few levels at a time.

The page draws the tree itself (backoffice/static/partnerdesk/downline-tree.js) and asks for
more as the viewer expands or re-centres: `branch()` answers one node with `levels` levels
below it. A node's firstline is cut after `limit` members (the biggest downlines first, then
by name), and what is left becomes one summary group that counts the rest by type; the next
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
    return {"id": row.id, "name": _name(row), "type": getattr(row.type, "value", row.type),
            "firstline": row.firstline_count, "downline": row.downline_count, "level": level}


def _order():
    return (Address.downline_count.desc(), Address.last_name, Address.first_name, Address.id)


def _members(session, sponsor_id: int, offset: int, limit: int) -> list:
    return session.execute(
        select(Address.id, Address.first_name, Address.last_name, Address.company, Address.type,
               Address.firstline_count, Address.downline_count)
        .where(Address.sponsor_id == sponsor_id).order_by(*_order()).offset(offset).limit(limit)).all()


def _by_type(session, query) -> dict[str, int]:
    counts = dict(session.execute(select(query.c.type, func.count()).group_by(query.c.type)).all())
    return {getattr(t, "value", t): n for t, n in counts.items()}


def _rest(session, sponsor_id: int, firstline: int, after: int) -> dict | None:
    """The members after the first `after` (those drawn), counted by type (None: none left)."""
    if after >= firstline:
        return None
    members = select(Address.type).where(Address.sponsor_id == sponsor_id)
    every = _by_type(session, members.subquery())
    drawn = _by_type(session, members.order_by(*_order()).limit(after).subquery())
    return {"count": firstline - after, "offset": after,
            "by_type": {t: every.get(t, 0) - drawn.get(t, 0) for t in TYPES}}


def _children(session, box: dict, levels: int, offset: int, limit: int) -> None:
    if levels <= 0 or box["firstline"] == 0:
        return
    rows = _members(session, box["id"], offset, limit)
    box["children"] = [_box(row, box["level"] + 1) for row in rows]
    box["more"] = _rest(session, box["id"], box["firstline"], offset + len(rows))
    for child in box["children"]:
        _children(session, child, levels - 1, 0, DEEPER_LIMIT)


def branch(session, address: Address, *, levels: int = 2, offset: int = 0,
           limit: int = FIRSTLINE_LIMIT, root_id: int | None = None) -> dict:
    """`address` with `levels` levels below it (children lists cut as described above), its
    breadcrumb from the viewer's root (`root_id`, None: the tree's root) and its sponsor's id
    if the viewer may open it."""
    levels = max(1, min(levels, MAX_LEVELS))
    box = _box(address, 0)
    _children(session, box, levels, max(offset, 0), max(1, min(limit, 100)))
    crumbs = breadcrumb(session, address, root_id)
    up = crumbs[-2][0] if len(crumbs) > 1 else None
    return {"node": box, "crumbs": [{"id": i, "name": n} for i, n in crumbs], "up": up}


def find(session, within: Address, text: str, limit: int = 20) -> list[dict]:
    """Names in `within`'s downline that contain `text`, nearest level first."""
    base = within.depth or 0
    return [{"id": a.id, "name": a.name, "type": a.type.value, "level": a.depth - base}
            for a in search(session, within, text, limit=limit)]
