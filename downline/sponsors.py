"""Sponsor assignment and the cycle guard.

The check walks up from the proposed sponsor with one indexed lookup per level (a
tree's depth is small, ~14 at 1M addresses), so it never loads the tree.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from backoffice.errors import DomainError
from backoffice.models import Address

# A tree deeper than this is treated as broken rather than walked forever.
MAX_DEPTH = 10_000


class SponsorError(DomainError):
    """The proposed sponsor is not acceptable (missing, itself, or inside the downline)."""

    code, status = "invalid_sponsor", 422

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(code, message, status=status)


class SponsorMissingError(SponsorError):
    """The proposed sponsor does not exist."""

    code, status = "missing_sponsor", 422


class SponsorCycleError(SponsorError):
    """The proposed sponsor is the address itself or sits in its downline."""

    code, status = "cycle", 409


def upline_ids(session, address_id: int, limit: int = MAX_DEPTH) -> list[int]:
    """Ids from the address's sponsor up to the root, nearest first."""
    ids: list[int] = []
    seen = {address_id}
    current = address_id
    for _step in range(limit):
        current = session.execute(
            select(Address.sponsor_id).where(Address.id == current)
        ).scalar()
        if current is None:
            return ids
        if current in seen:
            raise SponsorCycleError(_("The sponsor tree already contains a cycle at address %(id)s.",
                                 id=current))
        seen.add(current)
        ids.append(current)
    raise SponsorError(_("The upline is deeper than %(n)s levels.", n=limit))


def check_sponsor(session, address_id: int | None, sponsor_id: int) -> None:
    """Raise SponsorError unless `sponsor_id` may become the sponsor of `address_id`."""
    exists = session.execute(select(Address.id).where(Address.id == sponsor_id)).first()
    if exists is None:
        raise SponsorMissingError(_("Sponsor %(id)s does not exist.", id=sponsor_id))
    if address_id is None:
        return
    if sponsor_id == address_id:
        raise SponsorCycleError(_("An address cannot be its own sponsor."))
    if address_id in upline_ids(session, sponsor_id):
        raise SponsorCycleError(_("This sponsor sits in the address's own downline: "
                             "the move would create a cycle."))


def assign_sponsor(session, address: Address, sponsor_id: int | None) -> None:
    """Set (or clear) an address's sponsor after the cycle check; audited on flush.

    An address without a downline (as loaded: the caller holds its row lock, e.g. the
    shop's checkout) cannot close a cycle, so only "not itself" is checked here; the flush
    hook (`downline.tree`) still refuses a missing sponsor and re-checks a changed tree."""
    leaf = address.id is not None and address.downline_count == 0 and sponsor_id != address.id
    if sponsor_id is not None and not leaf:
        check_sponsor(session, address.id, sponsor_id)
    address.sponsor_id = sponsor_id
