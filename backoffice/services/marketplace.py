"""The pay-per-request marketplace (L1–L5): bids, requests, ranking, direct requests, charges.

A customer's request (category, what needs doing, postal code, contact data) becomes live
when the customer confirms it from the e-mail. The partners who match it are ranked by
`score = bid × quality` (`rank`, one versioned function whose parameters are published);
the customer sends a direct request to chosen partners, and each partner is charged its
bid at that moment, once per request and partner, in the same transaction as the direct
request and the partner's e-mail:

- the request's row is locked while a direct request is sent, so the limit of partners per
  request holds, and a repeated send (double click, retry, a second tab) finds the first
  and answers with it; the unique (request, partner) of direct requests and charges backs
  this up;
- a partner's spending per category and month is one row raised by a conditional UPDATE
  (`spent + bid <= budget`), so concurrent sends never take it past its budget; a partner
  whose budget would be exceeded is not shown for that category until the next month.

The charges are billed by the monthly run (`charge_items` is its source).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from flask import current_app, has_app_context
from flask_appbuilder.security.sqla.models import User
from flask_babel import format_decimal
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import (
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    false,
    func,
    literal,
    null,
    or_,
    select,
    text,
    true,
    type_coerce,
    union,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from ..errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolations
from ..models import (
    Address,
    BidChange,
    BudgetMonth,
    Category,
    CategoryBid,
    ChargeDispute,
    CustomerBlock,
    DirectRequest,
    DirectStatus,
    DisputeReason,
    DisputeStatus,
    JobAssignment,
    JobReview,
    JobStatus,
    LeadCharge,
    LeadMonth,
    LeadRequest,
    OrderRequest,
    Partner,
    PartnerProfile,
    PostalCodeLocation,
    RequestStatus,
    Review,
    Service,
    ServiceOrder,
)
from ..models.addresses import display_name
from ..models.types import utcnow
from ..rules import normalize_email
from . import mail, service_orders
from .billing import Billable, Period, billed_as
from .directory import _PICTURE, EARTH_RADIUS_KM, bounding_box, findable_condition, haversine_km
from .driver import DriverStatement, insert_of
from .local_days import day_text, local_day
from .money import cents
from .profiles import notification_email, notification_email_of
from .vouchers import company_zone

RANKING_VERSION = "2026-12.3"
VAT_RATE = Decimal("19")
LEAD_CHARGE = "lead_charge"
CONFIRM_SALT = "lead-request-confirm"
CONFIRM_DAYS = 7
# Quality signals and their weights (published on the ranking page), all over the current
# calendar month and the WINDOW_MONTHS before it (company time zone): whole months, so the
# direct requests are counted from the partner's kept months (`LeadMonth`).
WINDOW_MONTHS = 3
PRIOR_RESPONSES, PRIOR_RESPONDED = 2, 1  # responsiveness starts at 50 % (Laplace smoothing)
RESPONSE_HOURS = 24
# The ranking reads the bidders inside a box of this radius around the request, and those
# whose service radius is wider on their own (few: most serve 50 km around them).
BOX_KM = 100
QUALITY_FLOOR = Decimal("0.5")
RESPONSE_WEIGHT = Decimal("0.2")  # answered within a day: direct requests, requests to order, orders
SPEED_WEIGHT = Decimal("0.05")  # the service orders' mean hours to the first answer
RATING_WEIGHT = Decimal("0.25")
NEUTRAL_SPEED = Decimal("0.5000")  # no answered order yet
FORMULA = ("score = bid × quality; quality = (0.5 + 0.2 × responsiveness + 0.05 × speed"
           " + 0.25 × rating / 5) × (1 − 0.5 × expired share) × (1 − 0.5 × cancelled share)")
# Expert jobs that expired unanswered lower the quality: the share of the window's jobs
# (matches and direct ones) left to expire, smoothed with two answered jobs (none: 0 %).
EXPIRY_WEIGHT = Decimal("0.5")
PRIOR_JOBS = 2
# Cancelled service orders lower it too (declined requests to order are no orders).
CANCEL_WEIGHT = Decimal("0.5")
PRIOR_ORDERS = 2
# A direct request's receipt quotes the ranking the customer was shown, if this recent.
RANKING_KEPT_MINUTES = 60


def _setting(name: str, default):
    return current_app.config.get(name, default) if has_app_context() else default


def month_of(moment: datetime, zone=None) -> date:
    """The first day of `moment`'s month in the company's time zone (`zone`: that zone,
    looked up once by a caller with many moments)."""
    return moment.astimezone(zone or company_zone()).date().replace(day=1)


# --- bids --------------------------------------------------------------------------------


def set_bid(
    session,
    partner_id: int,
    category_id: int,
    amount: Decimal,
    monthly_budget: Decimal | None = None,
    paused: bool = False,
    user_id: int | None = None,
) -> CategoryBid:
    """Place or change the partner's bid in a category; every change is kept."""
    category = session.get(Category, category_id)
    errors: dict[str, list[str]] = {}
    if category is None or not category.active:
        errors["category_id"] = [_("Choose an active category.")]
    else:
        offers = session.scalar(
            select(func.count(Service.id)).where(
                Service.partner_id == partner_id, Service.category_id == category_id, Service.active.is_(True)
            )
        )
        if not offers:
            errors["category_id"] = [_("Offer an active service in this category first.")]
        if amount is None or cents(amount) < category.min_bid:
            errors["amount"] = [_("The bid must be at least %(min)s €.",
                                   min=format_decimal(category.min_bid, "#,##0.00"))]
    if monthly_budget is not None and monthly_budget <= 0:
        errors["monthly_budget"] = [_("A budget must be positive (or empty for none).")]
    if errors:
        raise RuleViolations(errors)
    bid = session.execute(
        select(CategoryBid)
        .where(CategoryBid.partner_id == partner_id, CategoryBid.category_id == category_id)
        .with_for_update()
    ).scalar_one_or_none()
    old = (bid.amount, bid.monthly_budget, bid.paused) if bid is not None else (None, None, None)
    if bid is None:
        bid = CategoryBid(partner_id=partner_id, category_id=category_id)
        session.add(bid)
    bid.amount = cents(amount)
    bid.monthly_budget = cents(monthly_budget) if monthly_budget is not None else None
    bid.paused = bool(paused)
    session.flush()
    session.add(
        BidChange(
            bid_id=bid.id,
            user_id=user_id,
            old_amount=old[0],
            new_amount=bid.amount,
            old_budget=old[1],
            new_budget=bid.monthly_budget,
            old_paused=old[2],
            new_paused=bid.paused,
        )
    )
    session.flush()
    return bid


# --- requests ----------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)


def submit_request(
    session,
    *,
    category_id: int,
    description: str,
    postal_code: str,
    name: str,
    email: str,
    phone: str = "",
    preferred_dates: str = "",
    language: str = "de",
    address_id: int | None = None,
    confirm_url: str = "",
    now: datetime | None = None,
) -> LeadRequest:
    """A new request, live once the customer confirms it from the mail this queues. One
    request per e-mail, category and postal code a day (spam protection)."""
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    category = session.get(Category, category_id) if category_id else None
    if category is None or not category.active:
        errors["category_id"] = [_("Choose an active category.")]
    description = str(description or "").strip()
    if len(description) < 10:
        errors["description"] = [_("Describe what needs doing in a few words (at least 10 characters).")]
    place = session.get(PostalCodeLocation, str(postal_code or "").strip())
    if place is None:
        errors["postal_code"] = [_("Enter a German postal code.")]
    name = str(name or "").strip()
    if not name:
        errors["name"] = [_("Enter your name.")]
    try:
        email = normalize_email(str(email or ""))
    except ValueError as exc:
        errors["email"] = [str(exc)]
    preferred_dates, phone = str(preferred_dates or "").strip(), str(phone or "").strip()
    # Longer than its column: refused, never cut off.
    for field, value, limit in (("description", description, 5000), ("name", name, 200),
                                ("phone", phone, 40), ("preferred_dates", preferred_dates, 200)):
        if len(value) > limit:
            errors[field] = [_("At most %(max)s characters.", max=limit)]
    if language not in mail.LANGUAGES:
        errors["language"] = [_("Choose de or en.")]
    if errors:
        raise RuleViolations(errors)
    since = now - timedelta(days=1)
    recent = session.scalar(
        select(func.count(LeadRequest.id)).where(
            LeadRequest.email == email,
            LeadRequest.category_id == category_id,
            LeadRequest.postal_code == place.postal_code,
            LeadRequest.created_at > since,
        )
    )
    if recent:
        raise Conflict(
            "request_exists",
            _(
                "You sent a request for this category and postal code today; "
                "please confirm that one from your e-mail."
            ),
        )
    request = LeadRequest(
        category_id=category_id,
        description=description,
        preferred_dates=preferred_dates or None,
        postal_code=place.postal_code,
        latitude=place.latitude,
        longitude=place.longitude,
        customer_name=name,
        email=email,
        phone=phone or None,
        language=mail.language_of(language),
        address_id=address_id,
        status=RequestStatus.unconfirmed,
        created_at=now,
    )
    session.add(request)
    session.flush()
    token = _serializer().dumps(request.id)
    mail.queue_mail(
        session,
        "request_confirm",
        email,
        request.language,
        {
            "name": name,
            "link": f"{confirm_url}{token}",
            "category": category.full_name(request.language),
            "description": description,
        },
    )
    return request


