"""Customers who register in the shop (A1): a new address of type "new customer".

On a partner's subdomain that partner sponsors the new customer provisionally; a partner
code in the first order may move it (V9, `backoffice.services.orders`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from ..audit import acting_as
from ..errors import Conflict, DomainError, RuleViolations
from ..models import Address, AddressType, Partner
from ..models.addresses import Language, RegistrationSource, Salutation
from ..rules import apply_rules, normalize_email

SHOP_ACTOR = "shop api"

TEXT_FIELDS = ("first_name", "last_name", "company", "email", "phone", "street", "postal_code", "city",
               "country", "partner_subdomain")
CHOICES = {"salutation": Salutation, "language": Language}
# Consents are JSON booleans only: "false", "no", "0" or 5 are refused, never read as a yes.
FLAGS = ("consent_contact_by_sponsor", "consent_marketing")
CUSTOMER_FIELDS = (*TEXT_FIELDS[:-1], *CHOICES, *FLAGS)


@dataclass(frozen=True)
class RegisteredCustomer:
    id: int
    type: AddressType
    sponsor_id: int | None


def email_taken(existing_id: int | None = None) -> Conflict:
    return Conflict("email_taken", _("An address with this e-mail exists."), id=existing_id)


def parse_customer(data: dict) -> dict:
    """The registration's values with their types checked: text is a JSON string, a choice
    one of its values, a consent a JSON boolean (null or absent: no consent). Anything else
    is a `RuleViolations` naming the fields; the column lengths are the rules' (`apply_rules`)."""
    values, errors = {}, {}
    for key in (*TEXT_FIELDS, *CHOICES, *FLAGS):
        value = data.get(key)
        if key in FLAGS:
            if value is not None and not isinstance(value, bool):
                errors[key] = [_("Send true or false.")]
            values[key] = value is True
        elif value is None:
            continue
        elif not isinstance(value, str):
            errors[key] = [_("Send text.")]
        elif key in CHOICES:
            try:
                values[key] = CHOICES[key](value)
            except ValueError:
                errors[key] = [_("One of: %(values)s.", values=", ".join(m.value for m in CHOICES[key]))]
        else:
            values[key] = value
    if errors:
        raise RuleViolations(errors)
    return values


def register_customer(session, data: dict) -> RegisteredCustomer:
    """Write the new customer (rules checked, audited as the shop); the caller commits.

    A known e-mail is a `Conflict` with the existing id; a concurrent registration with the
    same e-mail meets the unique index at the commit (the caller answers `email_taken()`)."""
    data = parse_customer(data)
    email = data.get("email")
    if email:
        try:
            normalized = normalize_email(str(email))
        except ValueError:
            normalized = None  # the rules below report it at the field
        if normalized:
            existing = session.execute(select(Address.id).where(Address.email == normalized)).scalar()
            if existing is not None:
                raise email_taken(existing)
    values = {key: data[key] for key in CUSTOMER_FIELDS if key in data}
    sponsor_id, source = None, RegistrationSource.shop
    subdomain = data.get("partner_subdomain")
    if subdomain:
        partner = session.execute(select(Partner).where(
            Partner.subdomain == subdomain.strip().lower())).scalar_one_or_none()
        if partner is None:
            raise DomainError("unknown_subdomain", _("There is no partner with this subdomain."))
        sponsor_id, source = partner.address_id, RegistrationSource.partner_subdomain
    address = Address(type=AddressType.new_customer, registration_source=source, **values)
    address.sponsor_id = sponsor_id
    apply_rules(session, address)
    session.add(address)
    with acting_as(SHOP_ACTOR, reason=_("registered in the shop")):
        session.flush()  # the audit entry names the shop as the actor
    return RegisteredCustomer(address.id, address.type, address.sponsor_id)
