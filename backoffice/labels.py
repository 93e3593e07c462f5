"""What the Desk pages and the REST APIs call a record kind and its columns, translated.

Both read these (the pages and the APIs are siblings and import nothing of each other), so
a column is called the same on a page, in an export's header and in an API's `_info`; FAB
would otherwise make up English labels from the column names ("Consent Contact By Sponsor",
"List Address").
"""

from typing import NamedTuple

from flask_babel import lazy_gettext as _l


class Titles(NamedTuple):
    """FAB's `list_title`, `show_title`, `add_title`, `edit_title`, in that order."""

    list: object
    show: object
    add: object
    edit: object


ADDRESS_LABELS = {
    "id": _l("No."),
    "type": _l("Type"),
    "salutation": _l("Salutation"),
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "name": _l("Name"),
    "company": _l("Company"),
    "email": _l("E-mail"),
    "phone": _l("Phone"),
    "street": _l("Street"),
    "postal_code": _l("Postal code"),
    "city": _l("City"),
    "country": _l("Country"),
    "language": _l("Language"),
    "registration_source": _l("Registered via"),
    "registered_at": _l("Registered at"),
    "first_order_at": _l("First order at"),
    "sponsor": _l("Sponsor"),
    "sponsor_id": _l("Sponsor (address no.)"),
    "consent_contact_by_sponsor": _l("Sponsor may contact"),
    "consent_marketing": _l("Marketing consent"),
    "external_key": _l("External key"),
    "contact_email": _l("E-mail"),
    "contact_phone": _l("Phone"),
    "created_at": _l("Created at"),
    "updated_at": _l("Updated at"),
}
ADDRESS_TITLES = Titles(_l("Addresses"), _l("Address"), _l("New address"), _l("Edit address"))

PARTNER_LABELS = {
    "id": _l("Partner no."),
    "address": _l("Address"),
    "address_id": _l("Address no."),
    "user": _l("User login"),
    "user_id": _l("User login (user no.)"),
    "subdomain": _l("Subdomain"),
    "profile_text": _l("Public profile"),
    "picture": _l("Picture"),
    "notification_email": _l("Notification e-mail"),
    "time_zone": _l("Time zone"),
    "available": _l("Available"),
    "iban": _l("IBAN"),
    "bic": _l("BIC"),
    "mandate_reference": _l("Mandate reference"),
    "mandate_date": _l("Mandate date"),
    "has_mandate": _l("SEPA mandate"),
    "created_at": _l("Created at"),
    "updated_at": _l("Updated at"),
}
PARTNER_TITLES = Titles(_l("Partners"), _l("Partner"), _l("New partner"), _l("Edit partner"))

ARTICLE_LABELS = {
    "id": _l("No."),
    "article_no": _l("Article no."),
    "name": _l("Name"),
    "gross_price": _l("Gross price"),
    "vat_rate": _l("VAT rate"),
    "discountable_by_absolute_vouchers": _l("May be discounted by absolute vouchers"),
    "active": _l("Active"),
    "created_at": _l("Created at"),
    "updated_at": _l("Updated at"),
}
ARTICLE_TITLES = Titles(_l("Articles"), _l("Article"), _l("New article"), _l("Edit article"))

VOUCHER_LABELS = {
    "id": _l("No."),
    "name": _l("Name"), "kind": _l("Kind"), "amount": _l("Amount"), "vat_mode": _l("VAT handling"),
    "fixed_vat_rate": _l("Fixed VAT rate"), "new_customers_only": _l("New customers only"),
    "min_order_value": _l("Minimum order value (gross, discountable articles)"),
    "valid_from": _l("Valid from"), "valid_until": _l("Valid until"), "valid_on": _l("Valid on"),
    "window_weekdays": _l("Weekdays (1 = Mon … 7 = Sun)"), "window_start": _l("Window start"),
    "window_end": _l("Window end (before start: wraps midnight)"), "max_total": _l("Maximum in total"),
    "max_per_customer": _l("Maximum per customer"),
    "released_for_partner_codes": _l("Released for partner codes"),
    "for_customer_id": _l("Only for customer (address no.)"), "active": _l("Active"),
    "redeemed_count": _l("Redeemed"), "created_at": _l("Created at"),
}
VOUCHER_TITLES = Titles(_l("Vouchers"), _l("Voucher"), _l("New voucher"), _l("Edit voucher"))
