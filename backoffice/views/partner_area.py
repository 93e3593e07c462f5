"""The partner's self-service area: its own profile (the addresses it sponsors are the
downline navigator's firstline, `views/downline.py`).

Every view here is scoped by `base_filters` to the logged-in partner, lists its columns
explicitly (FAB's defaults would add relationship filters that list every address), and
has no relationship fields in its forms.
"""

from flask import redirect, url_for
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.filters import FilterEqualFunction
from flask_babel import lazy_gettext as _l

from ..datamodel import Interface
from ..labels import PARTNER_LABELS
from ..models import Partner
from ..security import NO_PARTNER, current_partner_address_id, current_partner_id
from .mixins import RulesMixin, yes_no
from .partners import PUBLIC_PROFILE_COLUMNS


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


def former_address_list(app) -> None:
    """The partner's firstline is the downline navigator's first page (`/my/downline/`, with its
    fields, consent rule, search and export); the former list's URLs lead there. The target
    pages check the login and the partner's downline themselves."""

    def to_firstline(**_ignored):
        return redirect(url_for("MyDownlineView.index"), code=301)

    def to_member(pk):
        return redirect(url_for("MyDownlineView.node", pk=pk), code=301)

    def to_export(fmt):
        own = current_partner_address_id()
        if own == NO_PARTNER:
            return redirect(url_for("MyDownlineView.index"))
        return redirect(url_for("MyDownlineView.export", pk=own, fmt=fmt, level=1))

    for rule, endpoint, view in (("/my/addresses/", "index", to_firstline),
                                 ("/my/addresses/list/", "list", to_firstline),
                                 ("/my/addresses/show/<int:pk>", "show", to_member),
                                 ("/my/addresses/export/<fmt>", "export", to_export)):
        app.add_url_rule(rule, f"FormerAddressList.{endpoint}", view)
