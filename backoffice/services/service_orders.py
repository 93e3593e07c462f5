"""Ordering a partner's services (R1–R4, M2): service orders and their transitions, "request
to order" per service, customers' requests, and partners' custom offers that may expire.

- `may_order_now` answers, for every service page view, whether a customer orders a package
  directly or must send a request first (three indexed reads at most).
- A service order snapshots the scope, the gross price with its VAT and the delivery days;
  each transition is a guarded UPDATE from the states it may leave, recorded as an event.
- An offer becomes exactly one order: accepting locks the offer's row, moves it from open to
  accepted with a guarded UPDATE, and `service_order.offer_id` is unique; a repeated accept
  answers with the order the first one created.
- Requests the partner leaves unanswered and offers past their expiry are closed by
  `expire_due` (a periodic task; guarded UPDATEs, so a second run changes nothing). Expiry
  is also checked when an offer is accepted. A day before, `remind_due` reminds the partner
  of the request and the customer of the offer, once each.
- A block closes everything open between the two (`close_for_block`, a conversations CLOSER).
- Mails go through the outbox in the transaction of the change that causes them, so each is
  queued exactly when its change is committed (once): the partner's notification address on
  a request, on a direct order and on an accepted offer (its Message-ID fixed per offer); the
  customer on a custom offer, a declined request, and when the partner accepts or delivers
  an order. Each in the recipient's language, with a
  link to the page that shows it (`PUBLIC_URL`; without it the mails carry no link).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_appbuilder.security.sqla.models import User
from flask_babel import format_currency
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from ..errors import Conflict, DomainError, Forbidden, NotFound, RuleViolations
from ..local_values import moment_text
from ..models import (
    Address,
    AddressType,
    Audience,
    CustomerBlock,
    Offer,
    OfferState,
    OrderRequest,
    Partner,
    PartnerProfile,
    Party,
    RequestPackage,
    RequestState,
    RequestToOrder,
    RequestWindow,
    Service,
    ServiceOrder,
    ServiceOrderEvent,
    ServiceOrderStatus,
    ServicePackage,
)
from ..models.addresses import display_name
from ..models.types import UTCDateTime, utcnow
from . import conversations, mail, order_windows
from .directory import by_ids
from .driver import DriverStatement, insert_of
from .mail import money_text
from .money import vat_breakdown
from .profiles import notification_email_of

S = ServiceOrderStatus
SCOPE_MAX = 20_000
PRICE_MAX = Decimal("1000000")
DELIVERY_MAX = 365


def _setting(name: str, default):
    return current_app.config.get(name, default) if has_app_context() else default


def current_time() -> datetime:
    """The time every use case here runs at when its caller gives none (one place to fix it)."""
    return utcnow()


def vat_rate() -> Decimal:
    return Decimal(str(_setting("SERVICE_ORDER_VAT_RATE", "19.00")))


def answer_hours() -> int:
    """How long a partner has to answer a request to order before it expires."""
    return int(_setting("ORDER_REQUEST_ANSWER_HOURS", 48))


# --------------------------------------------------------------------------- request to order


@dataclass(frozen=True)
class RequestSetting:
    service_id: int
    enabled: bool
    audience: Audience
    weekdays: int
    windows: tuple[tuple[int, int], ...]
    package_ids: frozenset[int]


def _own_service(session, partner_id: int, service_id: int) -> Service:
    service = session.scalar(
        select(Service).where(Service.id == service_id, Service.partner_id == partner_id)
    )
    if service is None:
        raise NotFound("service_not_found", _("There is no such service."))
    return service


def request_setting(session, partner_id: int, service_id: int) -> RequestSetting:
    _own_service(session, partner_id, service_id)
    row = session.get(RequestToOrder, service_id)
    if row is None:
        return RequestSetting(
            service_id, False, Audience.all_customers, order_windows.ALL_DAYS, (), frozenset()
        )
    return RequestSetting(
        service_id,
        row.enabled,
        row.audience,
        row.weekdays,
        tuple((w.start_minute, w.end_minute) for w in row.windows),
        frozenset(p.package_id for p in row.packages),
    )


def save_request_setting(
    session,
    partner_id: int,
    service_id: int,
    *,
    enabled: bool,
    audience: str,
    package_ids: list[int],
    weekdays: list[int],
    windows: list[tuple[str, str]],
) -> RequestSetting:
    """Switch "request to order" of one service on or off with its audience, packages, days and
    windows (local times of the partner's zone, "21:00"–"0:00"; an end before the start wraps
    midnight). Blank window rows are ignored."""
    service = _own_service(session, partner_id, service_id)
    errors: dict[str, list[str]] = {}
    if audience not in Audience._value2member_map_:
        errors["audience"] = [_("Choose new customers or all customers.")]
    own_packages = {p.id for p in service.packages}
    chosen = set(package_ids)
    if chosen - own_packages:
        errors["package_ids"] = [_("Choose packages of this service.")]
    elif enabled and not chosen:
        errors["package_ids"] = [_("Choose at least one package.")]
    mask = order_windows.mask_of(weekdays)
    if enabled and not mask:
        errors["weekdays"] = [_("Choose at least one day.")]
    parsed: list[tuple[int, int]] = []
    for index, (start_text, end_text) in enumerate(windows):
        if not (start_text or "").strip() and not (end_text or "").strip():
            continue
        start, end = order_windows.parse_minute(start_text), order_windows.parse_minute(end_text)
        if start is None or end is None or start == order_windows.DAY:
            errors[f"window_{index}"] = [_("Enter the times as hours and minutes, e.g. 21:00.")]
            continue
        end = order_windows.end_minute(start, end)
        if start == end:
            errors[f"window_{index}"] = [_("A window must not start and end at the same time.")]
            continue
        parsed.append((start, end))
    if enabled and not parsed and not any(key.startswith("window_") for key in errors):
        errors["window_0"] = [_("Enter at least one time window.")]
    if errors:
        raise RuleViolations(errors)
    row = session.get(RequestToOrder, service_id)
    if row is None:
        row = RequestToOrder(service_id=service_id)
        session.add(row)
    row.enabled, row.audience, row.weekdays = bool(enabled), Audience(audience), mask
    row.windows = [RequestWindow(start_minute=s, end_minute=e) for s, e in sorted(set(parsed))]
    row.packages = [RequestPackage(package_id=p, service_id=service_id) for p in sorted(chosen)]
    session.flush()
    return request_setting(session, partner_id, service_id)


# Built once: the check runs on every service page view, so it pays no statement building.
_SETTING_AND_WINDOWS = (
    select(RequestToOrder.audience, RequestToOrder.weekdays, Service.partner_id, Partner.time_zone,
           RequestWindow.start_minute, RequestWindow.end_minute)
    .select_from(RequestPackage)
    .join(RequestToOrder, RequestToOrder.service_id == RequestPackage.service_id)
    .join(RequestWindow, RequestWindow.service_id == RequestToOrder.service_id)
    .join(Service, Service.id == RequestToOrder.service_id)
    .join(Partner, Partner.id == Service.partner_id)
    .where(RequestPackage.package_id == bindparam("package_id"), RequestToOrder.enabled.is_(True))
)
_EXISTING_CUSTOMER = select(exists().where(
    ServiceOrder.partner_id == bindparam("partner_id"), ServiceOrder.customer_id == bindparam("customer_id"),
    ServiceOrder.status != S.cancelled))


def is_existing_customer(session, partner_id: int, customer_id: int) -> bool:
    """A customer of this partner: at least one service order with it that was not cancelled."""
    return bool(session.connection().execute(
        _EXISTING_CUSTOMER, {"partner_id": partner_id, "customer_id": customer_id}).scalar())


def check_customer(session, customer_id: int) -> None:
    """The shop names a customer by address id: it must be one (a new customer or a customer)."""
    kind = session.scalar(select(Address.type).where(Address.id == customer_id))
    if kind not in (AddressType.new_customer, AddressType.customer):
        raise NotFound("customer_not_found", _("There is no such customer."))


def may_order_now(session, customer_id: int | None, package_id: int, now: datetime | None = None) -> bool:
    """True: the customer orders this package directly now; False: they must send a request.

    Request to order applies when it is on for the package's service, the package is one it
    covers, a window is open on the partner's wall clock, and the customer is of its audience
    (new customers: no order with this partner that was not cancelled; a visitor not signed in
    counts as new). One indexed query for the setting with its windows, one more for the
    audience only when a window is open.
    """
    now = now or current_time()
    rows = session.connection().execute(_SETTING_AND_WINDOWS, {"package_id": package_id}).all()
    if not rows:
        return True
    audience, weekdays, partner_id, time_zone = rows[0][:4]
    if not order_windows.active_in_zone(weekdays, [(r[4], r[5]) for r in rows], time_zone, now):
        return True
    if audience is Audience.new_customers and customer_id is not None:
        return is_existing_customer(session, partner_id, customer_id)
    return False


# --------------------------------------------------------------------------- service orders


@dataclass(frozen=True)
class Action:
    name: str
    label: object
    leaves: frozenset
    to: ServiceOrderStatus
    by: Party | None  # None: either side


ACTIONS = {
    a.name: a
    for a in (
        Action("accept", _l("Accept"), frozenset({S.ordered}), S.in_progress, Party.partner),
        Action("deliver", _l("Deliver"), frozenset({S.in_progress, S.revision}), S.delivered, Party.partner),
        Action("complete", _l("Mark as done"), frozenset({S.delivered}), S.completed, Party.partner),
        Action("confirm", _l("Confirm delivery"), frozenset({S.delivered}), S.completed, Party.customer),
        Action("revision", _l("Ask for a revision"), frozenset({S.delivered}), S.revision, Party.customer),
        Action(
            "cancel",
            _l("Cancel the order"),
            frozenset({S.ordered, S.in_progress, S.revision}),
            S.cancelled,
            None,
        ),
    )
}


def actions_for(order: ServiceOrder, party: Party) -> list[Action]:
    return [a for a in ACTIONS.values() if order.status in a.leaves and a.by in (None, party)]


def _package_for_order(session, package_id: int) -> ServicePackage:
    package = session.scalar(
        select(ServicePackage).join(Service).where(ServicePackage.id == package_id, Service.active.is_(True))
    )
    if package is None:
        raise NotFound("package_not_found", _("There is no such package."))
    return package


def place_order(session, customer_id: int, package_id: int, now: datetime | None = None) -> ServiceOrder:
    """A customer orders a package directly (refused where they must send a request)."""
    now = now or current_time()
    package = _package_for_order(session, package_id)
    service = package.service
    if conversations.is_blocked(session, service.partner_id, customer_id):
        raise Forbidden("blocked", _("This partner does not accept orders from you."))
    if not may_order_now(session, customer_id, package_id, now):
        raise DomainError(
            "request_required",
            _("This partner asks for a request before an order at this time: send a request instead."),
            status=409,
        )
    order_id = _insert_order(
        session.connection(),
        partner_id=service.partner_id,
        customer_id=customer_id,
        service_id=service.id,
        package_id=package.id,
        offer_id=None,
        title=f"{service.title} – {package.name}",
        scope=package.description or package.name,
        gross=package.price,
        delivery_days=package.delivery_days,
        now=now,
    )
    order = session.get(ServiceOrder, order_id)
    _mail_order_placed(session, order, session.get(Address, customer_id).name)
    return order


def _scoped(session, model, pk: int, partner_id: int | None, customer_id: int | None, lock: bool, missing):
    """The row if it belongs to the given partner or customer; else `missing` (a NotFound)."""
    if partner_id is None and customer_id is None:
        raise ValueError("scope the lookup to a partner or a customer")
    stmt = select(model).where(model.id == pk)
    if partner_id is not None:
        stmt = stmt.where(model.partner_id == partner_id)
    if customer_id is not None:
        stmt = stmt.where(model.customer_id == customer_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalar(stmt)
    if row is None:
        raise missing
    return row


def order_of(
    session, order_id: int, *, partner_id: int | None = None, customer_id: int | None = None
) -> ServiceOrder:
    return _scoped(
        session,
        ServiceOrder,
        order_id,
        partner_id,
        customer_id,
        False,
        NotFound("order_not_found", _("There is no such order.")),
    )


def order_for_shop(session, order_id: int, customer_id: int | None = None) -> ServiceOrder:
    """The shop sees every customer's orders; with a customer named, only that customer's."""
    order = session.get(ServiceOrder, order_id)
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        raise NotFound("order_not_found", _("There is no such order."))
    return order


def move_order(
    session,
    order_id: int,
    action: str,
    by: Party,
    *,
    partner_id: int | None = None,
    customer_id: int | None = None,
    user_id: int | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> ServiceOrder:
    """One transition of a service order by the partner's team or the customer, recorded."""
    now = now or current_time()
    order = order_of(session, order_id, partner_id=partner_id, customer_id=customer_id)
    step = ACTIONS.get(action)
    if step is None:
        raise RuleViolations({"action": [_("Choose one of the order's steps.")]})
    if step.by is not None and step.by is not by:
        raise Forbidden(
            "not_your_step",
            _("Only the partner can do this.")
            if step.by is Party.partner
            else _("Only the customer can do this."),
        )
    reason = (reason or "").strip() or None
    if step.to is S.cancelled and not reason:
        raise RuleViolations({"reason": [_("Say why the order is cancelled.")]})
    values: dict = {"status": step.to}
    if step.to is S.in_progress:
        values.update(accepted_at=now, due_at=now + timedelta(days=order.delivery_days))
    elif step.to is S.delivered:
        values["delivered_at"] = now
    elif step.to is S.completed:
        values["completed_at"] = now
    elif step.to is S.cancelled:
        values.update(cancelled_at=now, cancelled_by=by, cancel_reason=reason)
    before = order.status
    moved = session.execute(
        update(ServiceOrder)
        .where(ServiceOrder.id == order.id, ServiceOrder.status.in_(step.leaves))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        session.refresh(order)
        raise DomainError(
            "illegal_transition",
            _(
                "“%(action)s” is not possible while the order is “%(status)s”.",
                action=step.label,
                status=order.status,
            ),
        )
    session.add(
        ServiceOrderEvent(
            order_id=order.id,
            from_status=before,
            to_status=step.to,
            by=by,
            user_id=user_id,
            note=reason,
            at=now,
        )
    )
    session.flush()
    session.refresh(order)
    if by is Party.partner and step.to in (S.in_progress, S.delivered):
        _mail_order_moved(session, order)
    return order


def partner_orders(session, partner_id: int, limit: int = 200) -> list[ServiceOrder]:
    return list(
        session.scalars(
            select(ServiceOrder)
            .where(ServiceOrder.partner_id == partner_id)
            .order_by(ServiceOrder.id.desc())
            .limit(limit)
        )
    )


def customer_orders(session, customer_id: int, limit: int = 200) -> list[ServiceOrder]:
    return list(
        session.scalars(
            select(ServiceOrder)
            .where(ServiceOrder.customer_id == customer_id)
            .order_by(ServiceOrder.id.desc())
            .limit(limit)
        )
    )


# --------------------------------------------------------------------------- requests to order


def _clean_text(value: str, field: str, empty_message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise RuleViolations({field: [empty_message]})
    if len(value) > SCOPE_MAX:
        raise RuleViolations({field: [_("At most %(max)s characters.", max=SCOPE_MAX)]})
    return value


def send_request(
    session,
    customer_id: int,
    package_id: int,
    *,
    needs: str,
    wished_start: date | None,
    now: datetime | None = None,
) -> OrderRequest:
    """A customer's request to order a package, as the first message of a new conversation."""
    now = now or current_time()
    package = _package_for_order(session, package_id)
    service = package.service
    needs = _clean_text(needs, "needs", _("Describe what you need."))
    if wished_start is not None and wished_start < now.date():
        raise RuleViolations({"wished_start": [_("The wished start cannot be in the past.")]})
    posted = conversations.start_conversation(
        session,
        customer_id,
        service.partner_id,
        requirements=needs,
        service_id=service.id,
        now=now,
        body=_("Request to order “%(package)s”: %(needs)s", package=package.name, needs=needs),
        mail_partner=False,  # the request's own mail below says more
    )
    found = OrderRequest(
        partner_id=service.partner_id,
        customer_id=customer_id,
        service_id=service.id,
        package_id=package.id,
        conversation_id=posted.conversation_id,
        needs=needs,
        wished_start=wished_start,
        state=RequestState.pending,
        created_at=now,
        answer_due_at=now + timedelta(hours=answer_hours()),
    )
    session.add(found)
    session.flush()
    _mail_request(session, found, session.get(Address, customer_id).name, service.title, package.name)
    return found


def request_of(
    session,
    request_id: int,
    *,
    partner_id: int | None = None,
    customer_id: int | None = None,
    lock: bool = False,
) -> OrderRequest:
    return _scoped(
        session,
        OrderRequest,
        request_id,
        partner_id,
        customer_id,
        lock,
        NotFound("request_not_found", _("There is no such request.")),
    )


def _refuse_unless_pending(found: OrderRequest) -> None:
    if found.state is not RequestState.pending:
        raise DomainError(
            "request_answered",
            _("This request is “%(state)s” and cannot be answered again.", state=found.state),
        )


def decline_request(
    session,
    partner_id: int,
    request_id: int,
    message: str,
    *,
    user_id: int | None = None,
    now: datetime | None = None,
) -> OrderRequest:
    """The partner declines a request with a message (no cancellation: no order existed)."""
    now = now or current_time()
    message = _clean_text(message, "message", _("Tell the customer why you decline."))
    found = request_of(session, request_id, partner_id=partner_id, lock=True)
    _refuse_unless_pending(found)
    moved = session.execute(
        update(OrderRequest)
        .where(OrderRequest.id == found.id, OrderRequest.state == RequestState.pending)
        .values(state=RequestState.declined, answered_at=now, decline_message=message)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise Conflict("request_answered", _("This request was answered a moment ago."))
    conversation = conversations.conversation_of(session, found.conversation_id, partner_id=partner_id)
    conversations.post_message(session, conversation, Party.partner, message, author_user_id=user_id, now=now)
    session.refresh(found)
    _mail_declined(session, found, message)
    return found


def partner_requests(session, partner_id: int, limit: int = 200) -> list[OrderRequest]:
    return list(
        session.scalars(
            select(OrderRequest)
            .where(OrderRequest.partner_id == partner_id)
            .order_by(OrderRequest.id.desc())
            .limit(limit)
        )
    )


def customer_requests(session, customer_id: int, limit: int = 200) -> list[OrderRequest]:
    return list(
        session.scalars(
            select(OrderRequest)
            .where(OrderRequest.customer_id == customer_id)
            .order_by(OrderRequest.id.desc())
            .limit(limit)
        )
    )


# --------------------------------------------------------------------------- offers


def send_offer(
    session,
    partner_id: int,
    conversation_id: int,
    *,
    scope: str,
    price: Decimal | None,
    delivery_days: int | None,
    expires_at: datetime | None = None,
    request_id: int | None = None,
    package_id: int | None = None,
    user_id: int | None = None,
    now: datetime | None = None,
) -> Offer:
    """A custom offer in a conversation; it answers a pending request when one is given."""
    now = now or current_time()
    conversation = conversations.conversation_of(session, conversation_id, partner_id=partner_id, lock=True)
    errors: dict[str, list[str]] = {}
    scope = (scope or "").strip()
    if not scope:
        errors["scope"] = [_("Describe what the offer includes.")]
    elif len(scope) > SCOPE_MAX:
        errors["scope"] = [_("At most %(max)s characters.", max=SCOPE_MAX)]
    if price is None or price < 0 or price >= PRICE_MAX or price != price.quantize(Decimal("0.01")):
        errors["price"] = [_("Enter a price in euros, e.g. 149,00.")]
    if delivery_days is None or not 0 <= delivery_days <= DELIVERY_MAX:
        errors["delivery_days"] = [_("Enter the delivery time in days (0 to %(max)s).", max=DELIVERY_MAX)]
    if expires_at is not None and expires_at <= now:
        errors["expires_at"] = [_("The expiry must lie in the future.")]
    service_id = conversation.service_id
    if package_id is not None:
        package = session.scalar(
            select(ServicePackage)
            .join(Service)
            .where(ServicePackage.id == package_id, Service.partner_id == partner_id)
        )
        if package is None:
            errors["package_id"] = [_("Choose one of your packages.")]
        else:
            service_id = package.service_id
    if errors:
        raise RuleViolations(errors)
    if conversations.is_blocked(session, partner_id, conversation.customer_id):
        raise Forbidden("blocked", _("You blocked this customer."))
    found = None
    if request_id is not None:
        found = request_of(session, request_id, partner_id=partner_id, lock=True)
        if found.conversation_id != conversation.id:
            raise NotFound("request_not_found", _("There is no such request."))
        _refuse_unless_pending(found)
    body = _(
        "Custom offer: %(scope)s — %(price)s, delivery in %(days)s days",
        scope=scope,
        price=format_currency(price, "EUR"),
        days=delivery_days,
    )
    if expires_at is not None:
        body += " " + _("(valid until %(when)s)", when=moment_text(expires_at))
    posted = conversations.post_message(
        session, conversation, Party.partner, body, author_user_id=user_id, now=now
    )
    offer = Offer(
        partner_id=partner_id,
        customer_id=conversation.customer_id,
        conversation_id=conversation.id,
        message_id=posted.message_id,
        request_id=found.id if found else None,
        service_id=service_id,
        package_id=package_id,
        scope=scope,
        price=price,
        delivery_days=delivery_days,
        expires_at=expires_at,
        state=OfferState.open,
        created_at=now,
        created_by_user_id=user_id,
    )
    session.add(offer)
    if found is not None:
        session.execute(
            update(OrderRequest)
            .where(OrderRequest.id == found.id, OrderRequest.state == RequestState.pending)
            .values(state=RequestState.offer_sent, answered_at=now)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    title = session.scalar(select(Service.title).where(Service.id == service_id)) if service_id else None
    _mail_offer(session, offer, title)
    return offer


def offer_of(
    session,
    offer_id: int,
    *,
    partner_id: int | None = None,
    customer_id: int | None = None,
    lock: bool = False,
) -> Offer:
    return _scoped(
        session,
        Offer,
        offer_id,
        partner_id,
        customer_id,
        lock,
        NotFound("offer_not_found", _("There is no such offer.")),
    )


def _is_expired(offer: Offer, now: datetime) -> bool:
    return offer.expires_at is not None and offer.expires_at <= now


def _refuse_unless_open(offer: Offer, now: datetime) -> None:
    if offer.state is OfferState.open and _is_expired(offer, now):
        raise DomainError(
            "offer_expired",
            _(
                "This offer expired on %(when)s and can no longer be accepted.",
                when=moment_text(offer.expires_at),
            ),
        )
    if offer.state is not OfferState.open:
        raise DomainError(
            "offer_not_open", _("This offer is “%(state)s” and can no longer be accepted.", state=offer.state)
        )


_REQUEST_AFTER = {
    OfferState.accepted: RequestState.accepted,
    OfferState.declined: RequestState.declined,
    OfferState.withdrawn: RequestState.withdrawn,
    OfferState.expired: RequestState.offer_expired,
    OfferState.closed: RequestState.closed,
}


def _decide(session, offer: Offer, to: OfferState, now: datetime) -> bool:
    """Open → `to` with a guarded UPDATE; the request it answered follows. False if not open."""
    moved = session.execute(
        update(Offer)
        .where(Offer.id == offer.id, Offer.state == OfferState.open)
        .values(state=to, decided_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved and offer.request_id is not None:
        session.execute(
            update(OrderRequest)
            .where(OrderRequest.id == offer.request_id, OrderRequest.state == RequestState.offer_sent)
            .values(state=_REQUEST_AFTER[to])
            .execution_options(synchronize_session=False)
        )
    return bool(moved)


@dataclass(frozen=True)
class Accepted:
    order_id: int
    repeated: bool


# Built once (accepting runs as often as customers click): one guarded UPDATE that takes the
# offer from open to accepted only while it is the customer's, open, unexpired and the partner
# has not blocked the customer, and returns what the order needs. On PostgreSQL a concurrent
# accept waits for the row and then finds it no longer open; SQLite has one writer at a time.
_ACCEPT = DriverStatement(lambda _dialect: (
    update(Offer)
    .where(
        Offer.id == bindparam("the_offer"),
        Offer.customer_id == bindparam("the_customer"),
        Offer.state == OfferState.open,
        or_(Offer.expires_at.is_(None), Offer.expires_at > bindparam("now", type_=UTCDateTime)),
        ~exists().where(CustomerBlock.partner_id == Offer.partner_id,
                        CustomerBlock.customer_id == Offer.customer_id),
    )
    .values(state=OfferState.accepted, decided_at=bindparam("decided", type_=UTCDateTime))
    .returning(
        Offer.partner_id,
        Offer.request_id,
        Offer.service_id,
        Offer.package_id,
        Offer.scope,
        Offer.price,
        Offer.delivery_days,
        select(Service.title).where(Service.id == Offer.service_id).scalar_subquery(),
    )
))
_REQUEST_ACCEPTED = (
    update(OrderRequest)
    .where(OrderRequest.id == bindparam("the_request"), OrderRequest.state == RequestState.offer_sent)
    .values(state=RequestState.accepted)
)
_INSERT_ORDER = insert_of(
    ServiceOrder.__table__, "partner_id", "customer_id", "service_id", "package_id", "offer_id", "title",
    "scope", "gross", "vat_rate", "net", "vat", "delivery_days", "status", "created_at", returning_id=True)
_INSERT_EVENT = insert_of(ServiceOrderEvent.__table__, "order_id", "from_status", "to_status", "by", "at")


def _insert_order(
    connection,
    *,
    partner_id: int,
    customer_id: int,
    service_id: int | None,
    package_id: int | None,
    offer_id: int | None,
    title: str,
    scope: str,
    gross: Decimal,
    delivery_days: int,
    now: datetime,
) -> int:
    """The order and its first event in two INSERTs on the session's `connection` (no ORM
    objects, no flush); its id."""
    rate = vat_rate()
    (split,) = vat_breakdown({rate: Decimal(gross)})
    [(order_id,)] = _INSERT_ORDER.all(
        connection,
        {
            "partner_id": partner_id,
            "customer_id": customer_id,
            "service_id": service_id,
            "package_id": package_id,
            "offer_id": offer_id,
            "title": title[:330],
            "scope": scope,
            "gross": split.gross,
            "vat_rate": rate,
            "net": split.net,
            "vat": split.vat,
            "delivery_days": delivery_days,
            "status": S.ordered,
            "created_at": now,
        },
    )
    _INSERT_EVENT.all(
        connection,
        {"order_id": order_id, "from_status": None, "to_status": S.ordered, "by": Party.customer, "at": now},
    )
    return order_id


def accept_offer(session, customer_id: int, offer_id: int, now: datetime | None = None) -> Accepted:
    """The customer accepts an open offer: one service order, also when accepted twice at once
    (the second answers with the first's order). Request to order does not apply here (R4).

    Three statements when it succeeds (the guarded UPDATE, the order, its event; a fourth for
    the request the offer answered), then the partner's "offer accepted" mail: one read (where
    it goes, the customer's name) and the outbox row's INSERT. Only when the UPDATE changes
    nothing is the offer read, locked, to answer why: not the customer's, accepted before,
    expired, no longer open, or the partner blocked the customer."""
    now = now or current_time()
    connection = session.connection()
    for _attempt in range(2):
        rows = _ACCEPT.all(connection, {"the_offer": offer_id, "the_customer": customer_id, "now": now,
                                        "decided": now})
        row = rows[0] if rows else None
        if row is not None:
            break
        offer = offer_of(session, offer_id, customer_id=customer_id, lock=True)
        session.refresh(offer)  # the state another transaction committed meanwhile
        if offer.state is OfferState.accepted:
            return Accepted(_order_of_offer(session, offer.id), True)
        _refuse_unless_open(offer, now)
        if conversations.is_blocked(session, offer.partner_id, customer_id):
            raise Forbidden("blocked", _("This partner does not accept orders from you."))
    else:
        raise Conflict("offer_being_accepted", _("This offer is being accepted; reload in a moment."))
    partner_id, request_id, service_id, package_id, scope, price, delivery_days, service_title = row
    if request_id is not None:
        connection.execute(_REQUEST_ACCEPTED, {"the_request": request_id})
    custom = _("Custom offer")
    order_id = _insert_order(
        connection,
        partner_id=partner_id,
        customer_id=customer_id,
        service_id=service_id,
        package_id=package_id,
        offer_id=offer_id,
        title=f"{custom if service_title is None else service_title} – {custom}",
        scope=scope,
        gross=price,
        delivery_days=delivery_days,
        now=now,
    )
    _mail_offer_accepted(session, offer_id, order_id, partner_id, customer_id, service_title, scope, price,
                         delivery_days)
    return Accepted(order_id, False)


def _order_of_offer(session, offer_id: int) -> int:
    order_id = session.scalar(select(ServiceOrder.id).where(ServiceOrder.offer_id == offer_id))
    if order_id is None:  # accepted by a transaction not yet visible: let the caller retry
        raise Conflict("offer_being_accepted", _("This offer is being accepted; reload in a moment."))
    return order_id


def decline_offer(session, customer_id: int, offer_id: int, now: datetime | None = None) -> Offer:
    now = now or current_time()
    offer = offer_of(session, offer_id, customer_id=customer_id, lock=True)
    if offer.state is not OfferState.open or not _decide(session, offer, OfferState.declined, now):
        raise DomainError(
            "offer_not_open", _("This offer is “%(state)s” and can no longer be declined.", state=offer.state)
        )
    session.refresh(offer)
    return offer


def withdraw_offer(session, partner_id: int, offer_id: int, now: datetime | None = None) -> Offer:
    now = now or current_time()
    offer = offer_of(session, offer_id, partner_id=partner_id, lock=True)
    if offer.state is not OfferState.open or not _decide(session, offer, OfferState.withdrawn, now):
        raise DomainError(
            "offer_not_open",
            _("This offer is “%(state)s” and can no longer be withdrawn.", state=offer.state),
        )
    session.refresh(offer)
    return offer


def partner_offers(session, partner_id: int, limit: int = 200) -> list[Offer]:
    return list(
        session.scalars(
            select(Offer).where(Offer.partner_id == partner_id).order_by(Offer.id.desc()).limit(limit)
        )
    )


def customer_offers(session, customer_id: int, limit: int = 200) -> list[Offer]:
    return list(
        session.scalars(
            select(Offer).where(Offer.customer_id == customer_id).order_by(Offer.id.desc()).limit(limit)
        )
    )


def offer_expired(offer: Offer, now: datetime | None = None) -> bool:
    """An open offer past its expiry (the sweep may not have run yet)."""
    return offer.state is OfferState.open and _is_expired(offer, now or current_time())


# --------------------------------------------------------------------------- sweeps and blocks


@dataclass(frozen=True)
class Expired:
    requests: int
    offers: int


def expire_due(session, now: datetime | None = None) -> Expired:
    """Close unanswered requests past their answer time and open offers past their expiry.
    Guarded UPDATEs: a second or late run finds nothing left to change."""
    now = now or current_time()
    requests = session.execute(
        update(OrderRequest)
        .where(OrderRequest.state == RequestState.pending, OrderRequest.answer_due_at <= now)
        .values(state=RequestState.expired, closed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    due = select(Offer.id).where(Offer.state == OfferState.open, Offer.expires_at <= now)
    session.execute(
        update(OrderRequest)
        .where(
            OrderRequest.state == RequestState.offer_sent,
            OrderRequest.id.in_(select(Offer.request_id).where(Offer.id.in_(due))),
        )
        .values(state=RequestState.offer_expired, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    offers = session.execute(
        update(Offer)
        .where(Offer.state == OfferState.open, Offer.expires_at <= now)
        .values(state=OfferState.expired, decided_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return Expired(requests, offers)


REMINDER_HOURS = 24


@dataclass(frozen=True)
class Reminded:
    requests: int
    offers: int


def remind_due(session, now: datetime | None = None) -> Reminded:
    """Remind once, within the last `REMINDER_HOURS` before it expires: the partner of a
    request to order it has not answered, the customer of an open offer. Each reminder is
    claimed by a guarded UPDATE (`reminded_at IS NULL … RETURNING`) in the transaction of its
    outbox mail, so a second, late or concurrent run mails nothing again."""
    now = now or current_time()
    until = now + timedelta(hours=REMINDER_HOURS)
    requests = session.execute(
        update(OrderRequest)
        .where(OrderRequest.state == RequestState.pending, OrderRequest.reminded_at.is_(None),
               OrderRequest.answer_due_at > now, OrderRequest.answer_due_at <= until)
        .values(reminded_at=now)
        .returning(OrderRequest.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    offers = session.execute(
        update(Offer)
        .where(Offer.state == OfferState.open, Offer.reminded_at.is_(None),
               Offer.expires_at > now, Offer.expires_at <= until)
        .values(reminded_at=now)
        .returning(Offer.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    for request_id in sorted(requests):
        found = session.get(OrderRequest, request_id)
        recipient, language = conversations.notification_address(session, found.partner_id)
        if recipient:
            mail.queue_mail(session, "service_order_request_reminder", recipient, language, {
                "customer": found.customer.name, "service": found.service.title, "needs": found.needs,
                "answer_due": _moment(found.answer_due_at, language), "link": _link(PARTNER_PAGE)})
    for offer_id in sorted(offers):
        offer = session.get(Offer, offer_id)
        title = offer.service.title if offer.service is not None else None
        _mail_customer(session, offer.customer_id, offer.partner_id, "service_order_offer_reminder",
                       CUSTOMER_PAGE, lambda language, offer=offer, title=title: {
                           "service": title, "scope": offer.scope, "price": money_text(offer.price, language),
                           "expires": _moment(offer.expires_at, language)})
    return Reminded(len(requests), len(offers))


OPEN_ORDER = (S.ordered, S.in_progress, S.delivered, S.revision)


def close_for_block(session, partner_id: int, customer_id: int, now: datetime) -> None:
    """A block ends what is open between the two: requests, offers, and orders (cancelled by
    the partner, each with its event)."""
    pair_request = and_(OrderRequest.partner_id == partner_id, OrderRequest.customer_id == customer_id)
    session.execute(
        update(OrderRequest)
        .where(pair_request, OrderRequest.state.in_((RequestState.pending, RequestState.offer_sent)))
        .values(state=RequestState.closed, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Offer)
        .where(
            Offer.partner_id == partner_id, Offer.customer_id == customer_id, Offer.state == OfferState.open
        )
        .values(state=OfferState.closed, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    reason = _("The partner blocked the customer.")
    open_orders = session.execute(
        select(ServiceOrder.id, ServiceOrder.status).where(
            ServiceOrder.partner_id == partner_id,
            ServiceOrder.customer_id == customer_id,
            ServiceOrder.status.in_(OPEN_ORDER),
        )
    ).all()
    for order_id, status in open_orders:
        moved = session.execute(
            update(ServiceOrder)
            .where(ServiceOrder.id == order_id, ServiceOrder.status == status)
            .values(status=S.cancelled, cancelled_at=now, cancelled_by=Party.partner, cancel_reason=reason)
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved:
            session.add(
                ServiceOrderEvent(
                    order_id=order_id,
                    from_status=status,
                    to_status=S.cancelled,
                    by=Party.partner,
                    note=reason,
                    at=now,
                )
            )
    session.flush()


conversations.CLOSERS.append(close_for_block)


# --------------------------------------------------------------------------- mails

PARTNER_PAGE = "/my/service-orders/"
CUSTOMER_PAGE = "/c/service-orders/"


def _link(path: str) -> str | None:
    base = (_setting("PUBLIC_URL", "") or "").rstrip("/")
    return f"{base}{path}" if base else None


def _moment(value: datetime | None, language: str) -> str | None:
    """A time in the company's zone, with the zone's abbreviation (the customer has none)."""
    if value is None:
        return None
    local = value.astimezone(ZoneInfo(_setting("COMPANY_TIME_ZONE", "Europe/Berlin")))
    shape = "%d.%m.%Y %H:%M" if language == "de" else "%Y-%m-%d %H:%M"
    return f"{local.strftime(shape)} {local.tzname()}"


def _partner_name(session, partner_id: int) -> str:
    name = session.scalar(select(PartnerProfile.display_name).where(PartnerProfile.partner_id == partner_id))
    if name:
        return name
    return session.scalar(
        select(Address).join(Partner, Partner.address_id == Address.id).where(Partner.id == partner_id)
    ).name


def _mail_customer(session, customer_id: int, partner_id: int, kind: str, path: str, context) -> None:
    """`context(language)`: the mail's values, some of them written in the recipient's language."""
    customer = session.get(Address, customer_id)
    if customer is None or not customer.email:
        return
    language = mail.language_of(customer.language)
    values = dict(context(language), name=customer.name, partner=_partner_name(session, partner_id))
    mail.queue_mail(session, kind, customer.email, language, dict(values, link=_link(path)))


def _mail_order_placed(session, order: ServiceOrder, customer_name: str) -> None:
    recipient, language = conversations.notification_address(session, order.partner_id)
    if recipient:
        mail.queue_mail(session, "service_order_placed", recipient, language, {
            "customer": customer_name, "title": order.title, "scope": order.scope,
            "gross": money_text(order.gross, language), "days": order.delivery_days, "order_id": order.id,
            "link": _link(PARTNER_PAGE)})


def _mail_request(session, found: OrderRequest, customer_name: str, service_title: str,
                  package_name: str) -> None:
    recipient, language = conversations.notification_address(session, found.partner_id)
    if recipient:
        mail.queue_mail(session, "service_order_request", recipient, language, {
            "customer": customer_name, "service": service_title, "package": package_name,
            "needs": found.needs, "wished_start": found.wished_start,
            "answer_due": _moment(found.answer_due_at, language), "link": _link(PARTNER_PAGE)})


def _mail_offer(session, offer: Offer, service_title: str | None) -> None:
    _mail_customer(session, offer.customer_id, offer.partner_id, "service_order_offer", CUSTOMER_PAGE,
                   lambda language: {"service": service_title, "scope": offer.scope,
                                     "price": money_text(offer.price, language), "days": offer.delivery_days,
                                     "expires": _moment(offer.expires_at, language)})


def offer_accepted_message_id(offer_id: int) -> str:
    """The Message-ID of the partner's "offer accepted" mail: one per offer, so the outbox's
    unique Message-ID refuses a second such mail for the same offer."""
    domain = _setting("MAIL_MESSAGE_ID_DOMAIN", "") or "partnerdesk.local"
    return f"<offer-accepted-{offer_id}@{domain}>"


_PARTNER_ADDRESS = aliased(Address)
# Where the partner's mail goes (`profiles.notification_email`'s rule), in which language,
# and the customer's name: one read on the accept's connection (no ORM, no autoflush).
_OFFER_ACCEPTED_TO = DriverStatement(lambda _dialect: (
    select(
        notification_email_of(Partner.notification_email, User.email, _PARTNER_ADDRESS.email),
        _PARTNER_ADDRESS.language,
        Address.first_name,
        Address.last_name,
        Address.company,
    )
    .select_from(Partner)
    .join(_PARTNER_ADDRESS, _PARTNER_ADDRESS.id == Partner.address_id)
    .outerjoin(User, User.id == Partner.user_id)
    .join(Address, Address.id == bindparam("customer"))
    .where(Partner.id == bindparam("partner"))
))


def _mail_offer_accepted(session, offer_id: int, order_id: int, partner_id: int, customer_id: int,
                         service_title: str | None, scope: str, price: Decimal, delivery_days: int) -> None:
    [(recipient, language, first_name, last_name, company)] = _OFFER_ACCEPTED_TO.all(
        session.connection(), {"partner": partner_id, "customer": customer_id})
    if recipient:
        language = mail.language_of(language)
        mail.queue_mails(session, "service_order_offer_accepted", [(recipient, language, {
            "customer": display_name(first_name, last_name, company), "service": service_title,
            "scope": scope, "gross": money_text(price, language), "days": delivery_days, "order_id": order_id,
            "link": _link(PARTNER_PAGE)}, offer_accepted_message_id(offer_id))])


def _mail_declined(session, found: OrderRequest, message: str) -> None:
    title = session.scalar(select(Service.title).where(Service.id == found.service_id))
    _mail_customer(session, found.customer_id, found.partner_id, "service_order_request_declined",
                   CUSTOMER_PAGE, lambda language: {"service": title, "message": message})


def _mail_order_moved(session, order: ServiceOrder) -> None:
    """The partner accepted or delivered an order: the customer hears of it."""
    kind = "service_order_in_progress" if order.status is S.in_progress else "service_order_delivered"
    _mail_customer(session, order.customer_id, order.partner_id, kind, f"{CUSTOMER_PAGE}{order.id}",
                   lambda language: {"title": order.title, "order_id": order.id,
                                     "due": _moment(order.due_at, language)})


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Metrics:
    response_rate: Decimal | None  # percent answered within a day
    response_hours: Decimal | None  # mean hours to the first answer
    cancellation_rate: Decimal | None  # percent of orders cancelled
    requests: int
    orders: int
    cancelled: int
    counted: int = 0  # requests and orders answered, or unanswered for more than a day
    in_time: int = 0  # of those, answered within a day


METRIC_DAYS = 90
ANSWER_WITHIN = timedelta(hours=24)


def _percent(part: int, whole: int) -> Decimal | None:
    return None if not whole else (Decimal(part * 100) / whole).quantize(Decimal("0.1"))


def metrics(session, partner_id: int, now: datetime | None = None) -> Metrics:
    """The last 90 days of one partner (see `metrics_of`)."""
    return metrics_of(session, [partner_id], now)[partner_id]


def metrics_of(session, partner_ids: list[int], now: datetime | None = None, *,
               since: datetime | None = None) -> dict[int, Metrics]:
    """Per partner, in three reads whatever the number of partners (the marketplace
    ranking asks for all its candidates at once): the service-order metrics over the
    last 90 days before `now`, shown to the partner and read by the ranking.

    - `response_rate`: percent (one decimal) of the items that needed the partner's answer
      and got it within 24 hours. Items: requests to order (answered by a custom offer or a
      decline) and direct orders (answered by accepting, or by the partner cancelling). An
      unanswered item still inside its 24 hours is not counted yet. None: no item counted.
    - `response_hours`: mean hours (one decimal) from such an item to its answer, over the
      answered ones; None when none was answered.
    - `cancellation_rate`: percent (one decimal) of the service orders created in the period
      that are cancelled, by either side; None without orders. A declined request is no
      order, so it never counts as a cancellation (R3).
    - `requests`, `orders`, `cancelled`: the counts behind them (requests to order received,
      service orders created, of them cancelled).

    `since`: another start of the period (the marketplace ranking's window of months).
    """
    now = now or current_time()
    since = since or now - timedelta(days=METRIC_DAYS)
    items: dict[int, list] = {pid: [] for pid in partner_ids}
    if not partner_ids:
        return {}
    for pid, created, answered in by_ids(
        session,
        select(OrderRequest.partner_id, OrderRequest.created_at, OrderRequest.answered_at).where(
            OrderRequest.created_at >= since
        ),
        OrderRequest.partner_id,
        partner_ids,
    ):
        items[pid].append((created, answered))
    requests = {pid: len(found) for pid, found in items.items()}
    for o in by_ids(
        session,
        select(
            ServiceOrder.partner_id,
            ServiceOrder.created_at,
            ServiceOrder.accepted_at,
            ServiceOrder.cancelled_at,
            ServiceOrder.cancelled_by,
        )
        .where(ServiceOrder.created_at >= since)
        .where(ServiceOrder.offer_id.is_(None)),
        ServiceOrder.partner_id,
        partner_ids,
    ):
        items[o.partner_id].append(
            (o.created_at, o.accepted_at or (o.cancelled_at if o.cancelled_by is Party.partner else None))
        )
    counts = {
        pid: (int(total), int(cancelled))
        for pid, total, cancelled in by_ids(
            session,
            select(
                ServiceOrder.partner_id, func.count(), func.count().filter(ServiceOrder.status == S.cancelled)
            )
            .where(ServiceOrder.created_at >= since)
            .group_by(ServiceOrder.partner_id),
            ServiceOrder.partner_id,
            partner_ids,
        )
    }
    found = {}
    for pid in partner_ids:
        counted = [(c, a) for c, a in items[pid] if a is not None or c + ANSWER_WITHIN <= now]
        in_time = [a - c for c, a in counted if a is not None and a - c <= ANSWER_WITHIN]
        answered = [a - c for c, a in counted if a is not None]
        seconds = Decimal(sum(d.total_seconds() for d in answered))
        hours = (seconds / len(answered) / 3600).quantize(Decimal("0.1")) if answered else None
        total, cancelled = counts.get(pid, (0, 0))
        found[pid] = Metrics(
            _percent(len(in_time), len(counted)), hours, _percent(cancelled, total), requests[pid], total,
            cancelled, len(counted), len(in_time),
        )
    return found