def confirm_token_valid(token: str) -> bool:
    """Whether a confirmation link is one of ours and not expired (before showing its page)."""
    try:
        _serializer().loads(token, max_age=CONFIRM_DAYS * 86400)
    except (BadSignature, SignatureExpired):
        return False
    return True


def confirm_request(session, token: str, now: datetime | None = None) -> int:
    """The request of a confirmation link, now open; confirming twice is harmless."""
    try:
        request_id = _serializer().loads(token, max_age=CONFIRM_DAYS * 86400)
    except SignatureExpired as exc:
        raise InvalidInput(
            "link_expired", _("This link has expired; please send the request again.")
        ) from exc
    except BadSignature as exc:
        raise InvalidInput("link_invalid", _("This link is not valid.")) from exc
    session.execute(
        update(LeadRequest)
        .where(LeadRequest.id == request_id, LeadRequest.status == RequestStatus.unconfirmed)
        .values(status=RequestStatus.open, confirmed_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(request_id)


def _open_request(session, request_id: int, *, lock: bool = False) -> LeadRequest:
    query = select(LeadRequest).where(LeadRequest.id == request_id)
    if lock:
        query = query.with_for_update()
    request = session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()
    if request is None:
        raise NotFound("unknown_request", _("There is no such request."))
    if request.status != RequestStatus.open:
        raise Conflict("request_not_open", _("This request is not open (confirm it from your e-mail first)."))
    return request


# --- matching and ranking ----------------------------------------------------------------


@dataclass(frozen=True)
class RankedPartner:
    partner_id: int
    display_name: str
    bid: Decimal
    quality: Decimal
    score: Decimal
    position: int
    distance_km: float
    responsiveness: Decimal
    budget_left: Decimal | None
    rating: Decimal  # the smoothed rating that went into the quality
    expired_share: Decimal = Decimal(0)
    speed: Decimal = NEUTRAL_SPEED
    cancelled_share: Decimal = Decimal(0)


def responsiveness(responded: int, total: int) -> Decimal:
    """Share of direct requests, requests to order and orders answered within a day,
    smoothed towards 50 % for few."""
    return (Decimal(responded + PRIOR_RESPONDED) / Decimal(total + PRIOR_RESPONSES)).quantize(
        Decimal("0.0001")
    )


def speed_of(response_hours: Decimal | None) -> Decimal:
    """1 for an answer at once, 0 for a day or more; 0.5 without any answered order."""
    if response_hours is None:
        return NEUTRAL_SPEED
    hours = min(max(Decimal(response_hours), Decimal(0)), Decimal(RESPONSE_HOURS))
    return (1 - hours / RESPONSE_HOURS).quantize(Decimal("0.0001"))


def cancelled_share(cancelled: int, orders: int) -> Decimal:
    """Share of service orders cancelled, smoothed: 0 of 0 is 0 %, 1 of 1 is 33 %. Declined
    requests to order are no orders and never count."""
    return (Decimal(cancelled) / Decimal(orders + PRIOR_ORDERS)).quantize(Decimal("0.0001"))


def quality_of(response_share: Decimal, rating: Decimal = Decimal("4.0"),
               expired_share: Decimal = Decimal(0), speed: Decimal = NEUTRAL_SPEED,
               cancelled: Decimal = Decimal(0)) -> Decimal:
    """The ranking's quality, formula version `RANKING_VERSION` (`FORMULA`):
    (0.5 + 0.2 × responsiveness + 0.05 × speed + 0.25 × smoothed rating / 5)
    × (1 − 0.5 × expired share) × (1 − 0.5 × cancelled share): between 0.5 and 1 for a partner
    who lets no job expire and cancels no order, down to a quarter of that."""
    base = (QUALITY_FLOOR + RESPONSE_WEIGHT * response_share + SPEED_WEIGHT * speed
            + RATING_WEIGHT * rating / 5)
    return (base * (1 - EXPIRY_WEIGHT * expired_share) * (1 - CANCEL_WEIGHT * cancelled)).quantize(
        Decimal("0.0001"))


def expired_share(expired: int, total: int) -> Decimal:
    """Share of expert jobs left to expire, smoothed: 0 of 0 is 0 %, 1 of 1 is 33 %."""
    return (Decimal(expired) / Decimal(total + PRIOR_JOBS)).quantize(Decimal("0.0001"))


def expiry_stats(session, partner_ids: list[int], since: datetime) -> dict[int, Decimal]:
    """The expired share of each partner's expert jobs since `since` (leads do not count)."""
    if not partner_ids:
        return {}
    expired = JobAssignment.status == JobStatus.expired
    rows = session.execute(
        select(JobAssignment.partner_id, func.count(JobAssignment.id), func.sum(case((expired, 1), else_=0)))
        .where(JobAssignment.partner_id.in_(partner_ids), JobAssignment.created_at >= since,
               JobAssignment.expires_at.is_not(None))
        .group_by(JobAssignment.partner_id)
    ).all()
    shares = {pid: expired_share(int(late or 0), int(total)) for pid, total, late in rows}
    return {pid: shares.get(pid, Decimal(0)) for pid in partner_ids}


NO_ORDERS = service_orders.Metrics(None, None, None, 0, 0, 0)


def _tie_break(request_id: int, partner_id: int) -> str:
    """Equal scores in an order fixed per request but not the same for every request."""
    return hashlib.sha256(f"{request_id}:{partner_id}".encode()).hexdigest()


def _bidders(min_bid, *, joins_minimal: bool = False):
    """The category's bidders that may take the request, with their profile's place and
    this month's spending (the distance and the budget are decided in Python). `min_bid`:
    the category's minimum as an expression. `joins_minimal`: the month's spending read
    per bidder by a subquery instead of an outer join (the ranking's query: every relation
    in its join tree costs PostgreSQL planning time on each run)."""
    category_id = bindparam("category_id")
    month = bindparam("month")
    if joins_minimal:
        spent = (
            select(BudgetMonth.spent)
            .where(BudgetMonth.partner_id == CategoryBid.partner_id,
                   BudgetMonth.category_id == CategoryBid.category_id, BudgetMonth.month == month)
            .scalar_subquery()
            .label("spent")
        )
    else:
        spent = BudgetMonth.spent
    statement = (
        select(
            CategoryBid.partner_id,
            CategoryBid.amount,
            CategoryBid.monthly_budget,
            PartnerProfile.display_name,
            PartnerProfile.latitude,
            PartnerProfile.longitude,
            PartnerProfile.radius_km,
            PartnerProfile.germany_wide,
            spent,
        )
        .join(PartnerProfile, PartnerProfile.partner_id == CategoryBid.partner_id)
        .join(Partner, Partner.id == CategoryBid.partner_id)
    )
    if not joins_minimal:
        statement = statement.outerjoin(
            BudgetMonth,
            and_(
                BudgetMonth.partner_id == CategoryBid.partner_id,
                BudgetMonth.category_id == CategoryBid.category_id,
                BudgetMonth.month == month,
            ),
        )
    return statement.where(
        CategoryBid.category_id == category_id,
        CategoryBid.paused.is_(False),
        CategoryBid.amount >= min_bid,
        findable_condition([category_id], for_work=True, today=bindparam("today")),
    )


@functools.cache
def _rank_statements():
    """The ranking's one query, built once (the values are bound per request): the bidders
    narrowed to those that may reach the request, each way answered from an index (the
    category's services inside a box of `BOX_KM` around the request, by their copies of the
    profile's place; the partners with a wider radius; the Germany-wide ones), at least the
    category's minimum bid, not blocked by the customer's account, each with its direct
    requests and timely answers summed over the window's kept months (`LeadMonth`), its
    expert-job expiry counts of the window and its reviews' count and stars (correlated
    counts and sums from covering indexes). Also: the same without the narrowing (for
    tests)."""
    category_id = bindparam("category_id")
    since = bindparam("since")
    # The direct requests of the window and those answered in time: the partner's kept months.
    kept = (LeadMonth.partner_id == CategoryBid.partner_id, LeadMonth.month >= bindparam("since_month"))
    leads = select(func.coalesce(func.sum(LeadMonth.leads), 0)).where(*kept).scalar_subquery()
    leads_in_time = select(func.coalesce(func.sum(LeadMonth.answered), 0)).where(*kept).scalar_subquery()
    # count(*), not count(id): the counts come from the covering indexes alone.
    jobs = select(func.count()).select_from(JobAssignment).where(
        JobAssignment.partner_id == CategoryBid.partner_id, JobAssignment.created_at >= since,
        JobAssignment.expires_at.is_not(None),
    )
    # Whether the partner had service orders or requests to order in the window: only those
    # partners' order metrics are read (`service_orders.metrics_of`), most have none.
    order_items = (
        select(func.count()).select_from(ServiceOrder)
        .where(ServiceOrder.partner_id == CategoryBid.partner_id, ServiceOrder.created_at >= since)
        .scalar_subquery()
        + select(func.count()).select_from(OrderRequest)
        .where(OrderRequest.partner_id == CategoryBid.partner_id, OrderRequest.created_at >= since)
        .scalar_subquery()
    )
    # The rating's inputs, as `ratings` reads them: visible direct-request reviews and job reviews.
    reviews, stars = _rated_columns(CategoryBid.partner_id)
    # The minimum, the blocks and the spending as subqueries, not joins: PostgreSQL plans
    # those apart instead of searching a larger join tree on every run.
    minimum = select(Category.min_bid).where(Category.id == category_id).scalar_subquery()
    blocked = select(CustomerBlock.partner_id).where(CustomerBlock.customer_id == bindparam("customer_id"))
    with_signals = (
        _bidders(minimum, joins_minimal=True)
        .add_columns(
            order_items.label("order_items"),
            leads.label("leads"),
            leads_in_time.label("leads_in_time"),
            jobs.scalar_subquery().label("jobs"),
            jobs.where(JobAssignment.status == JobStatus.expired).scalar_subquery().label("jobs_expired"),
            reviews.label("reviews"),
            stars.label("stars"),
        )
        .where(CategoryBid.partner_id.not_in(blocked))
    )
    # `= true`, not `IS true`: only an equality is an index condition (PostgreSQL, SQLite).
    offered = and_(Service.category_id == category_id, Service.active == true())
    in_box = and_(
        Service.latitude.between(bindparam("min_lat"), bindparam("max_lat")),
        Service.longitude.between(bindparam("min_lon"), bindparam("max_lon")),
    )
    near = union(
        select(Service.partner_id).where(offered, in_box),
        select(PartnerProfile.partner_id).where(PartnerProfile.radius_km > BOX_KM),
        select(Service.partner_id).where(offered, Service.germany_wide == true()),
    )
    return with_signals.where(CategoryBid.partner_id.in_(near), _near_enough()), with_signals


_RANK_NARROWED, _RANK_EVERYBODY = (
    DriverStatement(lambda _dialect, i=i: _rank_statements()[i]) for i in range(2)
)


def _near_enough():
    """The great-circle distance from the profile's place to the request's (bound as
    radians `lat_rad`, `lon_rad` and `cos_lat`) within the service radius, or Germany-wide:
    the distance filter in the query, so the per-bidder counts are read only for bidders
    that reach the request. A metre of slack for the database's floating point; the exact
    decision is `haversine_km` in Python."""
    latitude = func.radians(PartnerProfile.latitude)
    half_dlat = (latitude - bindparam("lat_rad")) / 2
    half_dlon = (func.radians(PartnerProfile.longitude) - bindparam("lon_rad")) / 2
    a = (func.power(func.sin(half_dlat), 2)
         + bindparam("cos_lat") * func.cos(latitude) * func.power(func.sin(half_dlon), 2))
    distance = 2 * EARTH_RADIUS_KM * func.asin(func.sqrt(case((a > 1, 1.0), else_=a)))
    return or_(PartnerProfile.germany_wide == true(), distance <= PartnerProfile.radius_km + 0.001)


def window_start(now: datetime) -> tuple[date, datetime]:
    """The first month of the quality signals' window and its first moment: the first of
    the month `WINDOW_MONTHS` before `now`'s (company time zone)."""
    month = month_of(now)
    months = month.year * 12 + month.month - 1 - WINDOW_MONTHS
    first = date(months // 12, months % 12 + 1, 1)
    return first, datetime(first.year, first.month, 1, tzinfo=company_zone()).astimezone(UTC)


def _request_values(request, now: datetime) -> dict:
    min_lat, max_lat, min_lon, max_lon = bounding_box(request.latitude, request.longitude, BOX_KM)
    since_month, since = window_start(now)
    return {
        "category_id": request.category_id,
        "month": month_of(now),
        "today": now.astimezone(company_zone()).date(),
        "since_month": since_month,
        "since": since,
        "min_lat": min_lat,
        "max_lat": max_lat,
        "min_lon": min_lon,
        "max_lon": max_lon,
    }


def _reaches(row, request: LeadRequest, blocked) -> tuple[float, Decimal | None] | None:
    """(distance, budget left) when the bidder's area covers the request and its budget
    takes one more request; None otherwise."""
    if row.partner_id in blocked:
        return None
    if row.germany_wide:
        distance = 0.0
    elif row.latitude is None:
        return None
    else:
        distance = haversine_km(row.latitude, row.longitude, request.latitude, request.longitude)
        if distance > row.radius_km:
            return None
    left = None if row.monthly_budget is None else row.monthly_budget - (row.spent or 0)
    if left is not None and left < row.amount:
        return None
    return distance, left


def rank(
    session, request: LeadRequest, now: datetime | None = None, *, prefilter: bool = True
) -> list[RankedPartner]:
    """The partners matching the request, best first (formula version `RANKING_VERSION`).

    Matching: an active category bid, not paused, at least the category's minimum; a
    findable partner (published, listed, available, an active service in the category);
    the request's postal code inside the service area; budget left for one more request;
    not blocked by the customer's partner. The bidders are first narrowed to those near
    enough (`prefilter`; the result is the same without it, only slower), then the exact
    distance decides. Reads: the one query of `_rank_statements` (bidders with their
    direct requests of the window's kept months, job and review counts), then, for the
    few candidates with service orders or requests to order, their order metrics
    (`service_orders.metrics_of`)."""
    now = now or utcnow()
    session.flush()
    values = dict(_request_values(request, now), customer_id=request.address_id,
                  lat_rad=math.radians(request.latitude), lon_rad=math.radians(request.longitude),
                  cos_lat=math.cos(math.radians(request.latitude)))
    rows = (_RANK_NARROWED if prefilter else _RANK_EVERYBODY).all(session.connection(), values)
    # The customer's blocks are in the query; `_reaches` decides distance and budget.
    candidates = [(row, *reach) for row in rows if (reach := _reaches(row, request, ())) is not None]
    ordered = [row.partner_id for row, *_ in candidates if row.order_items]
    orders = service_orders.metrics_of(session, ordered, now, since=values["since"]) if ordered else {}
    ranked = []
    for row, distance, left in candidates:
        (partner_id, amount, _budget, name, *_place, _items, leads, leads_in_time, jobs, jobs_expired,
         reviews, stars) = row
        order = orders.get(partner_id, NO_ORDERS)
        signals = _signals(int(leads_in_time) + order.in_time, int(leads) + order.counted, int(jobs_expired),
                           int(jobs), int(reviews), int(stars), order.response_hours, order.cancelled,
                           order.orders)
        ranked.append((amount * signals[-1], partner_id, name, amount, distance, left, signals))
    # Equal scores in the order `_tie_break` fixes per request (hashed only where scores tie).
    ties = Counter(entry[0] for entry in ranked)
    ranked.sort(key=lambda e: (-e[0], _tie_break(request.id, e[1]) if ties[e[0]] > 1 else ""))
    return [
        RankedPartner(partner_id, name, amount, quality, score.quantize(SCORE_PLACES), position,
                      round(distance, 1), share, left, rating, expired, speed, cancelled)
        for position, (score, partner_id, name, amount, distance, left,
                       (share, expired, speed, cancelled, rating, quality)) in enumerate(ranked, 1)
    ]


SCORE_PLACES = Decimal("0.0001")


@functools.lru_cache(maxsize=8192)
def _signals(responded: int, total: int, jobs_expired: int, jobs: int, reviews: int, stars: int,
             response_hours: Decimal | None, cancelled: int, orders: int) -> tuple[Decimal, ...]:
    """(responsiveness, expired share, speed, cancelled share, smoothed rating, quality) of
    a partner's counts, remembered: many partners have the same counts."""
    share = responsiveness(responded, total)
    expired = expired_share(jobs_expired, jobs)
    speed = speed_of(response_hours)
    cancelled_part = cancelled_share(cancelled, orders)
    rating = smoothed_rating(reviews, stars)
    quality = quality_of(share, rating, expired, speed, cancelled_part)
    return share, expired, speed, cancelled_part, rating, quality


def keep_ranking(request: LeadRequest, ranked: list[RankedPartner], now: datetime) -> None:
    """Store the ranking the customer is shown with the request (its direct requests'
    receipts quote it): each partner's position and signals, the number matched."""
    request.ranking = json.dumps(
        {
            "version": RANKING_VERSION,
            "matched": len(ranked),
            "first": str(ranked[0].score) if ranked else None,
            "partners": {
                str(r.partner_id): [r.position, str(r.quality), str(r.score), str(r.responsiveness),
                                    str(r.rating), str(r.expired_share), str(r.speed), str(r.cancelled_share),
                                    r.distance_km]
                for r in ranked
            },
        },
        separators=(",", ":"),
    )
    request.ranked_at = now


def show_ranking(session, request: LeadRequest, now: datetime | None = None) -> list[RankedPartner]:
    """The ranking of an open request as the customer sees it, kept with the request."""
    now = now or utcnow()
    ranked = rank(session, request, now)
    keep_ranking(request, ranked, now)
    session.flush()
    return ranked


def ranked_partners(session, request_id: int, now: datetime | None = None) -> list[RankedPartner]:
    return show_ranking(session, _open_request(session, request_id), now)


def _kept_position(request: LeadRequest, partner_id: int, now: datetime) -> tuple[dict, list] | None:
    """The partner's entry in the ranking kept with the request, if that is of this formula
    version and recent (`RANKING_KEPT_MINUTES`)."""
    if not request.ranking or request.ranked_at is None:
        return None
    if now - request.ranked_at > timedelta(minutes=RANKING_KEPT_MINUTES) or request.ranked_at > now:
        return None
    kept, entry = _kept_entry(request.ranking, partner_id)
    if kept.get("version") != RANKING_VERSION or entry is None:
        return None
    return kept, entry


def _kept_entry(ranking: str, partner_id: int) -> tuple[dict, list | None]:
    """(the kept ranking's head: version, matched, first; the partner's entry or None).
    As `keep_ranking` writes it, the partners come last and an entry is a flat list: the
    head and the one entry are read without parsing the whole ranking (hundreds of
    partners); any other text is parsed whole."""
    marker = ranking.find(',"partners":{')
    key = f'"{partner_id}":['
    start = ranking.find(key, marker) if marker > 0 else -1
    try:
        head = json.loads(ranking[:marker] + "}") if marker > 0 else None
        if head is not None and start < 0 and ranking.endswith("}}"):
            return head, None
        if head is not None and start > 0:
            return head, json.loads(ranking[start + len(key) - 1:ranking.index("]", start) + 1])
    except ValueError:
        pass
    kept = json.loads(ranking)
    return kept, kept.get("partners", {}).get(str(partner_id))


@functools.cache
def _send_statements():
    """A direct request's reads, built once (values bound per send): the request's row
    locked; the chosen partner's check in one query — the bidder row of the ranking (with
    the category's minimum bid), whether the customer's account is blocked by the partner,
    whether the same customer's request in the category was charged within `REPEAT_DAYS`
    (the repeat is free), where the partner's mail goes, the category's name for it, how
    many partners the request went to and whether this one is among them; the partners it
    went to (when the partner matches no more); a direct request's charge. Each runs after
    the lock as a statement of its own, so on PostgreSQL it sees what a concurrent send
    committed while this one waited for the lock."""
    locked = (
        select(
            LeadRequest.id, LeadRequest.status, LeadRequest.category_id, LeadRequest.postal_code,
            LeadRequest.latitude, LeadRequest.longitude, LeadRequest.email, LeadRequest.address_id,
            LeadRequest.description, LeadRequest.preferred_dates, LeadRequest.customer_name,
            LeadRequest.phone, LeadRequest.ranking, LeadRequest.ranked_at,
        )
        .where(LeadRequest.id == bindparam("request_id"))
        .with_for_update()
    )
    sent = select(DirectRequest.id, DirectRequest.partner_id).where(
        DirectRequest.request_id == bindparam("request_id")
    )
    earlier = aliased(LeadRequest)
    repeat = (
        select(LeadCharge.id)
        .join(earlier, earlier.id == LeadCharge.request_id)
        .where(
            LeadCharge.partner_id == CategoryBid.partner_id,
            LeadCharge.net > 0,
            LeadCharge.charged_at > bindparam("repeat_since"),
            earlier.email == bindparam("email"),
            earlier.category_id == bindparam("category_id"),
            earlier.id != bindparam("request_id"),
        )
        .exists()
    )
    blocked = (
        select(CustomerBlock.partner_id)
        .where(CustomerBlock.partner_id == CategoryBid.partner_id,
               CustomerBlock.customer_id == bindparam("customer_id"))
        .exists()
    )
    parent = aliased(Category)
    one = (
        _bidders(min_bid=Category.min_bid)
        .join(Category, Category.id == CategoryBid.category_id)
        .outerjoin(parent, parent.id == Category.parent_id)
        .join(Address, Address.id == Partner.address_id)
        .outerjoin(User, User.id == Partner.user_id)
        .add_columns(
            repeat.label("repeat"),
            blocked.label("blocked"),
            notification_email_of(Partner.notification_email, User.email, Address.email).label("recipient"),
            Address.first_name,
            Address.last_name,
            Address.company,
            Address.language,
            Category.name_de.label("category_de"),
            Category.name_en.label("category_en"),
            parent.name_de.label("parent_de"),
            parent.name_en.label("parent_en"),
            select(func.count()).select_from(DirectRequest)
            .where(DirectRequest.request_id == bindparam("request_id")).scalar_subquery().label("sent"),
            select(DirectRequest.id)
            .where(DirectRequest.request_id == bindparam("request_id"),
                   DirectRequest.partner_id == CategoryBid.partner_id)
            .scalar_subquery().label("sent_id"),
        )
        .where(CategoryBid.partner_id == bindparam("partner_id"))
    )
    existing = select(LeadCharge.id, LeadCharge.net).where(
        LeadCharge.direct_request_id == bindparam("direct_id")
    )
    return locked, sent, one, existing


# --- direct requests and charges -------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    direct_request_id: int
    charge_id: int
    net: Decimal
    repeated: bool = False


def _reserve_statement(dialect: str, budgeted: bool):
    table = BudgetMonth.__table__
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table).values(
        partner_id=bindparam("partner_id"), category_id=bindparam("category_id"), month=bindparam("month"),
        spent=bindparam("amount", type_=table.c.spent.type),
    )
    raised = table.c.spent + statement.excluded.spent
    return statement.on_conflict_do_update(
        index_elements=["partner_id", "category_id", "month"],
        set_={"spent": raised},
        where=raised <= bindparam("budget", type_=table.c.spent.type) if budgeted else None,
    ).returning(table.c.partner_id)


def _lead_month_statement(dialect: str):
    """One more direct request in the partner's month (`LeadMonth`): the row is created or
    raised in one statement, so concurrent sends each count."""
    table = LeadMonth.__table__
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table).values(
        partner_id=bindparam("partner_id"), month=bindparam("month"), leads=1, answered=0,
    )
    return statement.on_conflict_do_update(index_elements=["partner_id", "month"],
                                           set_={"leads": table.c.leads + 1})


_COUNT_LEAD = DriverStatement(_lead_month_statement)
_RESERVE = DriverStatement(lambda dialect: _reserve_statement(dialect, False))
_RESERVE_WITHIN_BUDGET = DriverStatement(lambda dialect: _reserve_statement(dialect, True))


def _reserve_budget(session, partner_id: int, category_id: int, amount: Decimal,
                    budget: Decimal | None, month: date) -> bool:
    """Add the bid to the month's spending unless that would pass the budget: one upsert
    (the month's row is created with the bid, or raised by it where `spent + bid <=
    budget`; on PostgreSQL the conflict's UPDATE waits for a concurrent send's row and
    tests the guard on its committed value). The caller checked that a month without a
    row has budget for the bid."""
    statement = _RESERVE_WITHIN_BUDGET if budget is not None else _RESERVE
    values = {"partner_id": partner_id, "category_id": category_id, "month": month, "amount": amount,
              "budget": budget}
    return statement.first(session.connection(), values) is not None


def _position(session, request, row, distance: float, left, now: datetime) -> dict | None:
    """What the receipt says about the chosen partner's place (`row`: its bidder row, checked
    to match): from the ranking the customer was shown when it is kept and recent, else from
    ranking the request now (and keeping that). None: not among the ranked partners."""
    kept = _kept_position(request, row.partner_id, now)
    if kept is not None:
        ranking, (position, quality, score, share, rating, expired, speed, cancelled, _d) = kept
        return {"matched": ranking["matched"], "position": position, "first": ranking["first"],
                "bid": row.amount, "budget": row.monthly_budget, "left": left, "quality": quality,
                "score": score, "responsiveness": share, "rating": rating, "expired_share": expired,
                "speed": speed, "cancelled_share": cancelled, "distance_km": round(distance, 1)}
    ranking = show_ranking(session, session.get(LeadRequest, request.id), now)
    chosen = next((r for r in ranking if r.partner_id == row.partner_id), None)
    if chosen is None:
        return None
    return {"matched": len(ranking), "position": chosen.position, "first": str(ranking[0].score),
            "bid": chosen.bid, "budget": row.monthly_budget, "left": chosen.budget_left,
            "quality": str(chosen.quality), "score": str(chosen.score),
            "responsiveness": str(chosen.responsiveness), "rating": str(chosen.rating),
            "expired_share": str(chosen.expired_share), "speed": str(chosen.speed),
            "cancelled_share": str(chosen.cancelled_share), "distance_km": chosen.distance_km}


def _receipt(request, place: dict, price: Decimal, vat: Decimal, repeat: bool) -> str:
    amount = place["bid"]
    return json.dumps(
        {
            "formula": FORMULA,
            "formula_version": RANKING_VERSION,
            "request_id": request.id,
            "category_id": request.category_id,
            "postal_code": request.postal_code,
            "matched": place["matched"],
            "position": place["position"],
            "bid": str(amount),
            "monthly_budget": str(place["budget"]) if place["budget"] is not None else None,
            "budget_left_before": str(place["left"]) if place["left"] is not None else None,
            "signals": {
                "responsiveness": place["responsiveness"],
                "weight": str(RESPONSE_WEIGHT),
                "speed": place["speed"],
                "speed_weight": str(SPEED_WEIGHT),
                "rating": place["rating"],
                "rating_weight": str(RATING_WEIGHT),
                "expired_share": place["expired_share"],
                "expired_weight": str(EXPIRY_WEIGHT),
                "cancelled_share": place["cancelled_share"],
                "cancelled_weight": str(CANCEL_WEIGHT),
            },
            "quality": place["quality"],
            "score": place["score"],
            "score_of_first": place["first"],
            "distance_km": place["distance_km"],
            "price_rule": (
                "free: the same customer's request in this category within 7 days was charged already"
                if repeat
                else "the bid at the moment of the direct request"
            ),
            "net": str(price),
            "vat_rate": str(VAT_RATE),
            "vat": str(vat),
            "gross": str(price + vat),
        },
        ensure_ascii=False,
    )


_LOCKED, _SENT_TO, _ONE, _EXISTING = (
    DriverStatement(lambda _dialect, i=i: _send_statements()[i]) for i in range(4)
)
_INSERT_DIRECT = insert_of(DirectRequest.__table__, "request_id", "partner_id", "status", "created_at",
                           returning_id=True)
_INSERT_CHARGE = insert_of(LeadCharge.__table__, "direct_request_id", "request_id", "partner_id",
                           "category_id", "net", "vat_rate", "charged_at", "receipt", returning_id=True)


def send_direct_request(
    session, request_id: int, partner_id: int, now: datetime | None = None, partner_url: str = ""
) -> Sent:
    """Send the request to the partner and charge its current bid, exactly once.

    Statements, as written here: the request's row locked; the partner's check with all
    the send needs; the month's spending raised (an upsert, unless the send is a free
    repeat); the direct request, its charge, the partner's mail (Core INSERTs, no ORM unit
    of work)."""
    now = now or utcnow()
    conn = session.connection()
    request = _LOCKED.first(conn, {"request_id": request_id})
    if request is None:
        raise NotFound("unknown_request", _("There is no such request."))
    if request.status != RequestStatus.open:
        raise Conflict("request_not_open", _("This request is not open (confirm it from your e-mail first)."))
    values = dict(_request_values(request, now), partner_id=partner_id, request_id=request_id,
                  email=request.email, customer_id=request.address_id,
                  repeat_since=now - timedelta(days=REPEAT_DAYS))
    row = _ONE.first(conn, values)
    if row is not None:
        count, direct_id = row.sent, row.sent_id
    else:  # the partner matches no more: a repeated send still finds its first
        sent = _SENT_TO.all(conn, {"request_id": request_id})
        count = len(sent)
        direct_id = next((direct for direct, sent_partner in sent if sent_partner == partner_id), None)
    if direct_id is not None:
        charge = _EXISTING.first(conn, {"direct_id": direct_id})
        if charge is not None:
            return Sent(direct_id, charge.id, charge.net, repeated=True)
    limit = int(_setting("MARKETPLACE_MAX_PARTNERS_PER_REQUEST", 3))
    if count >= limit:
        raise Conflict("too_many_partners", _("A request can go to at most %(n)s partners.", n=limit))
    reach = None if row is None else _reaches(row, request, {partner_id} if row.blocked else set())
    place = None if reach is None else _position(session, request, row, *reach, now)
    if place is None:
        raise Forbidden(
            "partner_not_matching", _("This partner does not take requests like this one (any more).")
        )
    amount = place["bid"]
    price = Decimal("0.00") if row.repeat else amount
    if not row.repeat and not _reserve_budget(
        session, partner_id, request.category_id, amount, place["budget"], month_of(now)
    ):
        raise Conflict(
            "budget_exhausted", _("This partner takes no more requests in this category this month.")
        )
    direct_id = _INSERT_DIRECT.scalar(conn, {"request_id": request_id, "partner_id": partner_id,
                                             "status": DirectStatus.new, "created_at": now})
    _COUNT_LEAD.all(conn, {"partner_id": partner_id, "month": month_of(now)})
    vat = cents(price * VAT_RATE / 100)
    charge_id = _INSERT_CHARGE.scalar(
        conn,
        {"direct_request_id": direct_id, "request_id": request_id, "partner_id": partner_id,
         "category_id": request.category_id, "net": price, "vat_rate": VAT_RATE, "charged_at": now,
         "receipt": _receipt(request, place, price, vat, row.repeat)},
    )
    if row.recipient:  # in the partner's language, with the category's name in it
        language = mail.language_of(row.language)
        category, parent = ((row.category_en, row.parent_en) if language == "en"
                            else (row.category_de, row.parent_de))
        if parent is not None:
            category = f"{parent} › {category}"
        context = {"name": display_name(row.first_name, row.last_name, row.company), "request": request,
                   "price": mail.money_text(price, language), "link": partner_url, "category": category}
        mail.queue_mails(session, "direct_request", [(row.recipient, language, context, None)])
    return Sent(direct_id, charge_id, price)


def receipt_of(charge: LeadCharge) -> dict:
    return json.loads(charge.receipt)


# --- the partner's request overview ---------------------------------------------------------

NEXT = {
    DirectStatus.new: {DirectStatus.seen, DirectStatus.contacted, DirectStatus.lost},
    DirectStatus.seen: {DirectStatus.contacted, DirectStatus.lost},
    DirectStatus.contacted: {DirectStatus.appointment, DirectStatus.lost, DirectStatus.done},
    DirectStatus.appointment: {DirectStatus.done, DirectStatus.lost},
    DirectStatus.done: set(),
    DirectStatus.lost: set(),
}


def own_direct_request(session, partner_id: int, direct_id: int) -> DirectRequest:
    direct = session.get(DirectRequest, direct_id)
    if direct is None or direct.partner_id != partner_id:
        raise NotFound("unknown_request", _("There is no such request."))
    return direct


def move_direct_request(
    session,
    partner_id: int,
    direct_id: int,
    status: DirectStatus,
    now: datetime | None = None,
    review_url: str = "",
    appointment_on: date | None = None,
) -> DirectRequest:
    """The partner's progress on a request; the first step after "new" is its response.
    "Appointment agreed" needs the appointment's day (given again, it moves the day). A job
    marked done asks the customer for a review (with `review_url`, the link's start), once;
    `ask_due_reviews` asks 14 days after an appointment instead, when nobody marked it done."""
    now = now or utcnow()
    direct = own_direct_request(session, partner_id, direct_id)
    if status == DirectStatus.appointment:
        if appointment_on is None:
            message = _("Enter the day of the appointment, e.g. 31.12.2027.")
            raise RuleViolations({"appointment_on": [message]})
        if status == direct.status:
            direct.appointment_on = appointment_on
            session.flush()
            return direct
    if status == direct.status:
        return direct
    if status not in NEXT[direct.status]:
        raise Conflict(
            "invalid_step",
            _("A request that is %(old)s cannot become %(new)s.", old=direct.status, new=status),
        )
    direct.status = status
    direct.status_changed_at = now
    if status == DirectStatus.appointment:
        direct.appointment_on = appointment_on
    session.flush()
    if direct.first_response_at is None and status != DirectStatus.seen:
        _count_response(session, direct, now)
    if status == DirectStatus.done and review_url:
        _ask_once(session, direct, review_url, now)
    return direct


def _count_response(session, direct: DirectRequest, now: datetime) -> None:
    """Stamp the partner's first response and, when it came within `RESPONSE_HOURS`, count
    it in the direct request's month (`LeadMonth`): a guarded UPDATE, so of concurrent
    first responses one counts."""
    in_time = now - direct.created_at <= timedelta(hours=RESPONSE_HOURS)
    stamped = session.execute(
        update(DirectRequest)
        .where(DirectRequest.id == direct.id, DirectRequest.first_response_at.is_(None))
        .values(first_response_at=now, answered_in_time=in_time)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(direct, ["first_response_at", "answered_in_time"])
    if stamped and in_time:
        session.execute(
            update(LeadMonth)
            .where(LeadMonth.partner_id == direct.partner_id, LeadMonth.month == month_of(direct.created_at))
            .values(answered=LeadMonth.answered + 1)
            .execution_options(synchronize_session=False)
        )


RECOUNT_CHUNK = 50_000


@dataclass(frozen=True)
class Recount:
    months: int  # partner months with direct requests
    changed: int  # kept rows set, added or removed


def recount_lead_months(session, progress=None) -> Recount:
    """Set the kept months (`LeadMonth`) to what the direct requests say, for a database
    edited by hand (the services keep them in step). On PostgreSQL the table is locked
    first, so a concurrent send waits and counts on top of the recount. `progress(n)` is
    told of every `RECOUNT_CHUNK` direct requests read."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE lead_month IN SHARE ROW EXCLUSIVE MODE"))
    zone = company_zone()
    counted: dict[tuple[int, date], list[int]] = {}
    rows = select(DirectRequest.partner_id, DirectRequest.created_at, DirectRequest.answered_in_time)
    for read, (partner_id, created_at, in_time) in enumerate(
            session.execute(rows.execution_options(yield_per=RECOUNT_CHUNK)), 1):
        counts = counted.setdefault((partner_id, month_of(created_at, zone)), [0, 0])
        counts[0] += 1
        counts[1] += bool(in_time)
        if progress is not None and read % RECOUNT_CHUNK == 0:
            progress(RECOUNT_CHUNK)
    kept = {(p, m): [n, a] for p, m, n, a in session.execute(
        select(LeadMonth.partner_id, LeadMonth.month, LeadMonth.leads, LeadMonth.answered))}
    changed = 0
    for key in kept.keys() - counted.keys():
        session.execute(delete(LeadMonth).where(LeadMonth.partner_id == key[0], LeadMonth.month == key[1]))
        changed += 1
    for (partner_id, month), (leads, answered) in counted.items():
        found = kept.get((partner_id, month))
        if found == [leads, answered]:
            continue
        if found is None:
            session.add(LeadMonth(partner_id=partner_id, month=month, leads=leads, answered=answered))
        else:
            session.execute(update(LeadMonth)
                            .where(LeadMonth.partner_id == partner_id, LeadMonth.month == month)
                            .values(leads=leads, answered=answered))
        changed += 1
    session.flush()
    return Recount(len(counted), changed)


def _ask_once(session, direct: DirectRequest, review_url: str, now: datetime) -> bool:
    """Mail the review request unless the customer was asked already: the stamp is a
    guarded UPDATE in the mail's transaction, so concurrent askers mail once."""
    stamped = session.execute(
        update(DirectRequest)
        .where(DirectRequest.id == direct.id, DirectRequest.review_asked_at.is_(None))
        .values(review_asked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if stamped != 1:
        return False
    ask_for_review(session, direct, review_url)
    return True


def review_due_day(direct: DirectRequest) -> date | None:
    """The day from which the customer may review without the job marked done."""
    if direct.appointment_on is None:
        return None
    return direct.appointment_on + timedelta(days=REVIEW_AFTER_APPOINTMENT_DAYS)


def ask_due_reviews(session, review_url: str, now: datetime | None = None, limit: int = 500) -> int:
    """The periodic sweep: ask the customers whose appointment was 14 days ago (company
    time zone) and who were not asked yet, once each; how many were asked."""
    now = now or utcnow()
    last_day = now.astimezone(company_zone()).date() - timedelta(days=REVIEW_AFTER_APPOINTMENT_DAYS)
    due = session.execute(
        select(DirectRequest)
        .where(
            DirectRequest.appointment_on <= last_day,
            DirectRequest.review_asked_at.is_(None),
            DirectRequest.status.in_([DirectStatus.appointment, DirectStatus.done]),
        )
        .order_by(DirectRequest.id)
        .limit(limit)
    ).scalars().all()
    return sum(1 for direct in due if _ask_once(session, direct, review_url, now))


def direct_requests(
    session, partner_id: int, status: DirectStatus | None = None, limit: int = 200, search: str = ""
) -> list[DirectRequest]:
    """The partner's direct requests, newest first; by status, and by a text in the request,
    the customer's name, e-mail, phone or postal code."""
    query = select(DirectRequest).where(DirectRequest.partner_id == partner_id)
    if status is not None:
        query = query.where(DirectRequest.status == status)
    search = (search or "").strip().lower()
    if search:
        fields = (
            LeadRequest.description,
            LeadRequest.customer_name,
            LeadRequest.email,
            LeadRequest.phone,
            LeadRequest.postal_code,
        )
        query = query.join(LeadRequest, LeadRequest.id == DirectRequest.request_id).where(
            or_(*(func.lower(field).contains(search, autoescape=True) for field in fields))
        )
    return session.execute(query.order_by(DirectRequest.id.desc()).limit(limit)).scalars().all()


# --- billing ----------------------------------------------------------------------------------


def charge_items(session, period: Period, partner_ids: list[int] | None = None, *, described: bool = True):
    """The monthly run's source of charges, as SQL: the period's charges no statement has
    billed yet (of `partner_ids`, or everyone's), one row each with the columns of a
    statement line (partner_id, source, source_id, description, net, vat_rate, occurred_on).
    A month has up to a million of them: the run writes them with `INSERT … SELECT`.
    Not `described`: only partner_id, source, source_id, net and vat_rate (for sums)."""
    zone = company_zone()
    start, end = period.bounds(zone)
    unbilled = (LeadCharge.charged_at >= start, LeadCharge.charged_at < end,
                ~billed_as(LEAD_CHARGE, LeadCharge.id))
    if partner_ids is not None:
        unbilled += (LeadCharge.partner_id.in_(partner_ids),)
    source = literal(LEAD_CHARGE, String(32)).label("source")
    if not described:
        return select(LeadCharge.partner_id.label("partner_id"), source, LeadCharge.id.label("source_id"),
                      LeadCharge.net.label("net"), LeadCharge.vat_rate.label("vat_rate")).where(*unbilled)
    dialect = session.get_bind().dialect.name
    day = local_day(LeadCharge.charged_at, zone, start, end, dialect)
    parent = aliased(Category)
    category_name = case((parent.id.is_(None), Category.name_de),
                         else_=parent.name_de + " › " + Category.name_de)
    description = func.substr(literal("Anfrage ") + cast(LeadCharge.request_id, String) + " (" + category_name
                              + "), " + day_text(day, dialect), 1, 300)
    return (
        select(LeadCharge.partner_id.label("partner_id"), source, LeadCharge.id.label("source_id"),
               type_coerce(description, String(300)).label("description"), LeadCharge.net.label("net"),
               LeadCharge.vat_rate.label("vat_rate"), day.label("occurred_on"))
        .join(Category, Category.id == LeadCharge.category_id)
        .outerjoin(parent, parent.id == Category.parent_id)
        .where(*unbilled)
    )


def ranking_explained() -> dict:
    """The main ranking parameters, as the public ranking page states them (P2B Art. 5)."""
    return {
        "version": RANKING_VERSION,
        "formula": FORMULA,
        "prior_rating": f"{PRIOR_STARS} ({PRIOR_REVIEWS} reviews)",
        "prior_stars": int(PRIOR_STARS),
        "prior_reviews": PRIOR_REVIEWS,
        "response_hours": RESPONSE_HOURS,
        "prior": f"{PRIOR_RESPONDED}/{PRIOR_RESPONSES}",
        "window_months": WINDOW_MONTHS,
    }


# --- the customer's page of a request ---------------------------------------------------------

VIEW_SALT = "lead-request-view"
VIEW_DAYS = 60


def view_token(request_id: int) -> str:
    """The key of the customer's page of a request (the link in the confirmation)."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=VIEW_SALT).dumps(request_id)


def request_of_view_token(session, token: str) -> LeadRequest:
    try:
        request_id = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=VIEW_SALT).loads(
            token, max_age=VIEW_DAYS * 86400
        )
    except (BadSignature, SignatureExpired) as exc:
        raise NotFound("unknown_request", _("There is no such request.")) from exc
    request = session.get(LeadRequest, request_id)
    if request is None:
        raise NotFound("unknown_request", _("There is no such request."))
    return request


@dataclass(frozen=True)
class Contact:
    name: str
    email: str | None
    phone: str | None


def contact_of_partner(session, partner_id: int) -> Contact:
    """What the customer sees of a partner it sent a direct request to."""
    partner = session.get(Partner, partner_id)
    profile = session.get(PartnerProfile, partner_id)
    return Contact(
        profile.display_name if profile else partner.address.name,
        notification_email(partner),
        partner.address.phone,
    )


def sent_partner_ids(session, request_id: int) -> set[int]:
    return set(
        session.execute(
            select(DirectRequest.partner_id).where(DirectRequest.request_id == request_id)
        ).scalars()
    )


def appointments_of(session, request_id: int) -> dict[int, date]:
    """The appointments agreed on a request, by partner (what the customer sees)."""
    return dict(
        session.execute(
            select(DirectRequest.partner_id, DirectRequest.appointment_on).where(
                DirectRequest.request_id == request_id, DirectRequest.appointment_on.is_not(None),
                DirectRequest.status != DirectStatus.lost,
            )
        ).all()
    )


@dataclass(frozen=True)
class BidRow:
    category_id: int
    category: str
    min_bid: Decimal
    amount: Decimal | None
    monthly_budget: Decimal | None
    paused: bool
    spent: Decimal


def bids_of(session, partner_id: int, locale: str, now: datetime | None = None) -> list[BidRow]:
    """The categories the partner offers services in, with its bid and this month's spending."""
    month = month_of(now or utcnow())
    categories = (
        session.execute(
            select(Category)
            .where(
                Category.id.in_(
                    select(Service.category_id).where(
                        Service.partner_id == partner_id, Service.active.is_(True)
                    )
                )
            )
            .order_by(Category.name_de)
        )
        .scalars()
        .all()
    )
    bids = {
        b.category_id: b
        for b in session.execute(select(CategoryBid).where(CategoryBid.partner_id == partner_id)).scalars()
    }
    spent = dict(
        session.execute(
            select(BudgetMonth.category_id, BudgetMonth.spent).where(
                BudgetMonth.partner_id == partner_id, BudgetMonth.month == month
            )
        ).all()
    )
    rows = []
    for category in categories:
        bid = bids.get(category.id)
        rows.append(
            BidRow(
                category.id,
                category.full_name(locale),
                category.min_bid,
                bid.amount if bid else None,
                bid.monthly_budget if bid else None,
                bid.paused if bid else False,
                spent.get(category.id, Decimal("0.00")),
            )
        )
    return rows


# --- reviews (L6) -------------------------------------------------------------------------------

REVIEW_SALT = "lead-review"
REVIEW_DAYS = 60
REVIEW_AFTER_APPOINTMENT_DAYS = 14  # ask for a review this long after the appointment's day
PRIOR_STARS, PRIOR_REVIEWS = Decimal("4.0"), 3  # Bayesian average: a few reviews move it little


def _review_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=REVIEW_SALT)


def ask_for_review(session, direct: DirectRequest, review_url: str) -> None:
    """Mail the customer a signed link to review the partner (when the job is done)."""
    token = _review_serializer().dumps(direct.id)
    profile = session.get(PartnerProfile, direct.partner_id)
    mail.queue_mail(
        session,
        "review_request",
        direct.request.email,
        direct.request.language,
        {
            "name": direct.request.customer_name,
            "partner": profile.display_name if profile else "",
            "link": f"{review_url}{token}",
        },
    )


def direct_of_review_token(session, token: str) -> DirectRequest:
    try:
        direct_id = _review_serializer().loads(token, max_age=REVIEW_DAYS * 86400)
    except (BadSignature, SignatureExpired) as exc:
        raise NotFound("unknown_review_link", _("This review link is not valid (any more).")) from exc
    direct = session.get(DirectRequest, direct_id)
    if direct is None:
        raise NotFound("unknown_review_link", _("This review link is not valid (any more)."))
    return direct


def submit_review(session, token: str, stars: int, text: str, now: datetime | None = None) -> Review:
    """The customer's review, once per direct request, only after the job was done."""
    now = now or utcnow()
    direct = direct_of_review_token(session, token)
    due = review_due_day(direct)
    appointment_past = (direct.status == DirectStatus.appointment and due is not None
                        and now.astimezone(company_zone()).date() >= due)
    if direct.status != DirectStatus.done and not appointment_past:
        raise Conflict("not_done", _("You can review once the partner has marked the job done."))
    if not isinstance(stars, int) or not 1 <= stars <= 5:
        raise RuleViolations({"stars": [_("Give 1 to 5 stars.")]})
    existing = session.execute(select(Review).where(Review.direct_request_id == direct.id)).scalar()
    if existing is not None:
        raise Conflict("already_reviewed", _("You reviewed this job already. Thank you!"))
    review = Review(
        direct_request_id=direct.id,
        partner_id=direct.partner_id,
        stars=stars,
        text=str(text or "").strip()[:3000] or None,
        author_name=direct.request.customer_name[:200],
        created_at=now,
        hidden=False,
    )
    session.add(review)
    session.flush()
    return review


@dataclass(frozen=True)
class Rating:
    average: Decimal | None  # of the visible reviews
    count: int
    smoothed: Decimal  # Bayesian: what ranking uses


@functools.cache
def _ratings_statement():
    """Stars per partner over every review a partner can get: the visible reviews of direct
    requests and of expert jobs (completed jobs, and leads the partner asked)."""
    ids = bindparam("ids", expanding=True)
    stars = union_all(
        select(Review.partner_id, Review.stars).where(Review.partner_id.in_(ids), Review.hidden.is_(False)),
        select(JobReview.partner_id, JobReview.stars).where(JobReview.partner_id.in_(ids),
                                                            JobReview.hidden.is_(False)),
    ).subquery()
    return select(stars.c.partner_id, func.count(), func.sum(stars.c.stars)).group_by(stars.c.partner_id)


def _rated_columns(partner_id):
    """The count and the stars of the reviews of the partner `partner_id` (a column of the
    outer query), as two correlated expressions over the reviews `_ratings_statement` reads."""
    visible = (Review.partner_id == partner_id, Review.hidden == false())
    of_jobs = (JobReview.partner_id == partner_id, JobReview.hidden == false())
    count = (select(func.count()).select_from(Review).where(*visible).scalar_subquery()
             + select(func.count()).select_from(JobReview).where(*of_jobs).scalar_subquery())
    stars = (func.coalesce(select(func.sum(Review.stars)).where(*visible).scalar_subquery(), 0)
             + func.coalesce(select(func.sum(JobReview.stars)).where(*of_jobs).scalar_subquery(), 0))
    return count, stars


@functools.lru_cache(maxsize=4096)
def smoothed_rating(count: int, total: int) -> Decimal:
    """The Bayesian rating of `count` reviews with `total` stars: what ranking uses."""
    return ((PRIOR_STARS * PRIOR_REVIEWS + total) / (PRIOR_REVIEWS + count)).quantize(Decimal("0.0001"))


def ratings(session, partner_ids: list[int]) -> dict[int, Rating]:
    """The one rating of each partner: shown on the profile and the cards, and (smoothed)
    used by every ranking."""
    rows = dict.fromkeys(partner_ids, (0, 0))
    if partner_ids:
        for pid, count, total in session.connection().execute(_ratings_statement(), {"ids": partner_ids}):
            rows[pid] = (int(count), int(total or 0))
    result = {}
    for pid, (count, total) in rows.items():
        average = (Decimal(total) / count).quantize(Decimal("0.1")) if count else None
        result[pid] = Rating(average, count, smoothed_rating(count, total))
    return result


@dataclass(frozen=True)
class ShownReview:
    """A review as the public profile lists it, of a direct request or an expert job."""

    stars: int
    text: str | None
    author_name: str
    created_at: datetime
    answer: str | None


def visible_reviews(session, partner_id: int, limit: int = 20) -> list[ShownReview]:
    """The newest reviews behind the rating: the visible reviews of direct requests and jobs."""
    reviews = union_all(
        select(Review.stars, Review.text, Review.author_name, Review.created_at, Review.answer,
               Review.id.label("id"), literal(0).label("source"))
        .where(Review.partner_id == partner_id, Review.hidden.is_(False)),
        select(JobReview.stars, JobReview.text, JobReview.author_name, JobReview.created_at,
               null().label("answer"), JobReview.id.label("id"), literal(1).label("source"))
        .where(JobReview.partner_id == partner_id, JobReview.hidden.is_(False)),
    ).subquery()
    rows = session.execute(
        select(reviews).order_by(reviews.c.created_at.desc(), reviews.c.source.desc(), reviews.c.id.desc())
        .limit(limit)
    ).all()
    return [ShownReview(row.stars, row.text, row.author_name, row.created_at, row.answer) for row in rows]


def answer_review(
    session, partner_id: int, review_id: int, text: str, now: datetime | None = None
) -> Review:
    """The partner's one public answer to a review of its own."""
    text = str(text or "").strip()
    if not text:
        raise RuleViolations({"answer": [_("Write an answer.")]})
    review = session.get(Review, review_id)
    if review is None or review.partner_id != partner_id:
        raise NotFound("unknown_review", _("There is no such review."))
    answered = session.execute(
        update(Review)
        .where(Review.id == review_id, Review.answer.is_(None))
        .values(answer=text[:3000], answered_at=now or utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if answered != 1:
        raise Conflict("already_answered", _("You answered this review already."))
    return session.get(Review, review_id, populate_existing=True)


def own_reviews(session, partner_id: int, limit: int = 50) -> list[Review]:
    """The partner's reviews, hidden ones too (the partner sees why)."""
    return (
        session.execute(
            select(Review).where(Review.partner_id == partner_id).order_by(Review.id.desc()).limit(limit)
        )
        .scalars()
        .all()
    )


def public_author(name: str) -> str:
    """A reviewer as the public sees it: the first name and the last name's initial."""
    words = (name or "").split()
    return " ".join(words[:1] + [f"{words[-1][0]}."] if len(words) > 1 else words)


@dataclass(frozen=True)
class PartnerCard:
    """What a customer sees of a ranked partner besides its name: picture, text, services
    and rating."""

    picture: str | None
    text: str | None
    services: list[str]
    rating: Rating


def partner_cards(session, partner_ids: list[int]) -> dict[int, PartnerCard]:
    if not partner_ids:
        return {}
    partners = dict(
        (row[0], row[1:])
        for row in session.execute(
            select(Partner.id, _PICTURE, Partner.profile_text).where(Partner.id.in_(partner_ids))
        )
    )
    services: dict[int, list[str]] = {}
    for partner_id, title in session.execute(
        select(Service.partner_id, Service.title)
        .where(Service.partner_id.in_(partner_ids), Service.active.is_(True))
        .order_by(Service.id)
    ):
        services.setdefault(partner_id, []).append(title)
    stars = ratings(session, partner_ids)
    return {
        pid: PartnerCard(partners[pid][0], partners[pid][1], services.get(pid, []), stars[pid])
        for pid in partner_ids
    }


# --- disputes and repeat requests ---------------------------------------------------------------

DISPUTE_DAYS = 14
REPEAT_DAYS = 7
DISPUTE_CREDIT = "dispute_credit"


def dispute_charge(
    session,
    partner_id: int,
    charge_id: int,
    reason: DisputeReason,
    note: str = "",
    now: datetime | None = None,
) -> ChargeDispute:
    """The partner contests a charge, within 14 days, once, for one of the listed reasons."""
    now = now or utcnow()
    charge = session.get(LeadCharge, charge_id)
    if charge is None or charge.partner_id != partner_id:
        raise NotFound("unknown_charge", _("There is no such charge."))
    if now - charge.charged_at > timedelta(days=DISPUTE_DAYS):
        raise Conflict("dispute_too_late", _("A charge can be contested within 14 days."))
    if charge.net <= 0:
        raise Conflict("nothing_to_dispute", _("This request was not charged."))
    if session.execute(select(ChargeDispute.id).where(ChargeDispute.charge_id == charge_id)).first():
        raise Conflict("already_disputed", _("You contested this charge already."))
    dispute = ChargeDispute(
        charge_id=charge_id,
        partner_id=partner_id,
        reason=DisputeReason(reason),
        note=(note or "")[:2000] or None,
        status=DisputeStatus.open,
        created_at=now,
    )
    session.add(dispute)
    session.flush()
    return dispute


def decide_dispute(
    session,
    dispute_id: int,
    accept: bool,
    reason: str,
    user_id: int | None = None,
    now: datetime | None = None,
) -> ChargeDispute:
    """Staff accept (a credit on the partner's next statement) or refuse, with a reason; once."""
    if not (reason or "").strip():
        raise RuleViolations({"decision_reason": [_("Give a reason for the decision.")]})
    changed = session.execute(
        update(ChargeDispute)
        .where(ChargeDispute.id == dispute_id, ChargeDispute.status == DisputeStatus.open)
        .values(
            status=DisputeStatus.accepted if accept else DisputeStatus.refused,
            decided_at=now or utcnow(),
            decided_by_id=user_id,
            decision_reason=reason.strip()[:2000],
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise Conflict("already_decided", _("This dispute was decided already."))
    return session.get(ChargeDispute, dispute_id, populate_existing=True)


def billable_credits(session, period: Period) -> dict[int, list[Billable]]:
    """The monthly run's source of credits: disputes accepted before the period's end."""
    _start, end = period.bounds(company_zone())
    billed = billed_as(DISPUTE_CREDIT, ChargeDispute.id)
    rows = session.execute(
        select(ChargeDispute, LeadCharge)
        .join(LeadCharge, LeadCharge.id == ChargeDispute.charge_id)
        .where(ChargeDispute.status == DisputeStatus.accepted, ChargeDispute.decided_at < end, ~billed)
        .order_by(ChargeDispute.id)
    ).all()
    found: dict[int, list[Billable]] = {}
    zone = company_zone()
    for dispute, charge in rows:
        day = dispute.decided_at.astimezone(zone).date()
        found.setdefault(dispute.partner_id, []).append(
            Billable(
                DISPUTE_CREDIT,
                dispute.id,
                f"Gutschrift Anfrage {charge.request_id} (Reklamation angenommen)",
                -charge.net,
                charge.vat_rate,
                day,
            )
        )
    return found


def dispute_of(session, charge_id: int) -> ChargeDispute | None:
    return session.execute(select(ChargeDispute).where(ChargeDispute.charge_id == charge_id)).scalar()


def open_disputes(session, limit: int = 200) -> list[ChargeDispute]:
    return (
        session.execute(
            select(ChargeDispute)
            .where(ChargeDispute.status == DisputeStatus.open)
            .order_by(ChargeDispute.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )
