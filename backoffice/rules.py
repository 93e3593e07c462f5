"""The one set of validation rules for addresses, partners and articles.

Desk forms (`views.mixins.with_rules`, messages at the fields), the REST API and imports
(`apply_rules`, which raises `RuleViolations`: 422 with messages per field) all go through
the cleaner of the record's model in `CLEANERS`; each rule says what is wrong in words a
user understands, and normalises what it accepts (e-mail, IBAN, postal code, subdomain).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from functools import cache

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask import has_request_context
from flask_appbuilder.security.sqla.models import User
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import func, inspect, select

from downline.sponsors import SponsorError, check_sponsor

from .errors import RuleViolations
from .models import VAT_RATES, Address, Article, Partner
from .security import PARTNER_ROLE

POSTAL_CODE_PATTERNS = {
    "DE": r"\d{5}",
    "AT": r"\d{4}",
    "CH": r"\d{4}",
    "LI": r"\d{4}",
    "LU": r"\d{4}",
    "BE": r"\d{4}",
    "DK": r"\d{4}",
    "NL": r"\d{4} ?[A-Z]{2}",
    "FR": r"\d{5}",
    "IT": r"\d{5}",
    "ES": r"\d{5}",
    "PL": r"\d{2}-\d{3}",
}

# Subdomains a partner may not take: they belong to the company's own services.
RESERVED_SUBDOMAINS = frozenset(
    "www api admin desk shop mail smtp imap ftp static assets cdn app help support "
    "partner partners login auth test staging dev".split()
)
MAX_PRICE = Decimal("10000000000")  # what NUMERIC(12, 2) holds

SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")


def countries() -> dict[str, str]:
    """ISO 3166 alpha-2 code → name in the UI language (Babel's CLDR data, no extra package)."""
    locale = str(get_locale() or "de") if has_request_context() else "de"
    return _countries(locale)


@cache
def _countries(locale: str) -> dict[str, str]:
    names = Locale.parse(locale).territories
    not_countries = {"ZZ", "EU", "EZ", "UN", "QO"}  # CLDR regions, not countries
    return {code: name for code, name in names.items()
            if len(code) == 2 and code.isalpha() and code not in not_countries}


@cache
def country_codes() -> frozenset[str]:
    """The codes of `countries()`, the same in every language: checked once per imported row,
    so without looking up the request's locale each time."""
    return frozenset(_countries("de"))


@cache
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# Plain ASCII addresses (nearly all of them) that email-validator accepts unchanged apart
# from case: checked by one regular expression, so a million-row import is not slowed by
# the full parser. Anything else goes through email-validator; tests/test_rules.py checks
# that both agree.
_PLAIN_EMAIL = re.compile(
    r"(?=.{6,254}$)(?=[^@]{1,64}@)[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*"
    r"@(?:(?=[a-z0-9-]{1,63}\.)[a-z0-9]+(?:-[a-z0-9]+)*\.)+[a-z]{2,24}")
_SPECIAL_USE_TLDS = ("arpa", "invalid", "local", "localhost", "onion", "test")


# email-validator explains its refusals in English only: the common reasons, in the UI
# language; any other becomes the general one.
EMAIL_REASONS = (
    ("must have an @-sign", _l("an e-mail address needs an @ sign")),
    ("something before the @-sign", _l("there must be something before the @ sign")),
    ("something after the @-sign", _l("there must be something after the @ sign")),
    ("two periods in a row", _l("it must not have two dots in a row")),
    ("should have a period", _l("the part after the @ sign needs a dot (example.org)")),
    ("special-use or reserved name", _l("the part after the @ sign is a reserved name")),
    ("too long", _l("it is too long")),
    ("invalid character", _l("it contains characters an e-mail address cannot have")),
    ("unsafe characters", _l("it contains characters an e-mail address cannot have")),
    ("not within a valid top-level domain", _l("the part after the @ sign has no valid ending")),
)


def email_reason(error: Exception) -> str:
    text = str(error)
    for english, reason in EMAIL_REASONS:
        if english in text:
            return str(reason)
    return str(_l("write it as name@example.org"))


def normalize_email(value: str) -> str:
    lowered = value.strip().lower()
    # A punycode domain ("xn--") goes to email-validator, which writes it in Unicode: the same
    # mailbox has one form whichever way it was typed.
    if _PLAIN_EMAIL.fullmatch(lowered) and not lowered.endswith(_SPECIAL_USE_TLDS) and "xn--" not in lowered:
        return lowered
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(_("Not a valid e-mail address: %(reason)s", reason=email_reason(exc))) from exc


def email_key(value: str) -> str:
    """How e-mail addresses are compared (duplicates, references): the normalised address, or
    the lower-cased text where it is no valid address (its own rule reports that)."""
    if not value:
        return ""
    try:
        return normalize_email(value)
    except ValueError:
        return value.strip().lower()


def normalize_iban(value: str) -> str:
    try:
        return IBAN(value).compact
    except SchwiftyException as exc:
        raise ValueError(_("Not a valid IBAN: %(reason)s", reason=str(exc))) from exc


def normalize_bic(value: str) -> str:
    try:
        return str(BIC(value.strip().upper()))
    except SchwiftyException as exc:
        raise ValueError(_("Not a valid BIC: %(reason)s", reason=str(exc))) from exc


_POSTAL_CODE_RES = {country: re.compile(pattern) for country, pattern in POSTAL_CODE_PATTERNS.items()}


def normalize_postal_code(value: str, country: str | None) -> str:
    value = value.strip().upper()
    pattern = _POSTAL_CODE_RES.get((country or "DE").upper())
    if pattern and not pattern.fullmatch(value):
        raise ValueError(_("Not a valid postal code for %(country)s.",
                           country=countries().get((country or "DE").upper(), country or "DE")))
    if not pattern and not re.fullmatch(r"[A-Z0-9 -]{2,10}", value):
        raise ValueError(_("Not a valid postal code."))
    return value


def normalize_subdomain(value: str) -> str:
    value = value.strip().lower()
    if not SUBDOMAIN_RE.match(value):
        raise ValueError(_("3 to 63 characters: letters a–z, digits and inner hyphens."))
    if value in RESERVED_SUBDOMAINS:
        raise ValueError(_("This subdomain is reserved."))
    return value


def _taken(session, column, value, own_id, *, case_insensitive=False) -> bool:
    model = column.class_
    cond = func.lower(column) == value.lower() if case_insensitive else column == value
    stmt = select(model.id).where(cond)
    if own_id is not None:
        stmt = stmt.where(model.id != own_id)
    return session.execute(stmt.limit(1)).first() is not None


@cache
def _text_lengths(table) -> dict[str, int]:
    return {c.key: c.type.length for c in table.columns if getattr(c.type, "length", None)}


def text_length(model, name: str) -> int:
    return _text_lengths(model.__table__)[name]


def too_long(limit: int, value: str) -> str:
    return _("At most %(max)s characters (this has %(n)s).", max=limit, n=len(value))


def length_errors(model, values: Mapping) -> dict[str, str]:
    """Text values longer than their column: SQLite would store them, PostgreSQL refuses them
    at the commit, so every way into the database checks them here first."""
    errors = {}
    for name, limit in _text_lengths(model.__table__).items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > limit:
            errors[name] = too_long(limit, value)
    return errors


class _Checker:
    """Collects normalised values and messages per field."""

    def __init__(self, values: Mapping):
        self.values = dict(values)
        self.errors: dict[str, list[str]] = {}

    def lengths(self, model) -> None:
        for name, message in length_errors(model, self.values).items():
            if name not in self.errors:
                self.error(name, message)

    def error(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(str(message))

    def required(self, field: str) -> bool:
        if _blank(self.values.get(field)):
            self.error(field, _("This field is required."))
            return False
        return True

    def normalize(self, field: str, fn: Callable[[str], str]) -> None:
        value = self.values.get(field)
        if _blank(value):
            self.values[field] = None
            return
        try:
            # A JSON client may send a number where text belongs: judged as its text.
            self.values[field] = fn(value if isinstance(value, str) else str(value))
        except ValueError as exc:
            self.error(field, str(exc))

    def unique(self, session, field: str, column, own_id, message: str, **kw) -> None:
        value = self.values.get(field)
        if field not in self.errors and not _blank(value) and _taken(session, column, value, own_id, **kw):
            self.error(field, message)


def clean_address(session, values: Mapping, own_id: int | None = None, *, database: bool = True):
    """`database=False`: only the rules on the record's own values; an import checks
    uniqueness and sponsors for a whole file at once (imports/kinds/addresses.py)."""
    c = _Checker(values)
    c.required("last_name")
    country = (c.values.get("country") or "DE").strip().upper()
    c.values["country"] = country
    if country not in country_codes():
        c.error("country", _("Unknown country code."))
    c.normalize("email", normalize_email)
    c.normalize("postal_code", lambda v: normalize_postal_code(v, country))
    c.normalize("external_key", str.strip)  # a blank form field is no key: NULL, not a unique ""
    c.lengths(Address)
    if not database:
        return c.values, c.errors
    c.unique(session, "email", Address.email, own_id,
             _("Another address already uses this e-mail address."), case_insensitive=True)
    c.unique(session, "external_key", Address.external_key, own_id,
             _("Another address already has this external key."))
    sponsor_id = c.values.get("sponsor_id")
    if sponsor_id is not None:
        try:
            check_sponsor(session, own_id, sponsor_id)
        except SponsorError as exc:
            c.error("sponsor_id", str(exc))
    return c.values, c.errors


def clean_partner(session, values: Mapping, own_id: int | None = None):
    c = _Checker(values)
    if c.required("subdomain"):
        c.normalize("subdomain", normalize_subdomain)
    c.unique(session, "subdomain", Partner.subdomain, own_id,
             _("This subdomain is already taken."), case_insensitive=True)
    c.normalize("notification_email", normalize_email)
    c.normalize("iban", normalize_iban)
    c.normalize("bic", normalize_bic)
    c.normalize("mandate_reference", str.strip)  # blank → NULL, not a unique ""
    c.lengths(Partner)
    tz = c.values.get("time_zone")
    if not _blank(tz) and tz not in time_zones():
        c.error("time_zone", _("Unknown time zone."))
    mandate = [c.values.get(f) for f in ("iban", "mandate_reference", "mandate_date")]
    if any(not _blank(v) for v in mandate) and any(_blank(v) for v in mandate):
        for field, value in zip(("iban", "mandate_reference", "mandate_date"), mandate, strict=True):
            if _blank(value) and field not in c.errors:
                c.error(field, _("A SEPA mandate needs IBAN, mandate reference and mandate date."))
    c.unique(session, "mandate_reference", Partner.mandate_reference, own_id,
             _("Another partner already has this mandate reference."))
    address_id = c.values.get("address_id")
    if c.required("address_id"):
        if session.get(Address, address_id) is None:
            c.error("address_id", _("Address %(id)s does not exist.", id=address_id))
        else:
            c.unique(session, "address_id", Partner.address_id, own_id,
                     _("This address already has a partner profile."))
    user_id = c.values.get("user_id")
    if user_id is not None:
        c.unique(session, "user_id", Partner.user_id, own_id,
                 _("This login already belongs to another partner."))
        user = session.get(User, user_id)
        if user is None or PARTNER_ROLE not in {role.name for role in user.roles}:
            c.error("user_id", _("Only a login with the role Partner can be linked."))
    return c.values, c.errors


def clean_article(session, values: Mapping, own_id: int | None = None):
    c = _Checker(values)
    if c.required("article_no"):
        c.values["article_no"] = str(c.values["article_no"]).strip()
    c.required("name")
    c.lengths(Article)
    price = c.values.get("gross_price")
    if price is None or price == "":
        c.error("gross_price", _("This field is required."))
    else:
        try:
            price = Decimal(str(price))
            if not 0 <= price < MAX_PRICE or price != price.quantize(Decimal("0.01")):
                raise InvalidOperation
            c.values["gross_price"] = price
        except InvalidOperation:
            c.error("gross_price", _("A non-negative amount with at most two decimals."))
    try:
        rate = Decimal(str(c.values.get("vat_rate")))
        if rate not in VAT_RATES:
            raise InvalidOperation
        c.values["vat_rate"] = rate
    except InvalidOperation:
        c.error("vat_rate", _("VAT rate must be 19, 7 or 0 percent."))
    c.unique(session, "article_no", Article.article_no, own_id,
             _("Another article already has this article number."))
    return c.values, c.errors


CLEANERS = {Address: clean_address, Partner: clean_partner, Article: clean_article}

# Form/API field name → model attribute, where relationships stand for their id column.
RELATION_IDS = {"sponsor": "sponsor_id", "address": "address_id", "user": "user_id",
                "parent": "parent_id"}


def values_of(obj, fields) -> dict:
    """Plain values of a model object, relationships as ids.

    Whichever of `sponsor` / `sponsor_id` was changed last wins: forms set the id, the
    ORM code may set the object.
    """
    state = inspect(obj)
    values = {}
    for field in fields:
        if field not in RELATION_IDS:
            values.setdefault(field, getattr(obj, field, None))
            continue
        id_field = RELATION_IDS[field]
        related = getattr(obj, field, None)
        if state.attrs[field].history.has_changes() or getattr(obj, id_field, None) is None:
            values[id_field] = related.id if related is not None else getattr(obj, id_field, None)
        else:
            values[id_field] = getattr(obj, id_field, None)
    return values


def record_fields(model) -> list[str]:
    """A model's columns plus the relationships the rules read as ids."""
    return [c.key for c in model.__table__.columns] + [r for r in RELATION_IDS if hasattr(model, r)]


def apply_rules(session, obj) -> None:
    """Validate a model object before it is written; normalise it or raise RuleViolations."""
    model = type(obj)
    columns = record_fields(model)
    # No autoflush: the object's unchecked changes (say, itself as sponsor) must not hit
    # the database while the rules query it.
    with session.no_autoflush:
        cleaned, errors = CLEANERS[model](session, values_of(obj, columns), obj.id)
    if errors:
        raise RuleViolations(errors)
    for key, value in cleaned.items():
        if key in model.__table__.columns and getattr(obj, key, None) != value:
            setattr(obj, key, value)
