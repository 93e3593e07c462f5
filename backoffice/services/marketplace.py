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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app, has_app_context
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import String, and_, bindparam, case, cast, func, literal, or_, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from ..errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolations
from ..models import (
    BidChange,
    BudgetMonth,
    Category,
    CategoryBid,
    ChargeDispute,
    DirectRequest,
    DirectStatus,
    DisputeReason,
    DisputeStatus,
    JobAssignment,
    JobStatus,
    LeadCharge,
    LeadRequest,
    Partner,
    PartnerProfile,
    PostalCodeLocation,
    RequestStatus,
    Review,
    Service,
)
from ..models.types import utcnow
from ..rules import normalize_email
from . import conversations, mail
from .billing import Billable, Period, billed_as
from .directory import _PICTURE, bounding_box, findable_condition, haversine_km
from .local_days import day_text, local_day
from .money import cents
from .profiles import notification_email
from .vouchers import company_zone

RANKING_VERSION = "2026-12"
VAT_RATE = Decimal("19")
LEAD_CHARGE = "lead_charge"
CONFIRM_SALT = "lead-request-confirm"
CONFIRM_DAYS = 7
# Quality signals and their weights (published on the ranking page).
PRIOR_RESPONSES, PRIOR_RESPONDED = 2, 1  # responsiveness starts at 50 % (Laplace smoothing)
RESPONSE_HOURS = 24
# The ranking reads the bidders inside a box of this radius around the request, and those
# whose service radius is wider on their own (few: most serve 50 km around them).
BOX_KM = 100
QUALITY_FLOOR = Decimal("0.5")  # quality = 0.5 + 0.25 × responsiveness + 0.25 × rating / 5
FORMULA = ("score = bid × quality; quality = (0.5 + 0.25 × responsiveness + 0.25 × rating / 5)"
           " × (1 − 0.5 × expired share)")
# Expert jobs that expired unanswered lower the quality: the share of the last 90 days' jobs
# (matches and direct ones) left to expire, smoothed with two answered jobs (none: 0 %).
EXPIRY_WEIGHT = Decimal("0.5")
PRIOR_JOBS = 2


def _setting(name: str, default):
    return current_app.config.get(name, default) if has_app_context() else default


def month_of(moment: datetime) -> date:
    return moment.astimezone(company_zone()).date().replace(day=1)


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
            errors["amount"] = [_("The bid must be at least %(min)s €.", min=category.min_bid)]
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
        description=description[:5000],
        preferred_dates=str(preferred_dates or "")[:200] or None,
        postal_code=place.postal_code,
        latitude=place.latitude,
        longitude=place.longitude,
        customer_name=name[:200],
        email=email,
        phone=str(phone or "")[:40] or None,
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


def responsiveness(responded: int, total: int) -> Decimal:
    """Share of direct requests answered within a day, smoothed towards 50 % for few."""
    return (Decimal(responded + PRIOR_RESPONDED) / Decimal(total + PRIOR_RESPONSES)).quantize(
        Decimal("0.0001")
    )


def quality_of(response_share: Decimal, rating: Decimal = Decimal("4.0"),
               expired_share: Decimal = Decimal(0)) -> Decimal:
    """(0.5 + 0.25 × responsiveness + 0.25 × (smoothed rating / 5)) × (1 − 0.5 × expired share):
    between 0.55 and 1 for a partner who lets no job expire, down to half of that."""
    weight = (1 - QUALITY_FLOOR) / 2
    base = QUALITY_FLOOR + weight * response_share + weight * rating / 5
    return (base * (1 - EXPIRY_WEIGHT * expired_share)).quantize(Decimal("0.0001"))


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


def _tie_break(request_id: int, partner_id: int) -> str:
    """Equal scores in an order fixed per request but not the same for every request."""
    return hashlib.sha256(f"{request_id}:{partner_id}".encode()).hexdigest()


@functools.cache
def _response_statement():
    answered = DirectRequest.answered_in_time.is_(True)
    return (
        select(DirectRequest.partner_id, func.count(DirectRequest.id), func.sum(case((answered, 1), else_=0)))
        .where(
            DirectRequest.partner_id.in_(bindparam("ids", expanding=True)),
            DirectRequest.created_at >= bindparam("since"),
        )
        .group_by(DirectRequest.partner_id)
    )


def _response_stats(session, partner_ids: list[int], since: datetime) -> dict[int, tuple[int, int]]:
    if not partner_ids:
        return {}
    rows = session.connection().execute(_response_statement(), {"ids": partner_ids, "since": since})
    return {pid: (int(responded or 0), int(total)) for pid, total, responded in rows}


