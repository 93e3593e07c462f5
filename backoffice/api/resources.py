"""Staff APIs for addresses, partners and articles, and the partner's own-data APIs."""

from decimal import Decimal

from flask import Response, request
from flask_appbuilder.api import expose
from flask_appbuilder.models.sqla.filters import FilterEqualFunction
from flask_appbuilder.security.decorators import permission_name, protect
from flask_babel import lazy_gettext as _l

from .. import transaction
from ..datamodel import Interface
from ..extensions import db
from ..labels import (
    ADDRESS_LABELS,
    ADDRESS_TITLES,
    ARTICLE_LABELS,
    ARTICLE_TITLES,
    PARTNER_LABELS,
    PARTNER_TITLES,
)
from ..models import Address, Article, Partner
from ..security import (
    current_owned_partner_id,
    current_partner_address_id,
    current_partner_id,
    logged_in_user,
)
from ..services import privacy
from .base import RulesApi

ADDRESS_FIELDS = [
    "type", "salutation", "first_name", "last_name", "company", "email", "phone", "street",
    "postal_code", "city", "country", "language", "registration_source", "sponsor_id",
    "consent_contact_by_sponsor", "consent_marketing", "external_key",
]
PUBLIC_PROFILE_FIELDS = ["profile_text", "notification_email", "time_zone", "available"]
PAYMENT_FIELDS = ["iban", "bic", "mandate_reference", "mandate_date"]
PARTNER_PROFILE_FIELDS = PUBLIC_PROFILE_FIELDS + PAYMENT_FIELDS


class AddressApi(RulesApi):
    resource_name = "address"
    datamodel = Interface(Address)
    label_columns = ADDRESS_LABELS
    list_title, show_title, add_title, edit_title = ADDRESS_TITLES
    list_columns = ["id", *ADDRESS_FIELDS, "registered_at", "first_order_at"]
    show_columns = list_columns
    add_columns = ADDRESS_FIELDS
    edit_columns = ADDRESS_FIELDS
    add_defaults = {"type": "new_customer", "language": "de", "registration_source": "api",
                    "country": "DE", "consent_contact_by_sponsor": False, "consent_marketing": False}
    search_columns = ["id", "last_name", "first_name", "company", "email", "postal_code", "city",
                      "type", "registration_source", "external_key", "sponsor_id",
                      "registered_at", "first_order_at"]
    order_columns = ["id", "last_name", "first_name", "registered_at", "first_order_at"]

    def pre_delete(self, item):
        privacy.refuse_hard_delete(db.session, item.id)

    @expose("/<int:pk>/personal_data", methods=["GET"])
    @protect()
    @permission_name("privacy")
    def personal_data(self, pk):
        """Everything stored about one address (GDPR).
        ---
        get:
          summary: Master data, consents, orders, invoices, redemptions, audit entries, downline position
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200: {description: "The data as JSON", content: {application/json: {schema: {type: object}}}}
        """
        body = privacy.as_json(privacy.personal_data(db.session, pk))
        transaction.discard()
        return Response(body, mimetype="application/json")

    @expose("/<int:pk>/erase", methods=["POST"])
    @protect()
    @permission_name("privacy")
    def erase(self, pk):
        """Erase the personal data of one address (GDPR); invoices and the tree node stay.
        ---
        post:
          summary: Anonymise an address, audited with who and why
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          requestBody:
            content:
              application/json:
                schema: {type: object, required: [reason], properties: {reason: {type: string}}}
          responses:
            200: {description: "Erased", content: {application/json: {schema: {type: object}}}}
        """
        body = request.get_json(silent=True)
        reason = body.get("reason") if isinstance(body, dict) else None
        user = logged_in_user()
        result = transaction.run(lambda session: privacy.erase(
            session, pk, reason=reason if isinstance(reason, str) else "",
            actor_user_id=user.id, actor_label=user.username))
        return self.response(200, address_id=result.address_id, invoices_kept=result.invoices_kept,
                             logins_ended=result.logins_ended, texts_erased=result.texts_erased,
                             files_deleted=result.files_deleted, mails_erased=result.mails_erased)


class PartnerApi(RulesApi):
    resource_name = "partner"
    datamodel = Interface(Partner)
    label_columns = PARTNER_LABELS
    list_title, show_title, add_title, edit_title = PARTNER_TITLES
    list_columns = ["id", "address_id", "user_id", "subdomain", *PARTNER_PROFILE_FIELDS]
    show_columns = list_columns
    add_columns = ["address_id", "user_id", "subdomain", *PARTNER_PROFILE_FIELDS]
    edit_columns = add_columns
    add_defaults = {"time_zone": "Europe/Berlin", "available": True}
    search_columns = ["subdomain", "address_id", "available", "time_zone"]
    order_columns = ["id", "subdomain"]


class ArticleApi(RulesApi):
    resource_name = "article"
    datamodel = Interface(Article)
    label_columns = ARTICLE_LABELS
    list_title, show_title, add_title, edit_title = ARTICLE_TITLES
    list_columns = ["id", "article_no", "name", "gross_price", "vat_rate",
                    "discountable_by_absolute_vouchers", "active"]
    show_columns = list_columns
    add_columns = list_columns[1:]
    edit_columns = add_columns
    add_defaults = {"vat_rate": Decimal("19"), "discountable_by_absolute_vouchers": True, "active": True}
    search_columns = ["article_no", "name", "active", "vat_rate",
                      "discountable_by_absolute_vouchers"]
    order_columns = ["article_no", "name", "gross_price"]


class MyProfileApi(RulesApi):
    """The profile of the logged-in user's partner (owner or team member): read and update."""

    resource_name = "my_profile"
    datamodel = Interface(Partner)
    label_columns = PARTNER_LABELS
    list_title = show_title = _l("My profile")
    edit_title = _l("Edit my profile")
    include_route_methods = {"get_list", "get", "put", "info"}
    base_filters = [["id", FilterEqualFunction, current_partner_id]]
    list_columns = ["id", "subdomain", *PUBLIC_PROFILE_FIELDS]
    show_columns = list_columns
    edit_columns = PUBLIC_PROFILE_FIELDS
    search_columns = ["subdomain"]  # never empty: FAB reads [] as "all columns"
    order_columns = ["id"]


class MyPaymentProfileApi(MyProfileApi):
    """The payment profile (SEPA mandate): its owner's alone, not the team members'."""

    resource_name = "my_payment_profile"
    list_title = show_title = _l("Payment profile")
    edit_title = _l("Edit payment profile")
    base_filters = [["id", FilterEqualFunction, current_owned_partner_id]]
    list_columns = ["id", "subdomain", *PAYMENT_FIELDS]
    show_columns = list_columns
    edit_columns = PAYMENT_FIELDS


class MyAddressesApi(RulesApi):
    """The addresses the logged-in partner sponsors; contact data only with consent."""

    resource_name = "my_addresses"
    datamodel = Interface(Address)
    label_columns = ADDRESS_LABELS
    list_title = _l("My addresses")
    show_title = _l("Address")
    include_route_methods = {"get_list", "get", "info"}
    base_filters = [["sponsor_id", FilterEqualFunction, current_partner_address_id]]
    list_columns = ["id", "salutation", "first_name", "last_name", "company", "type",
                    "postal_code", "city", "registered_at", "first_order_at", "contact_email",
                    "contact_phone"]
    show_columns = list_columns
    search_columns = ["last_name", "first_name", "type", "city", "postal_code"]
    order_columns = ["id", "last_name", "registered_at"]
