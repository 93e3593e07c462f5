"""Who can be found: the public partner directory and the one rule for "findable".

`findable_partners()` is the rule every area asks (directory, matching, jobs, messages): a
partner is findable when its profile is published and listed and it offers at least one
active service (in the asked category, if any). `for_work=True` also requires it to be
available for work and not away today.

The radius search is fast on SQLite and PostgreSQL alike without a geo extension: a bounding
box around the search point on an index of latitude and longitude (the category's services,
which carry a copy of their profile's place, or the profiles themselves) narrows the
candidates to some hundreds, and the exact great-circle distance (haversine) is computed for
those only, in Python (numpy, all candidates at once), where both databases give the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
from flask_babel import gettext as _
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased, selectinload

from ..errors import NotFound, RuleViolations
from ..models import Category, Partner, PartnerProfile, PostalCodeLocation, Service, ServicePackage
from .categories import subcategories, with_subcategories

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


def distances_km(lat: float, lon: float, lats, lons):
    """`haversine_km` from one point to many at once (numpy; a missing coordinate gives NaN,
    which no comparison passes): a search measures thousands of candidates."""
    to = np.radians(np.array(lats, dtype=float))
    dl = np.radians(np.array(lons, dtype=float)) - math.radians(lon)
    p1 = math.radians(lat)
    a = np.sin((to - p1) / 2) ** 2 + math.cos(p1) * np.cos(to) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """(min lat, max lat, min lon, max lon) of a box that contains the circle."""
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    dlon = math.degrees(radius_km / (EARTH_RADIUS_KM * max(math.cos(math.radians(lat)), 0.01)))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def _category(category_ids: list[int] | Select | None):
    if category_ids is None or (isinstance(category_ids, list) and not category_ids):
        return true()
    if isinstance(category_ids, Select):
        return Service.category_id.in_(category_ids)
    return Service.category_id.in_(category_ids) if len(category_ids) > 1 else \
        Service.category_id == category_ids[0]


def _offers(category_ids: list[int] | Select | None):
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


def by_ids(session, stmt: Select, column, ids) -> list:
    """The rows of `stmt` whose `column` is one of `ids`, as plain rows (the ORM's row handling
    cost more than the query). The ids travel as one value, not one bound value each
    (building a thousand of those cost more than the lookups): on PostgreSQL `= ANY(array)`,
    the array in its text form (psycopg's list adapter was slower still), on SQLite
    `IN (SELECT value FROM json_each(…))`."""
    if not ids:
        return []
    connection = session.connection()
    ordered = sorted(ids)
    if connection.dialect.name == "postgresql":
        array = cast(bindparam("ids", "{" + ",".join(map(str, ordered)) + "}", type_=String),
                     postgresql.ARRAY(Integer))
        return connection.execute(stmt.where(column == any_(array))).all()
    listed = func.json_each(bindparam("ids", "[" + ",".join(map(str, ordered)) + "]", type_=String))
    return connection.execute(stmt.where(column.in_(select(listed.table_valued("value").c.value)))).all()


@dataclass(frozen=True)
class Place:
    name: str
    latitude: float
    longitude: float


_POSTAL_CODES: dict[str, Place] = {}


def postal_codes(session) -> dict[str, Place]:
    """The postal-code table, read once per process: reference data shipped with the
    application and loaded by its migration, never changed at run time, and asked for by
    every search and every page of results."""
    if not _POSTAL_CODES:
        _POSTAL_CODES.update((code, Place(name, lat, lon)) for code, name, lat, lon in session.execute(
            select(PostalCodeLocation.postal_code, PostalCodeLocation.place, PostalCodeLocation.latitude,
                   PostalCodeLocation.longitude)))
    return _POSTAL_CODES


def _center(session, postal_code: str) -> Place:
    place = postal_codes(session).get(postal_code.strip())
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
    # The category and its active subcategories as a subquery: one round trip less.
    category_ids = subcategories(category_id) if category_id else None
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
    if category_ids is not None:
        # The candidates come from the services' copies of the place: the category's active
        # services inside the box (those outside the circle dropped here already), and its
        # Germany-wide ones, each an index-only scan of its own index, in one statement (on a
        # busy machine each round trip costs milliseconds of waiting). Their profiles are then
        # read by primary key in a second statement: as one statement with `IN (subquery)`
        # PostgreSQL misjudged the box's row count and, above a thousand or so candidates,
        # read all profiles and hashed them instead.
        offered = and_(_category(category_ids), Service.active.is_(True))
        near = select(Service.partner_id, Service.latitude, Service.longitude).where(offered, in_box(Service))
        wide = select(Service.partner_id, null(), null()).where(offered, Service.germany_wide.is_(True))
        services = session.connection().execute(union_all(near, wide)).all()
        distances = distances_km(center.latitude, center.longitude, [r[1] for r in services],
                                 [r[2] for r in services])
        candidates = {r[0] for r, distance in zip(services, distances.tolist(), strict=True)
                      if r[1] is None or distance <= radius}
        rows = by_ids(session, select(*columns).where(shown), PartnerProfile.partner_id, candidates)
    else:
        # Without a category, the profiles' own place index gives the box.
        found = {}
        for query in (select(*columns).where(condition, in_box(PartnerProfile)),
                      select(*columns).where(condition, PartnerProfile.germany_wide.is_(True))):
            found.update((row[0], row) for row in session.execute(query))
        rows = list(found.values())
    distances = distances_km(center.latitude, center.longitude, [r[1] for r in rows], [r[2] for r in rows])
    hits = []
    for (partner_id, lat, _lon, own_radius, germany_wide), distance in zip(rows, distances.tolist(),
                                                                          strict=True):
        distance = None if lat is None else distance
        if germany_wide or (distance is not None and distance <= radius and distance <= own_radius):
            hits.append(Hit(partner_id, distance))
    hits.sort(key=lambda h: (h.distance_km is None, h.distance_km or 0.0, h.partner_id))
    total = len(hits)
    start = (page - 1) * page_size
    return SearchResult(total, hits[start:start + page_size], page, max(1, -(-total // page_size)),
                        center.name)


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


def _profiles(session, ids: list[int], *columns) -> dict:
    """Id, display name, postal code, picture and `columns` of these partners' profiles."""
    return {row.partner_id: row for row in session.execute(
        select(PartnerProfile.partner_id, PartnerProfile.display_name, PartnerProfile.postal_code,
               _PICTURE, *columns)
        .join(Partner, Partner.id == PartnerProfile.partner_id)
        .where(PartnerProfile.partner_id.in_(ids)))}


def cards(session, hits: list[Hit], locale: str | None) -> list[Card]:
    """The list entries of one page of hits: one statement for the whole page (each profile
    with its active services and their categories' names, one row per service)."""
    ids = [h.partner_id for h in hits]
    if not ids:
        return []
    parent = aliased(Category)
    rows = session.connection().execute(
        select(PartnerProfile.partner_id, PartnerProfile.display_name, PartnerProfile.postal_code,
               PartnerProfile.germany_wide, _PICTURE, Service.id.label("service_id"), Service.price_from,
               Category.name_de, Category.name_en, parent.name_de.label("parent_de"),
               parent.name_en.label("parent_en"))
        .join(Partner, Partner.id == PartnerProfile.partner_id)
        .outerjoin(Service, and_(Service.partner_id == PartnerProfile.partner_id, Service.active.is_(True)))
        .outerjoin(Category, Category.id == Service.category_id)
        .outerjoin(parent, parent.id == Category.parent_id)
        .where(PartnerProfile.partner_id.in_(ids)).order_by(Service.id)).all()
    english = (locale or "").startswith("en")
    of_partner: dict[int, list] = {}
    for row in rows:
        of_partner.setdefault(row.partner_id, []).append(row)
    places = _places(session, [own[0].postal_code for own in of_partner.values()])
    result = []
    for hit in hits:
        own = of_partner[hit.partner_id]
        profile = own[0]
        services = [r for r in own if r.service_id is not None]
        names = [" › ".join(n for n in ((r.parent_en, r.name_en) if english else (r.parent_de, r.name_de))
                            if n) for r in services]
        prices = [r.price_from for r in services if r.price_from is not None]
        result.append(Card(hit.partner_id, profile.display_name, places.get(profile.postal_code),
                           profile.postal_code, profile.germany_wide, hit.distance_km, profile.picture,
                           list(dict.fromkeys(names)), min(prices) if prices else None))
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


def _places(session, codes) -> dict[str, str]:
    known = postal_codes(session)
    return {code: known[code].name for code in codes if code in known}


@dataclass
class PartnerPage:
    profile: PartnerProfile
    partner: Partner
    place: str | None
    services: list[Service]


def _shown_services(session, partner_ids: list[int]) -> list[Service]:
    """The active services (of active categories) of these partners, packages loaded."""
    return list(session.scalars(
        select(Service).join(Category, Category.id == Service.category_id)
        .where(Service.partner_id.in_(partner_ids), Service.active.is_(True), Category.active.is_(True))
        .options(selectinload(Service.packages)).order_by(Service.id)))


def partner_page(session, partner_id: int) -> PartnerPage:
    """A findable partner's public page: profile and active services with packages.
    Anybody else is not found (unpublished, hidden, no active service, no such partner)."""
    if not is_findable(session, partner_id):
        raise NotFound("partner_not_found", _("No such partner in the directory."))
    profile = session.get(PartnerProfile, partner_id)
    return PartnerPage(profile, profile.partner, _places(session, [profile.postal_code]).get(
        profile.postal_code), _shown_services(session, [partner_id]))


# What the REST API gives of findable partners: public data only, as plain values. ----------


@dataclass(frozen=True)
class PublicPackage:
    name: str
    description: str | None
    price: Decimal
    delivery_days: int


@dataclass(frozen=True)
class PublicService:
    id: int
    category_id: int
    category: str
    title: str
    description: str | None
    price_from: Decimal | None
    packages: list[PublicPackage]


@dataclass(frozen=True)
class PublicProfile:
    partner_id: int
    display_name: str
    profile_text: str | None
    picture: str | None
    postal_code: str | None
    place: str | None
    radius_km: int
    germany_wide: bool
    languages: list[str]
    distance_km: float | None
    services: list[PublicService]


def public_profiles(session, hits: list[Hit], locale: str | None) -> list[PublicProfile]:
    """Profiles with their shown services and packages for a page of hits (four queries)."""
    ids = [h.partner_id for h in hits]
    if not ids:
        return []
    rows = _profiles(session, ids, PartnerProfile.radius_km, PartnerProfile.germany_wide,
                     PartnerProfile.languages, Partner.profile_text)
    places = _places(session, [r.postal_code for r in rows.values()])
    services = _shown_services(session, ids)
    names = _category_names(session, {s.category_id for s in services}, locale)
    result = []
    for hit in hits:
        row = rows[hit.partner_id]
        result.append(PublicProfile(
            row.partner_id, row.display_name, row.profile_text, row.picture, row.postal_code,
            places.get(row.postal_code), row.radius_km, row.germany_wide,
            [code for code in (row.languages or "").split(",") if code], hit.distance_km,
            [PublicService(s.id, s.category_id, names[s.category_id], s.title, s.description,
                           s.price_from, [_public_package(p) for p in s.packages])
             for s in services if s.partner_id == hit.partner_id]))
    return result


def _public_package(package: ServicePackage) -> PublicPackage:
    return PublicPackage(package.name, package.description, package.price, package.delivery_days)


def public_profile(session, partner_id: int, locale: str | None) -> PublicProfile:
    """One findable partner's public profile; anybody else is not found."""
    if not is_findable(session, partner_id):
        raise NotFound("partner_not_found", _("No such partner in the directory."))
    return public_profiles(session, [Hit(partner_id, None)], locale)[0]
