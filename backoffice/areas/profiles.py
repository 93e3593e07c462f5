"""Public profiles, services and packages: the partner edits its own, staff keep the categories
and may take a profile out of the directory."""

from flask_babel import lazy_gettext as _l

from ..security import FINANCE, PARTNER_ROLE, STAFF
from ..views.profiles import CategoryView, MyPublicProfileView, PublicProfileView
from . import ALL, READ, Area, Page

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
)
