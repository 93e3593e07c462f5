"""Customer accounts and their passwordless sign-in to the customer portal (`/c/…`).

A customer is an address of type new customer or customer. Signing in needs no password:

- by e-mail: `request_link` queues a mail with a link (nothing is said about whether the
  address is known, so the form reveals no customers);
- from the shop: `shop_link` returns the link for a customer the shop has logged in.

A link's token is signed with the app's secret (itsdangerous, salt per purpose) and carries
the nonce of a `CustomerSignIn` row. The signature and its age check come first (15 minutes,
`CUSTOMER_LINK_MINUTES`); then a conditional UPDATE marks the row used, so a link signs in
once even when two clicks race. The portal reads only through the functions here, each
scoped to the signed-in customer's address id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlparse

import sqlalchemy as sa
from email_validator import EmailNotValidError
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import DomainError, NotFound, RuleViolations
from ..models import Address, AddressType, Order
from ..models.customers import CustomerAccount, CustomerSignIn
from ..models.types import utcnow
from ..rules import normalize_email
from . import mail

CUSTOMER_TYPES = (AddressType.new_customer, AddressType.customer)
SALT = "customer-sign-in"
MAILED_LINKS_MAX = 5


@dataclass(frozen=True)
class SignInLink:
    url: str
    expires_at: datetime
    address_id: int


def minutes() -> int:
    return int(current_app.config.get("CUSTOMER_LINK_MINUTES", 15))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def customer_by_email(session, email: str) -> Address | None:
    try:
        email = normalize_email(email or "")
    except (EmailNotValidError, ValueError):
        return None
    return session.scalar(sa.select(Address).where(Address.email == email, Address.type.in_(CUSTOMER_TYPES)))


def customer(session, address_id: int | None) -> Address | None:
    """The customer of a portal session, while it still is one: a customer address with an
    e-mail address (the portal's only way in; an erased address has none, so its open
    portal sessions end with the erasure)."""
    if address_id is None:
        return None
    address = session.get(Address, address_id)
    if address is None or address.type not in CUSTOMER_TYPES or not address.email:
        return None
    return address


def account(session, address: Address) -> CustomerAccount:
    """The customer's account, created on first use."""
    found = session.scalar(sa.select(CustomerAccount).where(CustomerAccount.address_id == address.id))
    if found is None:
        found = CustomerAccount(address_id=address.id)
        session.add(found)
        session.flush()
    return found


def _new_link(session, address: Address, source: str, portal_url: str) -> SignInLink:
    account(session, address)
    nonce = secrets.token_urlsafe(24)
    expires_at = utcnow() + timedelta(minutes=minutes())
    session.add(CustomerSignIn(address_id=address.id, nonce=nonce, source=source, expires_at=expires_at))
    token = _serializer().dumps({"n": nonce})
    return SignInLink(f"{portal_url.rstrip('/')}/sign-in/{token}", expires_at, address.id)


def _recent_links(session, address_id: int) -> int:
    since = utcnow() - timedelta(minutes=minutes())
    return session.scalar(sa.select(sa.func.count()).select_from(CustomerSignIn).where(
        CustomerSignIn.address_id == address_id, CustomerSignIn.source == "email",
        CustomerSignIn.created_at > since))


def request_link(session, email: str, portal_url: str) -> None:
    """Mail a sign-in link to `email` if it belongs to a customer; silently nothing otherwise,
    and nothing once `MAILED_LINKS_MAX` links went to it within the links' lifetime (the form
    must not become a way to flood somebody's inbox)."""
    address = customer_by_email(session, email)
    if address is None or not address.email or _recent_links(session, address.id) >= MAILED_LINKS_MAX:
        return
    link = _new_link(session, address, "email", portal_url)
    mail.queue_mail(session, "customer_sign_in", address.email, address.language,
                    {"name": address.name, "link": link.url, "minutes": minutes()})


def shop_link(session, portal_url: str, *, email: str | None = None,
              address_id: int | None = None) -> SignInLink:
    """The shop asks for a sign-in link for one of its logged-in customers."""
    if address_id is not None:
        address = customer(session, address_id)
    elif email:
        address = customer_by_email(session, email)
    else:
        raise RuleViolations({"email": [_("Give the customer's e-mail address or address id.")]})
    if address is None:
        raise NotFound("no_customer", _("There is no customer with this e-mail address or id."))
    return _new_link(session, address, "shop", portal_url)


def redeem(session, token: str) -> int:
    """Use a sign-in link once: the customer's address id."""
    expired = DomainError("link_expired", _("This sign-in link has expired or was already used. "
                                            "Ask for a new one."), status=410)
    try:
        data = _serializer().loads(token, max_age=minutes() * 60)
    except SignatureExpired:
        raise expired from None
    except BadSignature:
        raise NotFound("invalid_link", _("This sign-in link is not valid.")) from None
    table = CustomerSignIn.__table__
    now = utcnow()
    row = session.execute(sa.select(table.c.id, table.c.address_id)
                          .where(table.c.nonce == str(data.get("n")))).first()
    if row is None:
        raise NotFound("invalid_link", _("This sign-in link is not valid."))
    used = session.execute(sa.update(table).where(table.c.id == row.id, table.c.used_at.is_(None),
                                                  table.c.expires_at > now).values(used_at=now)).rowcount
    address = customer(session, row.address_id)
    if used != 1 or address is None:
        raise expired
    account(session, address).last_sign_in_at = now
    return address.id


def orders(session, address_id: int) -> list[Order]:
    return session.scalars(sa.select(Order).where(Order.address_id == address_id)
                           .order_by(Order.placed_at.desc()).limit(100)).all()


def order(session, address_id: int, order_id: int) -> Order:
    found = session.scalar(sa.select(Order).where(Order.id == order_id, Order.address_id == address_id))
    if found is None:
        raise NotFound()
    return found


def update_store(session, address_id: int, store_name: str, store_url: str) -> CustomerAccount:
    address = customer(session, address_id)
    if address is None:
        raise NotFound()
    store_name, store_url = (store_name or "").strip(), (store_url or "").strip()
    if store_url and "://" not in store_url:
        store_url = "https://" + store_url
    parsed = urlparse(store_url)
    if store_url and (parsed.scheme not in ("http", "https") or "." not in (parsed.hostname or "")):
        raise RuleViolations({"store_url": [_("Enter a web address such as https://example.com.")]})
    found = account(session, address)
    found.store_name, found.store_url = store_name[:200] or None, store_url[:500] or None
    return found
