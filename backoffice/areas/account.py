"""What every login has: its own account pages, the API documentation, the set-up commands."""

from ..cli import demo_cli, partnerdesk_cli
from ..security import FINANCE, PARTNER_ROLE, SHOP, STAFF
from . import Area

API_DOCS = ("OpenApi|SwaggerView", "can_get|can_show")
OWN_ACCOUNT = (
    API_DOCS,
    ("UserDBModelView", "can_userinfo|userinfoedit"),
    ("ResetMyPasswordView", "can_this_form_get|can_this_form_post"),
    ("UserInfoEditView", "can_this_form_get|can_this_form_post"),
)

AREA = Area(
    name="account",
    order=0,
    grants={STAFF: OWN_ACCOUNT, FINANCE: OWN_ACCOUNT, PARTNER_ROLE: OWN_ACCOUNT, SHOP: (API_DOCS,)},
    commands=(partnerdesk_cli, demo_cli),
)
