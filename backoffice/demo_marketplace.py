"""Demo data of the marketplace: bids of the published partners and a month of requests,
direct requests and charges, so that `make run` shows requests, receipts and the
partner invoices of the monthly run with something in them. Goes through the marketplace's
services (the same rules as real use); the caller commits."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from .models import (
    CategoryBid,
    DirectStatus,
    Partner,
    PartnerProfile,
    PostalCodeLocation,
    RequestStatus,
    Service,
)
from .services import marketplace

DESCRIPTIONS = [
    "Drei Steckdosen in der Küche setzen",
    "Bad neu fliesen, etwa 8 m²",
    "Website für meinen Laden",
    "Wohnzimmer streichen, zwei Wände",
    "Logo und Visitenkarten",
    "Heizung entlüften und prüfen",
]
NAMES = ["Karla Kunde", "Ben Becker", "Lea Lorenz", "Tom Thiel", "Ida Imhof", "Max Maurer"]


def seed_marketplace(
    session, *, partners: int = 60, requests: int = 40, now: datetime | None = None, seed: int = 3
) -> tuple[int, int]:
    """Bids for up to `partners` published partners and `requests` requests over the last
    six weeks (each sent to its best-ranked partner). Returns (bids, charges)."""
    rnd = random.Random(seed)
    now = now or datetime.now(UTC)
    offers = session.execute(
        select(Service.partner_id, Service.category_id)
        .join(PartnerProfile, PartnerProfile.partner_id == Service.partner_id)
        .where(Service.active.is_(True), PartnerProfile.published.is_(True))
        .order_by(Service.partner_id)
    ).all()
    if session.execute(select(CategoryBid.id).limit(1)).first() is not None:
        return 0, 0  # seeded before
    chosen = sorted({pid for pid, _ in offers})[:partners]
    bids = 0
    for partner_id, category_id in offers:
        if partner_id in chosen:
            marketplace.set_bid(session, partner_id, category_id, Decimal(rnd.randint(8, 30)))
            bids += 1
    places = {
        p.postal_code: p
        for p in session.execute(
            select(PostalCodeLocation).where(
                PostalCodeLocation.postal_code.in_(select(PartnerProfile.postal_code))
            )
        ).scalars()
    }
    categories = sorted({cid for pid, cid in offers if pid in chosen})
    charges = 0
    for n in range(requests if categories and places else 0):
        when = now - timedelta(days=rnd.randint(1, 42), hours=rnd.randint(0, 8))
        request = marketplace.submit_request(
            session,
            category_id=rnd.choice(categories),
            description=rnd.choice(DESCRIPTIONS),
            postal_code=rnd.choice(sorted(places)),
            name=rnd.choice(NAMES),
            email=f"demo.kunde{n}@example.org",
            phone="0341 555 01 23",
            confirm_url="",
            now=when,
        )
        request.status, request.confirmed_at = RequestStatus.open, when
        ranked = marketplace.rank(session, request, when)
        if not ranked:
            continue
        sent = marketplace.send_direct_request(session, request.id, ranked[0].partner_id, now=when)
        charges += 1
        if rnd.random() < 0.6:
            marketplace.move_direct_request(
                session,
                ranked[0].partner_id,
                sent.direct_request_id,
                DirectStatus.contacted,
                when + timedelta(hours=rnd.randint(1, 30)),
            )
    return bids, charges + _requests_for_the_demo_login(session, offers, now)


def _requests_for_the_demo_login(session, offers, now: datetime, login: str = "meier") -> int:
    """One charged direct request per category of the demo partner login, from its own postal
    code, so that this login finds requests, charges and receipts under My requests (the
    random requests above go to whoever ranks first)."""
    row = session.execute(
        select(Partner.id, PartnerProfile.postal_code)
        .join(User, User.id == Partner.user_id)
        .join(PartnerProfile, PartnerProfile.partner_id == Partner.id)
        .where(User.username == login)
    ).first()
    if row is None:
        return 0
    partner_id, postal_code = row
    charges = 0
    for n, category_id in enumerate(sorted({cid for pid, cid in offers if pid == partner_id})):
        when = now - timedelta(days=2 + 3 * n, hours=2)
        request = marketplace.submit_request(
            session, category_id=category_id, description=DESCRIPTIONS[n % len(DESCRIPTIONS)],
            postal_code=postal_code, name=NAMES[n % len(NAMES)], email=f"demo.anfrage{n}@example.org",
            phone="0341 555 01 24", confirm_url="", now=when)
        request.status, request.confirmed_at = RequestStatus.open, when
        if partner_id not in {r.partner_id for r in marketplace.rank(session, request, when)}:
            continue
        sent = marketplace.send_direct_request(session, request.id, partner_id, now=when)
        charges += 1
        if n == 0:
            marketplace.move_direct_request(session, partner_id, sent.direct_request_id,
                                            DirectStatus.contacted, when + timedelta(hours=3))
    return charges
