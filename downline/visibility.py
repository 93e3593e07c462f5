"""What a sponsor may see of its downline (A8), configured by staff.

Three scopes: the viewer's own firstline, deeper levels, and the new-customer navigator.
Name and address type are always shown. Contact fields (e-mail, phone, street) are shown
only in the two scopes where the viewer is the direct sponsor, and only for addresses that
consented to be contacted by their sponsor; staff cannot enable them for deeper levels.
Rows in `downline_visibility` override the defaults below.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from backoffice.models import Address, DownlineVisibility

SCOPES = {
    "firstline": _l("Own firstline"),
    "deeper": _l("Deeper levels"),
    "new_customers": _l("New-customer navigator"),
}
ALWAYS = ("name", "type")
FIELDS = {
    "registered_at": _l("Registered"),
    "first_order_at": _l("First order"),
    "postal_code": _l("Postal code"),
    "city": _l("City"),
    "language": _l("Language"),
    "registration_source": _l("Registration source"),
    "email": _l("E-mail"),
    "phone": _l("Phone"),
    "street": _l("Street"),
}
CONTACT = ("email", "phone", "street")
DEFAULTS = {
    "firstline": {"registered_at", "first_order_at", "postal_code", "city", "email", "phone"},
    "deeper": {"registered_at", "first_order_at"},
    "new_customers": {"registered_at", "postal_code", "city", "language", "email", "phone"},
}


def allowed(scope: str, field: str) -> bool:
    """Whether staff may switch the field on for the scope at all."""
    return field in FIELDS and not (scope == "deeper" and field in CONTACT)


def settings(session) -> dict[str, set[str]]:
    shown = {scope: set(fields) for scope, fields in DEFAULTS.items()}
    for row in session.execute(select(DownlineVisibility)).scalars():
        if row.scope in shown and allowed(row.scope, row.field):
            (shown[row.scope].add if row.visible else shown[row.scope].discard)(row.field)
    return shown


def save(session, shown: dict[str, set[str]]) -> None:
    """Store the staff's choice for every scope and field (replaces all rows)."""
    session.execute(delete(DownlineVisibility))
    for scope in SCOPES:
        for field in FIELDS:
            if allowed(scope, field):
                session.add(DownlineVisibility(scope=scope, field=field,
                                               visible=field in shown.get(scope, set())))


def fields_for(session, scope: str | None) -> list[str]:
    """The columns a viewer sees in `scope`, in display order; None means staff (everything)."""
    if scope is None:
        return list(ALWAYS) + list(FIELDS)
    shown = settings(session)[scope]
    return list(ALWAYS) + [f for f in FIELDS if f in shown and allowed(scope, f)]


def member_scope(sponsor_id: int | None, viewer_root_id: int | None) -> str | None:
    """The scope a viewer sees a downline member in: staff (None) everything, the direct
    sponsor its "firstline", anyone further up "deeper"."""
    if viewer_root_id is None:
        return None
    return "firstline" if sponsor_id == viewer_root_id else "deeper"


def shown_mask(fields: list[str], scope: str | None, consented: bool, session=None,
               shown: list[str] | None = None) -> tuple[bool, ...]:
    """For bulk work: which of `fields` a viewer sees of one address, as `value()` decides
    (a field outside the scope's settings, or contact data without consent, is hidden)."""
    shown = set(shown if shown is not None else fields_for(session, scope))
    return tuple(f in shown and not (f in CONTACT and scope is not None and not consented) for f in fields)


def value(address: Address | dict, field: str, scope: str | None):
    """One cell as the viewer may see it: contact data only with consent."""
    get = address.get if isinstance(address, dict) else lambda f: getattr(address, f)
    if field in CONTACT and scope is not None and not get("consent_contact_by_sponsor"):
        return None
    return get(field)
