"""Master data that orders point at is deactivated, never deleted.

An ordered article, a redeemed voucher or code is part of what an order, its invoice and
the voucher reports say happened; deleting it would break them (both databases refuse
with a foreign-key error). The Desk's and the
APIs' deletes (through `backoffice.datamodel`) ask here first and answer with a message
that says what to do instead.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ..errors import Conflict
from ..models import Article, Order, OrderLine, Redemption, Voucher, VoucherCode

# Model → the columns of records that keep pointing at it.
USES = {
    Article: (OrderLine.article_id,),
    Voucher: (Redemption.voucher_id,),
    VoucherCode: (Order.voucher_code_id, Redemption.code_id),
}


def refuse_delete_if_used(session, record) -> None:
    """A `Conflict` `in_use` if an order or redemption points at `record`."""
    for column in USES.get(type(record), ()):
        if session.execute(select(column).where(column == record.id).limit(1)).first() is not None:
            raise Conflict("in_use", _(
                "%(record)s appears in orders and cannot be deleted; deactivate it instead.",
                record=str(record)))
