"""The new-customer navigator (D3): the viewer's direct firstline that never ordered, with
the contact data A8 allows (scope "new_customers", consent required)."""

from __future__ import annotations

from backoffice.models import Address

from . import visibility
from .navigator import Page, firstline


def page(session, sponsor: Address, *, page: int = 0, sort: str = "registered_at", desc: bool = True,
         name: str | None = None, staff: bool = False) -> tuple[Page, list[str]]:
    """One page of the sponsor's direct new customers and the fields the viewer may see
    (staff: every field; the sponsor: scope "new_customers")."""
    result = firstline(session, sponsor, page=page, sort=sort, desc=desc, name=name,
                       new_customers_only=True)
    return result, visibility.fields_for(session, None if staff else "new_customers")
