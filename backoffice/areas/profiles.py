"""Public profiles, services and packages: the partner edits its own, staff keep the categories
and may take a profile out of the directory."""

from flask_babel import lazy_gettext as _l

from ..api.directory import MyServicesApi
from ..security import FINANCE, PARTNER_ROLE, STAFF
from ..views.profiles import CategoryView, MyPublicProfileView, PublicProfileView
from . import ALL, READ, Api, Area, Page

OWN_PROFILE = "can_edit|can_new_service|can_edit_service|can_delete_service|menu_access"

AREA = Area(
    name="profiles",
    order=15,
    pages=(
        Page(CategoryView, "Categories", _l("Categories"), "fa-sitemap", "Desk", {STAFF: ALL, FINANCE: READ}),
        Page(PublicProfileView, "Public profiles", _l("Public profiles"), "fa-id-card", "Desk",
             {STAFF: ALL, FINANCE: READ}),
        Page(MyPublicProfileView, "My public profile", _l("My public profile"), "fa-id-card", "My area",
             {PARTNER_ROLE: OWN_PROFILE}),
    ),
    # The partner's own services over REST (owner and team members, with their own tokens).
    apis=(Api(MyServicesApi, {PARTNER_ROLE: "can_get|can_post|can_put|can_delete"}),),
)
