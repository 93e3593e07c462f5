"""Downline statistics (D4): counts per level and address type, and totals.

One GROUP BY over the path range (the downline's own rows only, via the path index);
the total is the maintained `downline_count`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from backoffice.models import Address, AddressType

from .navigator import downline_of

TYPES = [t.value for t in AddressType]


@dataclass
class Stats:
    levels: list[dict] = field(default_factory=list)   # {"level": 1, "new_customer": n, ..., "total": n}
    totals: dict = field(default_factory=dict)


def per_level(session, root: Address) -> Stats:
    rows = session.execute(
        select(Address.depth, Address.type, func.count())
        .where(downline_of(root)).group_by(Address.depth, Address.type).order_by(Address.depth)
    ).all()
    levels: dict[int, dict] = {}
    for depth, type_, n in rows:
        level = depth - root.depth
        entry = levels.setdefault(level, {"level": level, **{t: 0 for t in TYPES}, "total": 0})
        key = type_.value if hasattr(type_, "value") else type_
        entry[key] += n
        entry["total"] += n
    totals = {t: sum(e[t] for e in levels.values()) for t in TYPES}
    totals["total"] = sum(totals.values())
    return Stats([levels[k] for k in sorted(levels)], totals)