@functools.cache
def _rank_statements():
    """The ranking's queries, built once (the values are bound per request): the bidders
    narrowed to those that may reach the request, each way answered from an index (the
    category's services inside a box of `BOX_KM` around the request, by their copies of the
    profile's place; the partners with a wider radius; the Germany-wide ones), and the same
    without that narrowing."""
    category_id = bindparam("category_id")
    bidders = (
        select(
            CategoryBid.partner_id,
            CategoryBid.amount,
            CategoryBid.monthly_budget,
            PartnerProfile.display_name,
            PartnerProfile.latitude,
            PartnerProfile.longitude,
            PartnerProfile.radius_km,
            PartnerProfile.germany_wide,
            BudgetMonth.spent,
        )
        .join(PartnerProfile, PartnerProfile.partner_id == CategoryBid.partner_id)
        .join(Partner, Partner.id == CategoryBid.partner_id)
        .outerjoin(
            BudgetMonth,
            and_(
                BudgetMonth.partner_id == CategoryBid.partner_id,
                BudgetMonth.category_id == CategoryBid.category_id,
                BudgetMonth.month == bindparam("month"),
            ),
        )
        .where(
            CategoryBid.category_id == category_id,
            CategoryBid.paused.is_(False),
            CategoryBid.amount >= bindparam("min_bid"),
            findable_condition([category_id], for_work=True, today=bindparam("today")),
        )
    )
    offered = and_(Service.category_id == category_id, Service.active.is_(True))
    in_box = and_(
        Service.latitude.between(bindparam("min_lat"), bindparam("max_lat")),
        Service.longitude.between(bindparam("min_lon"), bindparam("max_lon")),
    )
    nearby = (
        select(Service.partner_id).where(offered, in_box),
        select(PartnerProfile.partner_id).where(PartnerProfile.radius_km > BOX_KM),
        select(Service.partner_id).where(offered, Service.germany_wide.is_(True)),
    )
    return tuple(bidders.where(CategoryBid.partner_id.in_(near)) for near in nearby), (bidders,)


def rank(
    session, request: LeadRequest, now: datetime | None = None, *, prefilter: bool = True
) -> list[RankedPartner]:
    """The partners matching the request, best first (formula version `RANKING_VERSION`).

    Matching: an active category bid, not paused, at least the category's minimum; a
    findable partner (published, listed, available, an active service in the category);
    the request's postal code inside the service area; budget left for one more request.
    The bidders are first narrowed to those near enough (`prefilter`; the result is the same
    without it, only slower), then the exact distance decides."""
    now = now or utcnow()
    category = session.get(Category, request.category_id)
    min_lat, max_lat, min_lon, max_lon = bounding_box(request.latitude, request.longitude, BOX_KM)
    values = {
        "category_id": request.category_id,
        "month": month_of(now),
        "min_bid": category.min_bid,
        "today": now.astimezone(company_zone()).date(),
        "min_lat": min_lat,
        "max_lat": max_lat,
        "min_lon": min_lon,
        "max_lon": max_lon,
    }
    narrowed, everybody = _rank_statements()
    session.flush()
    connection = session.connection()
    rows = {}
    for query in narrowed if prefilter else everybody:
        rows.update((row.partner_id, row) for row in connection.execute(query, values))
    blocked = conversations.blocking_partners(session, request.address_id)
    candidates = []
    for row in rows.values():
        if row.partner_id in blocked:
            continue
        if row.germany_wide:
            distance = 0.0
        elif row.latitude is None:
            continue
        else:
            distance = haversine_km(row.latitude, row.longitude, request.latitude, request.longitude)
            if distance > row.radius_km:
                continue
        left = None if row.monthly_budget is None else row.monthly_budget - (row.spent or 0)
        if left is not None and left < row.amount:
            continue
        candidates.append((row, distance, left))
    ids = [row.partner_id for row, *_ in candidates]
    stats = _response_stats(session, ids, now - timedelta(days=90))
    stars = ratings(session, ids)
    expiries = expiry_stats(session, ids, now - timedelta(days=90))
    ranked = []
    for row, distance, left in candidates:
        responded, total = stats.get(row.partner_id, (0, 0))
        share = responsiveness(responded, total)
        quality = quality_of(share, stars[row.partner_id].smoothed, expiries[row.partner_id])
        ranked.append(
            (
                row.amount * quality,
                _tie_break(request.id, row.partner_id),
                row,
                distance,
                left,
                share,
                quality,
                stars[row.partner_id].smoothed,
            )
        )
    ranked.sort(key=lambda r: (-r[0], r[1]))
    return [
        RankedPartner(
            row.partner_id,
            row.display_name,
            row.amount,
            quality,
            score.quantize(Decimal("0.0001")),
            position,
            round(distance, 1),
            share,
            left,
            rating,
        )
        for position, (score, _tb, row, distance, left, share, quality, rating) in enumerate(ranked, 1)
    ]


