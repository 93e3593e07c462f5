"""Who can be found: the public partner directory and the one rule for "findable".

`findable_partners()` is the rule every area asks (directory, matching, jobs, messages): a
partner is findable when its profile is published and listed and it offers at least one
active service (in the asked category, if any). `for_work=True` also requires it to be
available for work and not away today.

The radius search is fast on SQLite and PostgreSQL alike without a geo extension: a bounding
box around the search point on an index of latitude and longitude (the category's services,
which carry a copy of their profile's place, or the profiles themselves) narrows the
candidates to some hundreds, and the exact great-circle distance (haversine) is computed for
those only, in Python, where both databases give the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import Select, String, and_, exists, func, literal_column, or_, select, true

from ..errors import NotFound, RuleViolations
from ..models import Category, Partner, PartnerProfile, PostalCodeLocation, Service
from .categories import with_subcategories

EARTH_RADIUS_KM = 6371.0088
DEFAULT_RADIUS_KM = 50
MAX_SEARCH_RADIUS_KM = 500
PAGE_SIZE = 20
# FAB's ImageColumn type has no cache key: named as plain text, the statement stays cacheable.
_PICTURE = literal_column("partner.picture", String).label("picture")


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min lat, max lat, min lon, max lon) of a box that contains the circle."""
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    dlon = math.degrees(radius_km / (EARTH_RADIUS_KM * max(math.cos(math.radians(lat)), 0.01)))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def _category(category_ids: list[int] | None):
    if not category_ids:
        return true()
    return Service.category_id.in_(category_ids) if len(category_ids) > 1 else \
        Service.category_id == category_ids[0]


def _offers(category_ids: list[int] | None):
    return exists().where(Service.partner_id == PartnerProfile.partner_id, Service.active.is_(True),
                          _category(category_ids))


def findable_condition(category_ids: list[int] | None = None, *, for_work: bool = False,
                       today: date | None = None):
    """The WHERE condition on `PartnerProfile` (joined to `Partner` when `for_work`)."""
    conditions = [PartnerProfile.published.is_(True), PartnerProfile.listed.is_(True),
                  _offers(category_ids)]
    if for_work:
        today = today if today is not None else date.today()
        conditions += [Partner.available.is_(True),
                       or_(PartnerProfile.away_until.is_(None), PartnerProfile.away_until < today)]
    return and_(*conditions)


def findable_partners(category_id: int | None = None, *, for_work: bool = False,
                      today: date | None = None, session=None) -> Select:
    """SELECT of the ids of findable partners (usable as a subquery: `Partner.id.in_(...)`).

    With a `session`, a top category includes its active subcategories.
    """
    category_ids = None
    if category_id is not None:
        category_ids = with_subcategories(session, category_id) if session is not None else [category_id]
    stmt = select(PartnerProfile.partner_id).where(
        findable_condition(category_ids, for_work=for_work, today=today))
    if for_work:
        stmt = stmt.join(Partner, Partner.id == PartnerProfile.partner_id)
    return stmt


def is_findable(session, partner_id: int, **kw) -> bool:
    stmt = findable_partners(session=session, **kw).where(PartnerProfile.partner_id == partner_id)
    return session.execute(stmt.limit(1)).first() is not None


@dataclass(frozen=True)
class Hit:
    partner_id: int
    distance_km: float | None


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    page: int
    pages: int
    place: str | None = None


def _center(session, postal_code: str) -> PostalCodeLocation:
    place = session.get(PostalCodeLocation, postal_code.strip())
    if place is None:
        raise RuleViolations({"postal_code": [_("Unknown German postal code.")]})
    return place


