"""A partner's public profile, its services and packages, and its job preferences.

Every function takes the partner's id from the caller (the partner area passes the logged-in
partner's, the Desk the one it shows), and looks services up together with that id, so a
partner can never read or change another partner's service by guessing its number.

Pictures are judged by their content, not their name: Pillow must recognise the bytes as one
of the allowed image formats, and the file is stored under a fresh random name with the
extension of the format found.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel import Locale
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select, update

from ..audit import giving_reason
from ..errors import NotFound, RuleViolations
from ..local_values import parse_decimal
from ..models import Partner, PartnerProfile, PostalCodeLocation, Service, ServicePackage
from ..models.types import utcnow
from ..rules import normalize_email
from .categories import usable_category

PICTURE_MAX_BYTES = 2 * 1024 * 1024
PICTURE_MAX_PIXELS = 4000 * 4000
PICTURE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
LANGUAGES = ("de", "en", "fr", "it", "es", "nl", "pl", "tr", "ru", "ar", "uk", "pt")
MAX_PACKAGES = 5
MAX_RADIUS_KM = 1000


def language_choices(locale: str | None) -> list[tuple[str, str]]:
    """(code, name in the UI language) for the languages a partner can list."""
    ui = Locale.parse((locale or "de").split("_")[0])
    return [(code, Locale.parse(code).get_display_name(ui) or code) for code in LANGUAGES]


def picture_extension(data: bytes) -> str:
    """The file extension for an uploaded picture, or RuleViolations if it is no allowed image."""
    if len(data) > PICTURE_MAX_BYTES:
        raise RuleViolations({"picture": [_("The picture is larger than %(mb)s MB.",
                                            mb=PICTURE_MAX_BYTES // (1024 * 1024))]})
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        kind = None
    if kind not in PICTURE_FORMATS:
        raise RuleViolations({"picture": [_("The file is not a JPEG, PNG or WebP picture.")]})
    if width * height > PICTURE_MAX_PIXELS:
        raise RuleViolations({"picture": [_("The picture has too many pixels (at most 4000 × 4000).")]})
    return PICTURE_FORMATS[kind]


def store_picture(data: bytes, folder: str | Path) -> str:
    """Check the picture and write it under a new random name; returns that name."""
    name = f"profile-{uuid.uuid4().hex}.{picture_extension(data)}"
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    (target / name).write_bytes(data)
    return name


def location(session, postal_code: str | None) -> PostalCodeLocation | None:
    if not postal_code:
        return None
    return session.get(PostalCodeLocation, postal_code.strip())


def profile_of(session, partner_id: int) -> PartnerProfile:
    """The partner's profile; a partner without one gets an unpublished draft (not yet saved)."""
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound("partner_not_found", _("No such partner."))
    profile = session.get(PartnerProfile, partner_id)
    if profile is None:
        name = partner.address.name if partner.address is not None else partner.subdomain
        profile = PartnerProfile(partner_id=partner_id, partner=partner, display_name=name[:120],
                                 radius_km=50, germany_wide=False, languages="de",
                                 published=False, listed=True, dropshipping=False)
        session.add(profile)
    return profile


def notification_email(partner: Partner) -> str | None:
    """Where the partner's notifications go: its own choice, else its login's, else its address's."""
    if partner.notification_email:
        return partner.notification_email
    if partner.user is not None and partner.user.email:
        return partner.user.email
    return partner.address.email if partner.address is not None else None


def notification_email_of(own, login, address):
    """`notification_email` as an SQL expression over the partner's own address, its
    login's and its address record's (an empty one counts as none)."""
    return func.coalesce(func.nullif(own, ""), func.nullif(login, ""), address)


def _flag(value) -> bool:
    return value in (True, "y", "on", "1", "true", "yes", 1)


def _int(errors: dict, field: str, value, low: int, high: int) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors.setdefault(field, []).append(_("Enter a whole number."))
        return None
    if not low <= number <= high:
        errors.setdefault(field, []).append(_("Enter a number from %(low)s to %(high)s.", low=low, high=high))
        return None
    return number


def _money(errors: dict, field: str, value, *, required: bool) -> Decimal | None:
    if value is None or str(value).strip() == "":
        if required:
            errors.setdefault(field, []).append(_("This field is required."))
        return None
    # '1.234,56 €', '49,90' or '49.90', as every Desk form reads money.
    amount = parse_decimal(str(value).replace("€", ""))
    if amount is None:
        errors.setdefault(field, []).append(_("Write the amount as 1.234,56 or 1234.56."))
        return None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("10000000000"):
        errors.setdefault(field, []).append(_("Enter an amount of 0 or more."))
        return None
    return amount.quantize(Decimal("0.01"))


