"""The partner's self-service area: its own profile and the addresses it sponsors.

Every view here is scoped by `base_filters` to the logged-in partner, lists its columns
explicitly (FAB's defaults would add relationship filters that list every address), and
has no relationship fields in its forms.
"""

from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.filters import FilterEqualFunction
from flask_babel import lazy_gettext as _l

from ..datamodel import Interface
from ..models import Address, Partner
from ..security import current_partner_address_id, current_partner_id
from .addresses import ADDRESS_LABELS, DATE_FORMATTERS
from .mixins import ExportMixin, RulesMixin, yes_no
from .partners import PARTNER_LABELS, PUBLIC_PROFILE_COLUMNS

PARTNER_ADDRESS_COLUMNS = ["id", "salutation", "first_name", "last_name", "company", "type",
                           "postal_code", "city", "registered_at", "first_order_at",
                           "contact_email", "contact_phone"]


class MyProfileView(RulesMixin, ModelView):
    datamodel = Interface(Partner)
    route_base = "/my/profile"
    list_title = _l("My profile")
    show_title = _l("My profile")
    edit_title = _l("Edit my profile")
    base_permissions = ["can_list", "can_show", "can_edit"]
    base_filters = [["id", FilterEqualFunction, current_partner_id]]
    label_columns = PARTNER_LABELS
    list_columns = ["address", "subdomain", "time_zone", "available"]
    # The payment profile is the owner's own page (`MyPaymentProfileView`).
    show_columns = ["address", "subdomain"] + PUBLIC_PROFILE_COLUMNS
    edit_columns = PUBLIC_PROFILE_COLUMNS
    formatters_columns = {"available": yes_no}
    # Never empty: FAB treats [] as "all columns", which embeds a dropdown of every address.
    search_columns = ["subdomain"]
    order_columns = ["subdomain"]


class MyAddressesView(ExportMixin, ModelView):
    """The partner's firstline, contact data only where the address consented."""

    datamodel = Interface(Address)
    route_base = "/my/addresses"
    list_title = _l("My addresses")
    show_title = _l("Address")
    base_permissions = ["can_list", "can_show", "can_export"]
    base_filters = [["sponsor_id", FilterEqualFunction, current_partner_address_id]]
    label_columns = ADDRESS_LABELS
    list_columns = ["id", "last_name", "first_name", "company", "type", "city", "registered_at",
                    "first_order_at", "contact_email"]
    export_columns = PARTNER_ADDRESS_COLUMNS
    show_columns = PARTNER_ADDRESS_COLUMNS
    search_columns = ["last_name", "first_name", "company", "type", "postal_code", "city",
                      "registered_at", "first_order_at"]
    order_columns = ["id", "last_name", "first_name", "company", "type", "city",
                     "registered_at", "first_order_at"]
    base_order = ("last_name", "asc")
    formatters_columns = DATE_FORMATTERS
