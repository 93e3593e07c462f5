"""Finding where to start in the tree: the company's roots (addresses without a sponsor,
biggest downline first) and addresses by name or number, for the Desk's navigator."""

from __future__ import annotations

import sqlalchemy as sa

from ..models import Address

LIMIT = 20


def roots(session, limit: int = 10) -> list[Address]:
    return list(session.execute(
        sa.select(Address).where(Address.sponsor_id.is_(None))
        .order_by(Address.downline_count.desc(), Address.id).limit(limit)).scalars())


def by_name(session, text: str, limit: int = LIMIT) -> list[Address]:
    """Addresses whose last name, "first last" or company starts with `text` (any case);
    a number is the address with that number."""
    text = " ".join(text.split())
    if not text:
        return []
    if text.isdigit():
        address = session.get(Address, int(text))
        return [address] if address is not None else []
    prefix = text.lower().replace("%", r"\%").replace("_", r"\_") + "%"
    full = sa.func.lower(sa.func.coalesce(Address.first_name, "") + " " + Address.last_name)
    condition = sa.or_(sa.func.lower(Address.last_name).like(prefix, escape="\\"),
                       full.like(prefix, escape="\\"),
                       sa.func.lower(Address.company).like(prefix, escape="\\"))
    return list(session.execute(sa.select(Address).where(condition)
                                .order_by(Address.last_name, Address.first_name, Address.id)
                                .limit(limit)).scalars())
