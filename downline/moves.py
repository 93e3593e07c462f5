"""Moving an address with its whole downline to a new sponsor (D5): one transaction,
cycle-proof at any depth, audited with a reason. Moves from a file are the import kind
`sponsor_moves` (imports/kinds/moves.py), which calls `move` row by row in one transaction.

The derived columns follow by themselves (`downline.tree` hooks every flush); this module
adds what a deliberate move needs on top: a reason, the checks before anything is written,
and on PostgreSQL row locks taken in id order on the moved address, the new sponsor and its
upline, so that of two concurrent moves that would together close a cycle the second waits,
then sees the first and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from backoffice.audit import acting_as, current_actor
from backoffice.models import Address

from .sponsors import SponsorError, SponsorMissingError, check_sponsor
from .tree import settled_rows


class MoveError(SponsorError):
    """The move is refused; the message says why."""


@dataclass
class MoveResult:
    address_id: int
    old_sponsor_id: int | None
    new_sponsor_id: int
    moved: int  # addresses moved: the address and its downline


def move(session, address_id: int, new_sponsor_id: int, reason: str, *, actor_label: str | None = None,
         actor_user_id: int | None = None) -> MoveResult:
    """Move `address_id` with its downline under `new_sponsor_id`, in the caller's unit of
    work. Raises SponsorError."""
    reason = (reason or "").strip()
    if not reason:
        raise MoveError(_("A reason is required to move an address."), code="reason_required")
    conn = session.connection()
    # The address, the new sponsor and both uplines, locked before anything is checked.
    if new_sponsor_id not in settled_rows(conn, address_id, new_sponsor_id):
        raise SponsorMissingError(_("Sponsor %(id)s does not exist.", id=new_sponsor_id))
    address = session.execute(select(Address).where(Address.id == address_id)
                              .execution_options(populate_existing=True)).scalar_one_or_none()
    if address is None:
        raise MoveError(_("Address %(id)s does not exist.", id=address_id), code="unknown_address",
                        status=404)
    check_sponsor(session, address_id, new_sponsor_id)  # after the locks: sees committed moves
    old = address.sponsor_id
    if old == new_sponsor_id:
        raise MoveError(_("Address %(id)s already sits in the firstline of %(sponsor)s.",
                          id=address_id, sponsor=new_sponsor_id), code="no_change", status=409)
    actor = current_actor() if actor_label is None else None
    with acting_as(actor_label or actor.label, actor_user_id if actor_label else actor.user_id, reason):
        address.sponsor_id = new_sponsor_id
        session.flush()
    moved = address.downline_count + 1
    return MoveResult(address_id, old, new_sponsor_id, moved)