def search(session, *, category_id: int | None = None, postal_code: str | None = None,
           radius_km: int | None = None, name: str | None = None, page: int = 1,
           page_size: int = PAGE_SIZE) -> SearchResult:
    """Findable partners by category, place and name.

    With a postal code: partners within `radius_km` of it whose own service area reaches it,
    plus Germany-wide partners; nearest first. Without one: by name.
    """
    category_ids = with_subcategories(session, category_id) if category_id else None
    shown = and_(PartnerProfile.published.is_(True), PartnerProfile.listed.is_(True))
    name = (name or "").strip()
    if name:
        shown = and_(shown, func.lower(PartnerProfile.display_name).contains(name.lower(), autoescape=True))
    condition = and_(shown, _offers(category_ids))
    page = max(1, page)
    if not postal_code:
        total = session.scalar(select(func.count()).select_from(PartnerProfile).where(condition))
        ids = session.scalars(select(PartnerProfile.partner_id).where(condition)
                              .order_by(PartnerProfile.display_name, PartnerProfile.partner_id)
                              .offset((page - 1) * page_size).limit(page_size)).all()
        return SearchResult(total, [Hit(i, None) for i in ids], page, max(1, -(-total // page_size)))

    radius = min(max(int(radius_km or DEFAULT_RADIUS_KM), 1), MAX_SEARCH_RADIUS_KM)
    center = _center(session, postal_code)
    min_lat, max_lat, min_lon, max_lon = bounding_box(center.latitude, center.longitude, radius)

    def in_box(model):
        return and_(model.latitude.between(min_lat, max_lat), model.longitude.between(min_lon, max_lon))

    columns = (PartnerProfile.partner_id, PartnerProfile.latitude, PartnerProfile.longitude,
               PartnerProfile.radius_km, PartnerProfile.germany_wide)
    # With a category, the candidates come from the services' copies of the place: the
    # category's active services inside the box, and its Germany-wide ones, each from its own
    # index (one query with OR would scan); the profile then decides (published, listed, its
    # own radius). Without one, the profiles' own place index gives the box.
    if category_ids:
        offered = and_(_category(category_ids), Service.active.is_(True))
        queries = [select(*columns).where(shown, PartnerProfile.partner_id.in_(
            select(Service.partner_id).where(offered, where)))
            for where in (in_box(Service), Service.germany_wide.is_(True))]
    else:
        queries = [select(*columns).where(condition, in_box(PartnerProfile)),
                   select(*columns).where(condition, PartnerProfile.germany_wide.is_(True))]
    rows = {}
    for query in queries:
        rows.update((row[0], row) for row in session.execute(query))
    hits = []
    for partner_id, lat, lon, own_radius, germany_wide in rows.values():
        distance = haversine_km(center.latitude, center.longitude, lat, lon) if lat is not None else None
        if germany_wide or (distance is not None and distance <= radius and distance <= own_radius):
            hits.append(Hit(partner_id, distance))
    hits.sort(key=lambda h: (h.distance_km is None, h.distance_km or 0.0, h.partner_id))
    total = len(hits)
    start = (page - 1) * page_size
    return SearchResult(total, hits[start:start + page_size], page, max(1, -(-total // page_size)),
                        center.place)


@dataclass
class Card:
    """What the directory shows of one partner in a list."""

    partner_id: int
    display_name: str
    place: str | None
    postal_code: str | None
    germany_wide: bool
    distance_km: float | None
    picture: str | None
    categories: list[str] = field(default_factory=list)
    price_from: Decimal | None = None


def cards(session, hits: list[Hit], locale: str | None) -> list[Card]:
    """The list entries of one page of hits (a few queries for the whole page)."""
    ids = [h.partner_id for h in hits]
    if not ids:
        return []
    profiles = {p.partner_id: p for p in session.execute(
        select(PartnerProfile.partner_id, PartnerProfile.display_name, PartnerProfile.postal_code,
               PartnerProfile.germany_wide, _PICTURE)
        .join(Partner, Partner.id == PartnerProfile.partner_id)
        .where(PartnerProfile.partner_id.in_(ids)))}
    places = _places(session, [p.postal_code for p in profiles.values()])
    services = session.execute(select(Service.partner_id, Service.category_id, Service.price_from)
                               .where(Service.partner_id.in_(ids), Service.active.is_(True))
                               .order_by(Service.id)).all()
    names = _category_names(session, {s.category_id for s in services}, locale)
    result = []
    for hit in hits:
        profile = profiles[hit.partner_id]
        own = [s for s in services if s.partner_id == hit.partner_id]
        prices = [s.price_from for s in own if s.price_from is not None]
        result.append(Card(hit.partner_id, profile.display_name, places.get(profile.postal_code),
                           profile.postal_code, profile.germany_wide, hit.distance_km, profile.picture,
                           list(dict.fromkeys(names[s.category_id] for s in own)),
                           min(prices) if prices else None))
    return result


def _category_names(session, ids, locale) -> dict[int, str]:
    """Full names ("Handwerk › Elektro") of the given categories, with two queries at most."""
    if not ids:
        return {}
    rows = {c.id: c for c in session.scalars(select(Category).where(Category.id.in_(ids)))}
    parents = {c.parent_id for c in rows.values() if c.parent_id is not None} - rows.keys()
    if parents:
        rows.update({c.id: c for c in session.scalars(select(Category).where(Category.id.in_(parents)))})
    return {i: rows[i].full_name(locale) for i in ids}


def _places(session, postal_codes) -> dict[str, str]:
    codes = [c for c in set(postal_codes) if c]
    if not codes:
        return {}
    return dict(session.execute(select(PostalCodeLocation.postal_code, PostalCodeLocation.place)
                                .where(PostalCodeLocation.postal_code.in_(codes))).all())


@dataclass
class PartnerPage:
    profile: PartnerProfile
    partner: Partner
    place: str | None
    services: list[Service]


def partner_page(session, partner_id: int) -> PartnerPage:
    """A findable partner's public page: profile and active services with packages.
    Anybody else is not found (unpublished, hidden, no active service, no such partner)."""
    if not is_findable(session, partner_id):
        raise NotFound("partner_not_found", _("No such partner in the directory."))
    profile = session.get(PartnerProfile, partner_id)
    services = session.scalars(select(Service).join(Category, Category.id == Service.category_id)
                               .where(Service.partner_id == partner_id, Service.active.is_(True),
                                      Category.active.is_(True))
                               .order_by(Service.id)).all()
    return PartnerPage(profile, profile.partner, _places(session, [profile.postal_code]).get(
        profile.postal_code), list(services))