def save_profile(session, partner_id: int, values: Mapping, *, picture: str | None = None) -> PartnerProfile:
    """Apply the partner's profile form (all fields) and job preferences; publish on request.

    Publishing needs a display name and a service area (a known postal code, or Germany-wide).
    `picture` is the stored file name of a picture already checked by `store_picture`.
    """
    profile = profile_of(session, partner_id)
    partner = profile.partner
    errors: dict[str, list[str]] = {}
    display_name = str(values.get("display_name") or "").strip()
    if not display_name:
        errors.setdefault("display_name", []).append(_("This field is required."))
    elif len(display_name) > 120:
        errors.setdefault("display_name", []).append(_("At most 120 characters."))
    germany_wide = _flag(values.get("germany_wide"))
    postal_code = str(values.get("postal_code") or "").strip() or None
    place = location(session, postal_code)
    if postal_code and place is None:
        errors.setdefault("postal_code", []).append(_("Unknown German postal code."))
    elif not postal_code and not germany_wide:
        errors.setdefault("postal_code", []).append(
            _("Enter the postal code of your service area, or choose Germany-wide."))
    radius = _int(errors, "radius_km", values.get("radius_km") or 50, 1, MAX_RADIUS_KM)
    languages = [code for code in (values.get("languages") or []) if code]
    unknown = [code for code in languages if code not in LANGUAGES]
    if unknown or not languages:
        errors.setdefault("languages", []).append(_("Choose at least one language from the list."))
    email = str(values.get("notification_email") or "").strip() or None
    if email:
        try:
            email = normalize_email(email)
        except ValueError as exc:
            errors.setdefault("notification_email", []).append(str(exc))
    away_until = values.get("away_until")
    if away_until and not isinstance(away_until, date):
        try:
            away_until = date.fromisoformat(str(away_until))
        except ValueError:
            errors.setdefault("away_until", []).append(_("Enter a date as YYYY-MM-DD."))
    if errors:
        raise RuleViolations(errors)

    profile.display_name = display_name
    profile.germany_wide = germany_wide
    profile.postal_code = postal_code
    profile.latitude = place.latitude if place else None
    profile.longitude = place.longitude if place else None
    profile.radius_km = radius
    profile.languages = ",".join(dict.fromkeys(languages))
    profile.away_until = away_until or None
    profile.listed = _flag(values.get("listed"))
    profile.dropshipping = _flag(values.get("dropshipping"))
    partner.profile_text = (str(values.get("profile_text") or "").strip() or None)
    partner.available = _flag(values.get("available"))
    partner.notification_email = email
    if picture is not None:
        partner.picture = picture
    session.execute(update(Service).where(Service.partner_id == partner_id).values(
        latitude=profile.latitude, longitude=profile.longitude, germany_wide=germany_wide))
    if _flag(values.get("published")) and not profile.published:
        profile.published = True
        profile.published_at = utcnow()
        profile.unpublished_reason = None
    elif not _flag(values.get("published")):
        profile.published = False
    session.flush()
    return profile


def unpublish(session, partner_id: int, reason: str) -> PartnerProfile:
    """Staff take a profile out of the directory; the reason is shown to the partner and
    written to the audit trail with the change."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolations({"reason": [_("Give a reason: the partner reads it.")]})
    profile = session.get(PartnerProfile, partner_id)
    if profile is None:
        raise NotFound("profile_not_found", _("This partner has no public profile."))
    with giving_reason(reason):
        profile.published = False
        profile.unpublished_reason = reason
        session.flush()
    return profile


# Services and packages ----------------------------------------------------------------------


@dataclass(frozen=True)
class PackageInput:
    name: str
    description: str | None
    price: object
    delivery_days: object


def own_service(session, partner_id: int, service_id: int) -> Service:
    """The partner's own service, or NotFound (also for another partner's service)."""
    service = session.execute(select(Service).where(Service.id == service_id,
                                                    Service.partner_id == partner_id)).scalar_one_or_none()
    if service is None:
        raise NotFound("service_not_found", _("No such service."))
    return service


def save_service(session, partner_id: int, values: Mapping, packages: Iterable[PackageInput],
                 service_id: int | None = None) -> Service:
    """Create or replace one of the partner's services with its packages (package rows left
    entirely blank are left out; errors are named after the row's index)."""
    profile = profile_of(session, partner_id)  # a service needs a profile to be shown at all
    errors: dict[str, list[str]] = {}
    category = usable_category(session, _int_or_none(values.get("category_id")))
    if category is None:
        errors.setdefault("category_id", []).append(_("Choose a category from the list."))
    title = str(values.get("title") or "").strip()
    if not title:
        errors.setdefault("title", []).append(_("This field is required."))
    elif len(title) > 200:
        errors.setdefault("title", []).append(_("At most 200 characters."))
    price_from = _money(errors, "price_from", values.get("price_from"), required=False)
    rows = []
    for index, package in enumerate(packages):
        if _blank(package):
            continue
        prefix = f"packages-{index}-"
        name = str(package.name or "").strip()
        if not name:
            errors.setdefault(prefix + "name", []).append(_("This field is required."))
        elif len(name) > 120:
            errors.setdefault(prefix + "name", []).append(_("At most 120 characters."))
        price = _money(errors, prefix + "price", package.price, required=True)
        days = _int(errors, prefix + "delivery_days", package.delivery_days, 0, 365)
        rows.append(ServicePackage(position=len(rows), name=name,
                                   description=(str(package.description or "").strip() or None),
                                   price=price, delivery_days=days))
    if len(rows) > MAX_PACKAGES:
        errors.setdefault("packages", []).append(_("At most %(n)s packages.", n=MAX_PACKAGES))
    if errors:
        raise RuleViolations(errors)
    service = own_service(session, partner_id, service_id) if service_id is not None else Service(
        partner_id=partner_id)
    service.category_id = category.id
    service.title = title
    service.description = str(values.get("description") or "").strip() or None
    service.price_from = price_from
    service.active = _flag(values.get("active"))
    service.latitude, service.longitude = profile.latitude, profile.longitude
    service.germany_wide = profile.germany_wide
    service.packages = rows
    session.add(service)
    session.flush()
    return service


def _blank(package: PackageInput) -> bool:
    """An unused row of the form: nothing entered at all (a row with a price but no name is
    refused, not dropped)."""
    return all(value is None or str(value).strip() == ""
               for value in (package.name, package.description, package.price, package.delivery_days))


def delete_service(session, partner_id: int, service_id: int) -> None:
    session.delete(own_service(session, partner_id, service_id))
    session.flush()


def services_of(session, partner_id: int) -> list[Service]:
    return list(session.scalars(select(Service).where(Service.partner_id == partner_id)
                                .order_by(Service.id)))


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