def ranked_partners(session, request_id: int, now: datetime | None = None) -> list[RankedPartner]:
    return rank(session, _open_request(session, request_id), now)


# --- direct requests and charges -------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    direct_request_id: int
    charge_id: int
    net: Decimal
    repeated: bool = False


def _reserve_budget(session, bid: CategoryBid, month: date) -> bool:
    """Add the bid to the month's spending unless that would pass the budget."""
    conn = session.connection()
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        dialect_insert(BudgetMonth.__table__)
        .values(partner_id=bid.partner_id, category_id=bid.category_id, month=month, spent=0)
        .on_conflict_do_nothing(index_elements=["partner_id", "category_id", "month"])
    )
    table = BudgetMonth.__table__
    guard = table.c.spent + bid.amount <= bid.monthly_budget if bid.monthly_budget is not None else True
    return (
        conn.execute(
            update(table)
            .where(
                table.c.partner_id == bid.partner_id,
                table.c.category_id == bid.category_id,
                table.c.month == month,
                guard,
            )
            .values(spent=table.c.spent + bid.amount)
        ).rowcount
        == 1
    )


def send_direct_request(
    session, request_id: int, partner_id: int, now: datetime | None = None, partner_url: str = ""
) -> Sent:
    """Send the request to the partner and charge its current bid, exactly once."""
    now = now or utcnow()
    request = _open_request(session, request_id, lock=True)
    existing = session.execute(
        select(DirectRequest).where(
            DirectRequest.request_id == request_id, DirectRequest.partner_id == partner_id
        )
    ).scalar()
    if existing is not None:
        charge = existing.charge
        return Sent(existing.id, charge.id, charge.net, repeated=True)
    limit = int(_setting("MARKETPLACE_MAX_PARTNERS_PER_REQUEST", 3))
    sent = session.scalar(select(func.count(DirectRequest.id)).where(DirectRequest.request_id == request_id))
    if sent >= limit:
        raise Conflict("too_many_partners", _("A request can go to at most %(n)s partners.", n=limit))
    ranking = rank(session, request, now)
    chosen = next((r for r in ranking if r.partner_id == partner_id), None)
    if chosen is None:
        raise Forbidden(
            "partner_not_matching", _("This partner does not take requests like this one (any more).")
        )
    bid = session.execute(
        select(CategoryBid).where(
            CategoryBid.partner_id == partner_id, CategoryBid.category_id == request.category_id
        )
    ).scalar_one()
    repeat = _repeat_of_charged(session, request, partner_id, now)
    price = Decimal("0.00") if repeat else bid.amount
    if not repeat and not _reserve_budget(session, bid, month_of(now)):
        raise Conflict(
            "budget_exhausted", _("This partner takes no more requests in this category this month.")
        )
    direct = DirectRequest(
        request_id=request_id, partner_id=partner_id, status=DirectStatus.new, created_at=now
    )
    session.add(direct)
    session.flush()
    receipt = {
        "formula": FORMULA,
        "formula_version": RANKING_VERSION,
        "request_id": request_id,
        "category_id": request.category_id,
        "postal_code": request.postal_code,
        "matched": len(ranking),
        "position": chosen.position,
        "bid": str(bid.amount),
        "monthly_budget": str(bid.monthly_budget) if bid.monthly_budget else None,
        "budget_left_before": str(chosen.budget_left) if chosen.budget_left is not None else None,
        "signals": {
            "responsiveness": str(chosen.responsiveness),
            "weight": "0.25",
            "rating": str(chosen.rating),
            "rating_weight": "0.25",
        },
        "quality": str(chosen.quality),
        "score": str(chosen.score),
        "score_of_first": str(ranking[0].score),
        "distance_km": chosen.distance_km,
        "price_rule": (
            "free: the same customer's request in this category within 7 days was charged already"
            if repeat
            else "the bid at the moment of the direct request"
        ),
        "net": str(price),
        "vat_rate": str(VAT_RATE),
        "vat": str(cents(price * VAT_RATE / 100)),
        "gross": str(price + cents(price * VAT_RATE / 100)),
    }
    charge = LeadCharge(
        direct_request_id=direct.id,
        request_id=request_id,
        partner_id=partner_id,
        category_id=request.category_id,
        net=price,
        vat_rate=VAT_RATE,
        charged_at=now,
        receipt=json.dumps(receipt, ensure_ascii=False),
    )
    session.add(charge)
    partner = session.get(Partner, partner_id)
    recipient = notification_email(partner)
    if recipient:
        mail.queue_mail(
            session,
            "direct_request",
            recipient,
            "de",
            {
                "name": partner.address.name,
                "request": request,
                "price": price,
                "link": partner_url,
                "category": request.category.full_name("de"),
            },
        )
    session.flush()
    return Sent(direct.id, charge.id, charge.net)


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
) -> DirectRequest:
    """The partner's progress on a request; the first step after "new" is its response. A
    job marked done asks the customer for a review (with `review_url`, the link's start)."""
    now = now or utcnow()
    direct = own_direct_request(session, partner_id, direct_id)
    if status == direct.status:
        return direct
    if status not in NEXT[direct.status]:
        raise Conflict(
            "invalid_step",
            _("A request that is %(old)s cannot become %(new)s.", old=direct.status, new=status),
        )
    direct.status = status
    direct.status_changed_at = now
    if direct.first_response_at is None and status != DirectStatus.seen:
        direct.first_response_at = now
        direct.answered_in_time = now - direct.created_at <= timedelta(hours=RESPONSE_HOURS)
    if status == DirectStatus.done and review_url:
        ask_for_review(session, direct, review_url)
    session.flush()
    return direct


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


