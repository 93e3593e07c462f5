"""The firstline navigator (D2) and search inside a downline: page-sized indexed SQL.

A viewer has a root: a partner's own address (never above it), or None for staff (the
whole tree, with the upline shown). Every lookup of a node goes through `node()`, which
refuses anything outside the viewer's downline, so no URL reaches above the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import contains_eager

from backoffice.errors import NotFound
from backoffice.models import Address, AddressTree, AddressType

from .tree import prefix_of, prefix_upper

SORTS = {
    "name": (Address.last_name, Address.first_name, Address.id),
    "type": (Address.type, Address.id),
    "registered_at": (Address.registered_at, Address.id),
    "first_order_at": (Address.first_order_at, Address.id),
    "firstline": (Address.firstline_count, Address.id),
    "downline": (Address.downline_count, Address.id),
    "postal_code": (Address.postal_code, Address.id),
    "city": (Address.city, Address.id),
    "id": (Address.id,),
}
PAGE_SIZE = 50


class NotInDownline(NotFound):
    """The node does not exist or lies outside the viewer's downline (404 either way: the
    answer must not tell a partner that an address exists outside its downline)."""

    default_message = _l("There is no address with this number in your downline.")

    def __init__(self, node_id: int | None = None):
        super().__init__()
        self.node_id = node_id


def downline_of(address: Address):
    """SQL condition on `AddressTree`: members of the address's downline (not the address
    itself). Queries of `Address` join it with `in_tree`."""
    prefix = prefix_of(address.path, address.id)
    return and_(AddressTree.path >= prefix, AddressTree.path < prefix_upper(prefix))


def in_tree(query):
    """`query` (over `Address`) joined to each address's tree row, which then also fills
    `Address.tree` (no second join for the eager load)."""
    return query.join(Address.tree).options(contains_eager(Address.tree))


def is_inside(root: Address, address: Address) -> bool:
    return address.id == root.id or (address.path or "").startswith(prefix_of(root.path, root.id))


def node(session, node_id: int, root_id: int | None) -> Address:
    """The address `node_id` if the viewer (root `root_id`, None for staff) may open it."""
    if not 0 < node_id < 2**31:  # a URL may carry any number; the id column is a 32-bit integer
        raise NotInDownline(node_id)
    address = session.get(Address, node_id)
    if address is None or address.path is None:
        raise NotInDownline(node_id)
    if root_id is not None:
        root = session.get(Address, root_id)
        if root is None or root.path is None or not is_inside(root, address):
            raise NotInDownline(node_id)
    return address


def breadcrumb(session, address: Address, root_id: int | None) -> list[tuple[int, str]]:
    """(id, name) from the viewer's root (or the tree's root for staff) down to `address`."""
    ids = [int(p) for p in address.path.split("/") if p] + [address.id]
    if root_id is not None:
        ids = ids[ids.index(root_id):] if root_id in ids else [address.id]
    rows = session.execute(select(Address.id, Address.first_name, Address.last_name, Address.company)
                           .where(Address.id.in_(ids))).all()
    names = {r.id: _name(r) for r in rows}
    return [(i, names.get(i, str(i))) for i in ids]


def _name(row) -> str:
    person = " ".join(p for p in (row.first_name, row.last_name) if p)
    return f"{person} ({row.company})" if row.company and person else (person or row.company or "")


def name_sql():
    """`_name` (and `Address.name`) as one SQL expression, for bulk reads that skip Python rows."""
    first, last, company = (func.coalesce(c, "") for c in (Address.first_name, Address.last_name,
                                                            Address.company))
    has_first, has_last = first != "", last != ""
    person = case((has_first & has_last, first + " " + last), else_=first + last)
    # Tested on the columns, not on `person`: SQL would build the person's name once per test.
    has_person = has_first | has_last
    return case((has_person & (company != ""), person + " (" + company + ")"),
                (has_person, person), else_=company)


@dataclass
class Page:
    rows: list[Address]
    total: int
    page: int
    page_size: int
    sort: str
    desc: bool

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def firstline(session, address: Address, *, page: int = 0, page_size: int = PAGE_SIZE,
              sort: str = "name", desc: bool = False, type_: str | None = None,
              name: str | None = None, new_customers_only: bool = False) -> Page:
    """One page of the address's direct firstline, sorted and filtered."""
    conditions = [Address.sponsor_id == address.id]
    if new_customers_only:
        # The address type turns to customer with the first completed order (A3, exactly
        # once), so the type alone answers "never ordered" from the index.
        conditions.append(Address.type == AddressType.new_customer)
    elif type_ in AddressType.__members__:
        conditions.append(Address.type == AddressType(type_))
    if name:
        conditions.append(_name_matches(name))
    sort = sort if sort in SORTS else "name"
    order = [c.desc() if desc else c.asc() for c in SORTS[sort]]
    page_size = max(1, min(page_size, 500))
    total = (address.firstline_count if len(conditions) == 1
             else session.execute(select(func.count()).select_from(Address).where(*conditions)).scalar())
    rows = session.execute(select(Address).where(*conditions).order_by(*order)
                           .limit(page_size).offset(max(page, 0) * page_size)).scalars().all()
    return Page(rows, total, max(page, 0), page_size, sort, desc)


def _name_matches(text: str):
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(Address.last_name.ilike(pattern, escape="\\"), Address.first_name.ilike(pattern, escape="\\"),
               Address.company.ilike(pattern, escape="\\"))


def search(session, root: Address, text: str, limit: int = 50) -> list[Address]:
    """Addresses in the root's downline whose name contains `text` (case-insensitive)."""
    if not text or not text.strip():
        return []
    # Path order walks the path index and stops at `limit` matches; the few found are then
    # shown nearest level first.
    found = session.execute(in_tree(select(Address)).where(downline_of(root), _name_matches(text.strip()))
                            .order_by(AddressTree.path).limit(limit)).scalars().all()
    return sorted(found, key=lambda a: (a.depth, a.last_name or "", a.id))
