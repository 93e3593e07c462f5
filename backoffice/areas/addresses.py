"""Addresses, partners and articles: the Desk's lists (A1, A4–A6) and the partner's own data."""

from flask_babel import lazy_gettext as _l

from ..api.resources import AddressApi, ArticleApi, MyAddressesApi, MyProfileApi, PartnerApi
from ..security import FINANCE, PARTNER_ROLE, SHOP, STAFF
from ..views.addresses import AddressView, AuditEntryView, NeverOrderedView
from ..views.articles import ArticleView
from ..views.partner_area import MyProfileView, former_address_list
from ..views.partners import PartnerView
from ..views.privacy import PrivacyView
from . import ALL, READ, Api, Area, Page

OWN_DATA = READ + "|can_edit|can_put"

AREA = Area(
    name="addresses",
    order=10,
    pages=(
        Page(AddressView, "Addresses", _l("Addresses"), "fa-address-book", "Desk",
             {STAFF: ALL, FINANCE: READ}),
        Page(NeverOrderedView, "Never ordered", _l("Registered, never ordered"), "fa-user-clock", "Desk",
             {STAFF: ALL, FINANCE: READ}),
        Page(PartnerView, "Partners", _l("Partners"), "fa-handshake-o", "Desk", {STAFF: ALL}),
        Page(ArticleView, "Articles", _l("Articles"), "fa-cube", "Desk", {STAFF: ALL, FINANCE: READ}),
        Page(AuditEntryView, "Audit trail", _l("Audit trail"), "fa-history", "Desk",
             {STAFF: ALL, FINANCE: READ}),
        Page(PrivacyView, "Personal data", _l("Personal data (GDPR)"), "fa-user-secret", "Desk",
             {STAFF: ALL}),
        Page(MyProfileView, "My profile", _l("My profile"), "fa-user", "My area", {PARTNER_ROLE: OWN_DATA}),
    ),
    apis=(
        Api(AddressApi, {STAFF: ALL, FINANCE: READ}),
        Api(PartnerApi, {STAFF: ALL}),
        # The shop reads articles for its catalogue.
        Api(ArticleApi, {STAFF: ALL, FINANCE: READ, SHOP: "can_get|can_info"}),
        Api(MyProfileApi, {PARTNER_ROLE: OWN_DATA}),
        Api(MyAddressesApi, {PARTNER_ROLE: OWN_DATA}),
    ),
    # The partner's firstline is the downline navigator's (area downline); old links lead there.
    setup=former_address_list,
)
