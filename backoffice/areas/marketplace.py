"""The pay-per-request marketplace (L1–L5): the customer's request pages in the portal, the
partner's requests, bids and receipts."""

from flask_babel import lazy_gettext as _l

from ..api.marketplace import MarketplaceApi
from ..cli import marketplace_cli
from ..security import FINANCE, PARTNER_ROLE, SHOP, STAFF
from ..tasks import marketplace as marketplace_tasks
from ..views import marketplace_portal  # noqa: F401 - adds the request pages to the portal
from ..views.marketplace import DisputesView, LeadChargeView, LeadRequestView, MyRequestsView, ReviewView
from . import ALL, READ, Api, Area, Page

AREA = Area(
    name="marketplace",
    order=42,
    pages=(
        Page(MyRequestsView, "My requests", _l("My requests"), "fa-inbox", "My area",
             {PARTNER_ROLE: "can_index|can_status|can_bid|can_receipt|can_dispute|can_answer"}),
        Page(LeadRequestView, "Customer requests", _l("Customer requests"), "fa-inbox", "Desk",
             {STAFF: READ}),
        Page(LeadChargeView, "Charges", _l("Charges"), "fa-eur", "Desk", {STAFF: READ, FINANCE: READ}),
        Page(ReviewView, "Reviews", _l("Reviews"), "fa-star", "Desk", {STAFF: ALL}),
        Page(DisputesView, "Disputed charges", _l("Disputed charges"), "fa-gavel", "Desk", {STAFF: ALL}),
    ),
    apis=(Api(MarketplaceApi, {SHOP: "can_get|can_post"}),),
    commands=(marketplace_cli,),
    task_modules=(marketplace_tasks,),
)
