"""Desk views for addresses: the full list, the "never ordered" selection, the audit trail."""

from flask import flash, g, url_for
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.validators import Optional

from ..datamodel import Interface
from ..extensions import db
from ..labels import ADDRESS_LABELS, ADDRESS_TITLES
from ..models import Address, AddressType, AuditEntry, Language, RegistrationSource, Salutation
from ..rules import countries
from ..services.privacy import refuse_hard_delete
from .mixins import (
    ExportMixin,
    RecordLinksMixin,
    RulesMixin,
    enum_select,
    label_of,
    local_datetime,
    may,
    own_id,
    yes_no,
)

FORM_COLUMNS = [
    "type", "salutation", "first_name", "last_name", "company", "email", "phone", "street",
    "postal_code", "city", "country", "language", "registration_source", "sponsor_id",
    "consent_contact_by_sponsor", "consent_marketing", "external_key",
]

SEARCH_COLUMNS = [
    "id", "last_name", "first_name", "company", "email", "phone", "postal_code", "city",
    "country", "type", "registration_source", "registered_at", "first_order_at",
    "external_key", "consent_contact_by_sponsor", "consent_marketing",
]

DATE_FORMATTERS = {
    "type": label_of(AddressType),
    "salutation": label_of(Salutation),
    "language": label_of(Language),
    "registration_source": label_of(RegistrationSource),
    "registered_at": local_datetime,
    "first_order_at": local_datetime,
    "created_at": local_datetime,
    "updated_at": local_datetime,
    "occurred_at": local_datetime,
    "consent_contact_by_sponsor": yes_no,
    "consent_marketing": yes_no,
}


# What the audit trail's field names mean to a reader.
AUDIT_FIELDS = {"sponsor_id": _l("Sponsor"), "type": _l("Type"), "iban": _l("IBAN"), "bic": _l("BIC"),
                "mandate_reference": _l("Mandate reference"), "mandate_date": _l("Mandate date"),
                "published": _l("Published"), "invitation": _l("Invitation"), "member": _l("Team member"),
                "owner": _l("Owner"), "erasure": _l("Erasure of personal data"), "hidden": _l("Hidden")}
AUDIT_ENTITIES = {"address": _l("Address"), "partner": _l("Partner"), "team": _l("Team"),
                  "partner_profile": _l("Public profile"), "review": _l("Review"),
                  "job_review": _l("Job review")}
AUDIT_FLAGS = {"True": _l("yes"), "False": _l("no")}


def audit_field(value):
    return str(AUDIT_FIELDS.get(value, value or ""))


def audit_entity(value):
    return str(AUDIT_ENTITIES.get(value, value or ""))


def audit_value(value, field: str = "sponsor_id"):
    """An old or new value as a person reads it: a sponsor's name and number, a type's label,
    yes or no; other fields' values as they were written (a postal code is no address number)."""
    if value in (None, ""):
        return ""
    if field == "sponsor_id" and str(value).isdigit():
        address = db.session.get(Address, int(value))
        return f"{address.name} ({_('No.')} {address.id})" if address is not None else f"{_('No.')} {value}"
    if field == "type":
        return label_of(AddressType)(value)
    if value in AUDIT_FLAGS:
        return str(AUDIT_FLAGS[value])
    return value


def audit_change(change):
    """`AuditEntry.old_change` / `new_change`: the value as its field reads it."""
    field, value = change
    return audit_value(value, field)


class AuditEntryView(ExportMixin, ModelView):
    """Read-only trail; also shown as a tab on each address."""

    datamodel = Interface(AuditEntry)
    list_title = _l("Audit trail")
    show_title = _l("Audit trail entry")
    base_permissions = ["can_list", "can_show", "can_export"]
    list_columns = ["occurred_at", "actor_label", "address", "entity", "field", "old_change",
                    "new_change", "reason"]
    show_columns = list_columns
    export_columns = ["occurred_at", "actor_label", "address", "entity", "field", "old_value", "new_value",
                      "reason"]
    search_columns = ["occurred_at", "actor_label", "entity", "field", "old_value", "new_value",
                      "address_id"]
    base_order = ("occurred_at", "desc")
    label_columns = {
        "occurred_at": _l("When"),
        "actor_label": _l("Who"),
        "address": _l("Address"),
        "address_id": _l("Address no."),
        "entity": _l("Record"),
        "field": _l("Field"),
        "old_value": _l("Old value"),
        "new_value": _l("New value"),
        "old_change": _l("Old value"),
        "new_change": _l("New value"),
        "reason": _l("Reason"),
    }
    formatters_columns = {**DATE_FORMATTERS, "field": audit_field, "entity": audit_entity,
                          "old_change": audit_change, "new_change": audit_change}


def sponsor_reason_required(form_cls):
    """A new sponsor in the edit form needs a reason, as on the move page; it goes into the
    audit trail with the change."""

    class SponsorReasonForm(form_cls):
        def validate(self, extra_validators=None):
            ok = super().validate(extra_validators)
            pk = own_id()
            stored = db.session.get(Address, pk) if pk is not None else None
            changed = stored is not None and self.sponsor_id.data != stored.sponsor_id
            if changed and not (self.sponsor_reason.data or "").strip():
                self.sponsor_reason.errors = [*self.sponsor_reason.errors,
                                              _("Give a reason for the new sponsor.")]
                return False
            return ok

    SponsorReasonForm.__name__ = form_cls.__name__
    return SponsorReasonForm


