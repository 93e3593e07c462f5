"""Ordering a partner's services (R1–R4, M2): the partner's *My service orders* with request
to order per service, the customer's pages in the portal, the shop's API, the expiry sweep."""

from flask_babel import lazy_gettext as _l

from ..api.service_orders import ServiceOrdersApi
from ..security import PARTNER_ROLE, SHOP
from ..tasks import service_orders as service_order_tasks
from ..views import service_orders_portal  # noqa: F401 - adds the customer's pages to the portal
from ..views.service_orders import ServiceOrdersView
from . import Api, Area, Page

AREA = Area(
    name="service_orders",
    order=43,
    pages=(
        Page(
            ServiceOrdersView,
            "My service orders",
            _l("My service orders"),
            "fa-shopping-bag",
            "My area",
            {PARTNER_ROLE: "can_index|can_move|can_decline|can_withdraw|can_offer|can_settings"},
        ),
    ),
    apis=(Api(ServiceOrdersApi, {SHOP: "can_get|can_post"}),),
    task_modules=(service_order_tasks,),
)
