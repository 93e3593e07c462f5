"""Master data that orders point at is deactivated, never deleted.

An ordered article, a redeemed voucher or code is part of what an order, its invoice and
the voucher reports say happened; deleting it would break them (both databases refuse
with a foreign-key error). So is a category with subcategories, services, bids, requests,
charges or expert jobs. The Desk's and the
APIs' deletes (through `backoffice.datamodel`) ask here first and answer with a message
that says what to do instead.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import literal, select

from ..errors import Conflict
from ..models import (
    Article,
    BudgetMonth,
    Category,
    CategoryBid,
    ExpertJob,
    LeadCharge,
    LeadRequest,
    Order,
    OrderLine,
    Redemption,
    Service,
    Voucher,
    VoucherCode,
)

ORDERS = _l("orders")
# Model → what keeps pointing at it: (the columns of those records, what they are).
USES = {
    Article: (((OrderLine.article_id,), ORDERS),),
    Voucher: (((Redemption.voucher_id,), ORDERS),),
    VoucherCode: (((Order.voucher_code_id, Redemption.code_id), ORDERS),),
    Category: (((Category.parent_id,), _l("subcategories")), ((Service.category_id,), _l("services")),
               ((CategoryBid.category_id,), _l("bids")), ((BudgetMonth.category_id,), _l("budgets")),
               ((LeadRequest.category_id,), _l("customer requests")),
               ((LeadCharge.category_id,), _l("charges")), ((ExpertJob.category_id,), _l("expert jobs"))),
}
# The refusal's text per model: what to do instead (default: it appears in orders).
IN_USE = {Category: _l("This category has %(what)s and cannot be deleted; deactivate it instead.")}
APPEARS_IN_ORDERS = _l("%(record)s appears in orders and cannot be deleted; deactivate it instead.")


def points_at(session, column, record_id: int) -> bool:
    """Whether a row's `column` (a foreign key) holds `record_id`."""
    return session.execute(select(literal(True)).where(column == record_id).limit(1)).first() is not None


def held_by(session, holders, record_id: int) -> list[str]:
    """What of `holders` ((columns, what), …) still points at `record_id`, each once."""
    return [str(what) for columns, what in holders
            if any(points_at(session, column, record_id) for column in columns)]


def refuse_delete_if_used(session, record) -> None:
    """A `Conflict` `in_use` if records still point at `record` (orders, redemptions; a
    category's subcategories, services, bids …), saying what."""
    held = held_by(session, USES.get(type(record), ()), record.id)
    if held:
        message = IN_USE.get(type(record), APPEARS_IN_ORDERS)
        raise Conflict("in_use", str(message) % {"record": str(record), "what": ", ".join(held)})
