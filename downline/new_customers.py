"""The new-customer navigator (D3): the viewer's direct firstline that never ordered, with
the contact data A8 allows (scope "new_customers", consent required), sortable, and
exported in the page's order with the same fields and the same consent rule."""

from __future__ import annotations

from backoffice.models import Address

from . import export, visibility
from .navigator import SORTS, Page, firstline

SORT_KEYS = ("name", "registered_at", "postal_code", "city", "id")


def _sort(sort: str) -> str:
    return sort if sort in SORT_KEYS else "registered_at"


def page(session, sponsor: Address, *, page: int = 0, sort: str = "registered_at", desc: bool = True,
         name: str | None = None, staff: bool = False) -> tuple[Page, list[str]]:
    """One page of the sponsor's direct new customers and the fields the viewer may see
    (staff: every field; the sponsor: scope "new_customers")."""
    result = firstline(session, sponsor, page=page, sort=_sort(sort), desc=desc, name=name,
                       new_customers_only=True)
    return result, visibility.fields_for(session, None if staff else "new_customers")


def export_file(session, sponsor: Address, fmt: str, *, viewer_root_id: int | None, tz=None,
                sort: str = "registered_at", desc: bool = True, progress=lambda done: None) -> bytes:
    """The whole list as XLSX/CSV in the page's order (logged like every downline export)."""
    order = [c.desc() if desc else c.asc() for c in SORTS[_sort(sort)]]
    return export.export(session, sponsor, fmt, viewer_root_id=viewer_root_id, tz=tz, new_customers=order,
                         progress=progress)
