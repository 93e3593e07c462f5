"""The pay-per-request marketplace (L1–L5): the customer's request pages in the portal, the
partner's requests, bids and receipts."""

from flask_babel import lazy_gettext as _l

from ..api.marketplace import MarketplaceApi
from ..security import PARTNER_ROLE, SHOP
from ..views import marketplace_portal  # noqa: F401 - adds the request pages to the portal
from ..views.marketplace import MyRequestsView
from . import Api, Area, Page

AREA = Area(
    name="marketplace",
    order=42,
    pages=(Page(MyRequestsView, "My requests", _l("My requests"), "fa-inbox", "My area",
                {PARTNER_ROLE: "can_index|can_status|can_bid|can_receipt"}),),
    apis=(Api(MarketplaceApi, {SHOP: "can_get|can_post"}),),
)
