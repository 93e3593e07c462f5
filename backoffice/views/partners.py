"""Desk views for partners (staff)."""

from flask_appbuilder import ModelView
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField
from wtforms.validators import Optional

from ..datamodel import Interface
from ..labels import PARTNER_LABELS, PARTNER_TITLES
from ..models import Partner
from .mixins import ExportMixin, RulesMixin, local_datetime, yes_no

# The payment profile is the owner's: team members see and edit the public profile only.
PUBLIC_PROFILE_COLUMNS = ["profile_text", "picture", "notification_email", "time_zone", "available"]
PAYMENT_COLUMNS = ["iban", "bic", "mandate_reference", "mandate_date"]
PROFILE_COLUMNS = PUBLIC_PROFILE_COLUMNS + PAYMENT_COLUMNS


class PartnerView(RulesMixin, ExportMixin, ModelView):
    datamodel = Interface(Partner)
    list_title, show_title, add_title, edit_title = PARTNER_TITLES
    label_columns = PARTNER_LABELS
    list_columns = ["id", "address", "subdomain", "notification_email", "time_zone", "available",
                    "has_mandate"]
    export_columns = ["id", "address_id", "address", "subdomain", "notification_email",
                      "time_zone", "available", "iban", "bic", "mandate_reference",
                      "mandate_date"]
    show_columns = ["id", "address", "user", "subdomain"] + PROFILE_COLUMNS + [
        "created_at", "updated_at"]
    search_columns = ["subdomain", "notification_email", "time_zone", "available", "iban",
                      "mandate_reference", "mandate_date", "address_id"]
    order_columns = ["id", "subdomain", "notification_email", "time_zone", "available"]
    add_columns = ["address_id", "user", "subdomain"] + PROFILE_COLUMNS
    edit_columns = add_columns
    add_form_extra_fields = {
        "address_id": IntegerField(_l("Address no."), validators=[Optional()],
                                   description=_l("The address this partner profile belongs to.")),
    }
    edit_form_extra_fields = add_form_extra_fields
    formatters_columns = {"available": yes_no, "has_mandate": yes_no,
                          "created_at": local_datetime, "updated_at": local_datetime}
    base_order = ("id", "desc")