def month_charges(session, partner_id: int, now: datetime | None = None) -> tuple[list[LeadCharge], Decimal]:
    """The partner's charges of the current month and their net sum (not yet invoiced)."""
    now = now or utcnow()
    start, end = Period.month(*month_of(now).timetuple()[:2]).bounds(company_zone())
    charges = (
        session.execute(
            select(LeadCharge)
            .where(
                LeadCharge.partner_id == partner_id,
                LeadCharge.charged_at >= start,
                LeadCharge.charged_at < end,
            )
            .order_by(LeadCharge.id)
        )
        .scalars()
        .all()
    )
    return charges, sum((c.net for c in charges), Decimal("0.00"))


def open_amount(session, partner_id: int) -> Decimal:
    """Net of the partner's charges that no statement has billed yet (of any month), less
    the accepted disputes' credits not billed yet either: what the next invoice will ask."""
    charged = session.scalar(
        select(func.coalesce(func.sum(LeadCharge.net), 0)).where(
            LeadCharge.partner_id == partner_id, ~billed_as(LEAD_CHARGE, LeadCharge.id)
        )
    )
    credited = session.scalar(
        select(func.coalesce(func.sum(LeadCharge.net), 0))
        .join(ChargeDispute, ChargeDispute.charge_id == LeadCharge.id)
        .where(
            ChargeDispute.partner_id == partner_id,
            ChargeDispute.status == DisputeStatus.accepted,
            ~billed_as(DISPUTE_CREDIT, ChargeDispute.id),
        )
    )
    return cents(Decimal(charged) - Decimal(credited))


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
        "window_days": 90,
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
    direct = direct_of_review_token(session, token)
    if direct.status != DirectStatus.done:
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
        created_at=now or utcnow(),
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
    return (
        select(Review.partner_id, func.count(Review.id), func.sum(Review.stars))
        .where(Review.partner_id.in_(bindparam("ids", expanding=True)), Review.hidden.is_(False))
        .group_by(Review.partner_id)
    )


def ratings(session, partner_ids: list[int]) -> dict[int, Rating]:
    rows = dict.fromkeys(partner_ids, (0, 0))
    if partner_ids:
        for pid, count, total in session.connection().execute(_ratings_statement(), {"ids": partner_ids}):
            rows[pid] = (int(count), int(total or 0))
    result = {}
    for pid, (count, total) in rows.items():
        smoothed = (PRIOR_STARS * PRIOR_REVIEWS + total) / (PRIOR_REVIEWS + count)
        average = (Decimal(total) / count).quantize(Decimal("0.1")) if count else None
        result[pid] = Rating(average, count, smoothed.quantize(Decimal("0.0001")))
    return result


def visible_reviews(session, partner_id: int, limit: int = 20) -> list[Review]:
    return (
        session.execute(
            select(Review)
            .where(Review.partner_id == partner_id, Review.hidden.is_(False))
            .order_by(Review.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )


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


def _repeat_of_charged(session, request: LeadRequest, partner_id: int, now: datetime) -> bool:
    """The same customer's request in the same category within 7 days, charged before."""
    return (
        session.execute(
            select(LeadCharge.id)
            .join(LeadRequest, LeadRequest.id == LeadCharge.request_id)
            .where(
                LeadCharge.partner_id == partner_id,
                LeadCharge.net > 0,
                LeadCharge.charged_at > now - timedelta(days=REPEAT_DAYS),
                LeadRequest.email == request.email,
                LeadRequest.category_id == request.category_id,
                LeadRequest.id != request.id,
            )
        ).first()
        is not None
    )


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