class AddressView(RecordLinksMixin, RulesMixin, ExportMixin, ModelView):
    datamodel = Interface(Address)
    list_title, show_title, add_title, edit_title = ADDRESS_TITLES
    label_columns = ADDRESS_LABELS
    list_columns = ["id", "last_name", "first_name", "company", "type", "postal_code", "city",
                    "email", "sponsor", "registered_at", "first_order_at"]
    export_columns = list_columns[:-3] + ["phone", "street", "country", "language",
                                          "registration_source", "sponsor_id", "registered_at",
                                          "first_order_at", "consent_contact_by_sponsor",
                                          "consent_marketing", "external_key"]
    search_columns = SEARCH_COLUMNS
    order_columns = ["id", "last_name", "first_name", "company", "type", "postal_code", "city",
                     "email", "registered_at", "first_order_at"]
    show_columns = ["id", "type", "salutation", "first_name", "last_name", "company", "email",
                    "phone", "street", "postal_code", "city", "country", "language",
                    "registration_source", "registered_at", "first_order_at", "sponsor",
                    "consent_contact_by_sponsor", "consent_marketing", "external_key",
                    "created_at", "updated_at"]
    add_columns = FORM_COLUMNS
    edit_columns = [*FORM_COLUMNS[:FORM_COLUMNS.index("sponsor_id") + 1], "sponsor_reason",
                    *FORM_COLUMNS[FORM_COLUMNS.index("sponsor_id") + 1:]]
    # An id field, not a dropdown: a dropdown of a million sponsors is unusable.
    add_form_extra_fields = {
        "type": enum_select(_l("Type"), AddressType, default=AddressType.new_customer),
        "salutation": enum_select(_l("Salutation"), Salutation, blank=True),
        "language": enum_select(_l("Language"), Language, default=Language.de),
        "registration_source": enum_select(_l("Registered via"), RegistrationSource,
                                           default=RegistrationSource.desk),
        "country": SelectField(_l("Country"), default="DE", choices=lambda: sorted(
            countries().items(), key=lambda item: (item[0] != "DE", item[1]))),
        "sponsor_id": IntegerField(_l("Sponsor (address no.)"), validators=[Optional()],
                                   description=_l("Number of the sponsoring address.")),
    }
    edit_form_extra_fields = {**add_form_extra_fields, "sponsor_reason": TextAreaField(
        _l("Reason for a new sponsor"), validators=[Optional()],
        description=_l("Needed when the sponsor changes; it is kept in the audit trail."))}
    base_order = ("id", "desc")
    formatters_columns = DATE_FORMATTERS
    related_views = [AuditEntryView]
    page_size = 25

    def _init_forms(self):
        super()._init_forms()
        self.edit_form = sponsor_reason_required(self.edit_form)

    def pre_update(self, item):
        super().pre_update(item)
        g.audit_reason = (getattr(item, "sponsor_reason", None) or "").strip() or None

    def post_add(self, item):
        self._flash_link(item)

    def post_update(self, item):
        g.pop("audit_reason", None)
        self._flash_link(item)

    @staticmethod
    def _flash_link(item):
        flash(Markup('<a href="{}" data-test="saved-record">{}</a>').format(
            url_for("AddressView.show", pk=item.id),
            _("Open %(name)s (No. %(id)s)", name=item.name, id=item.id)), "info")

    def record_links(self, item):
        links = []
        if may("can_edit", "AddressView"):
            links.append((_("Edit"), url_for("AddressView.edit", pk=item.id), "fa-edit", "address-edit"))
        if item.sponsor_id:
            links.append((_("Sponsor: %(name)s", name=item.sponsor.name),
                          url_for("AddressView.show", pk=item.sponsor_id), "fa-level-up", "address-sponsor"))
        if may("can_node", "DeskDownlineView"):
            links.append((_("Downline"), url_for("DeskDownlineView.node", pk=item.id), "fa-sitemap",
                          "address-downline"))
        if may("can_move", "DeskDownlineView"):
            links.append((_("Move to another sponsor"), url_for("DeskDownlineView.move", address=item.id),
                          "fa-exchange", "address-move"))
        if may("can_list", "AuditEntryView"):
            links.append((_("Audit trail"), url_for("AuditEntryView.list", _flt_0_address_id=item.id),
                          "fa-history", "address-audit"))
        return links

    def pre_delete(self, item):
        """FAB flashes the refusal's message (a partner's address, orders, a downline)."""
        refuse_hard_delete(db.session, item.id)


class NeverOrderedView(ExportMixin, ModelView):
    """A4: addresses that registered but never ordered, to contact them."""

    datamodel = Interface(Address)
    list_title = _l("Registered, never ordered")
    show_title = _l("Address")
    base_permissions = ["can_list", "can_show", "can_export"]
    base_filters = [["type", FilterEqual, AddressType.new_customer]]
    label_columns = ADDRESS_LABELS
    list_columns = ["id", "last_name", "first_name", "email", "phone", "postal_code", "city",
                    "registration_source", "registered_at", "sponsor",
                    "consent_marketing"]
    export_columns = ["id", "salutation", "last_name", "first_name", "company", "email", "phone",
                      "street", "postal_code", "city", "country", "language",
                      "registration_source", "registered_at", "sponsor_id",
                      "consent_contact_by_sponsor", "consent_marketing"]
    show_columns = AddressView.show_columns
    search_columns = ["last_name", "first_name", "email", "postal_code", "city", "country",
                      "registration_source", "registered_at", "consent_marketing",
                      "consent_contact_by_sponsor", "language"]
    order_columns = ["id", "last_name", "registered_at", "postal_code", "city"]
    base_order = ("registered_at", "desc")
    formatters_columns = DATE_FORMATTERS
