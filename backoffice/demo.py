"""Realistic German demo data, bulk-inserted: 1,000,000 addresses in well under 2 minutes.

The tree grows by preferential attachment (a few big sponsors, many small ones) with a
share of "chain" placements under recently joined partners, which gives the depth a
real network has. Rows go in by raw `executemany` on SQLite and `COPY` on PostgreSQL:
the ORM would spend minutes on a million objects.
"""

from __future__ import annotations

import io
import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import func, insert, select, text

from downline import counters
from downline.placement import place
from downline.tree import ROOT_PATH
from imports.runs import again, execute, new_run, store_upload

from . import transaction
from .bulk import sqlite_value
from .errors import DomainError
from .models import (
    Address,
    AddressType,
    Article,
    Category,
    CustomerAccount,
    ImportRun,
    Partner,
    PartnerProfile,
    PostalCodeLocation,
    Service,
    ServicePackage,
    TeamMember,
    Voucher,
    VoucherKind,
)
from .services import orders as shop_orders
from .services.vouchers import add_code, create_partner_code, generate_codes

FIRST_NAMES = (
    "Anna Maria Laura Julia Lena Sarah Katharina Lisa Sophie Hannah Lea Johanna Emma Mia Clara "
    "Sabine Petra Monika Ursula Claudia Andrea Birgit Heike Stefanie Nicole Jana Marie Greta "
    "Thomas Michael Andreas Stefan Christian Markus Frank Jürgen Peter Klaus Uwe Jens Jan Lukas "
    "Leon Felix Paul Jonas Maximilian Tim Tobias Sebastian Florian Matthias Wolfgang Dieter Jörg "
    "Björn Sören Karl Heinz Günter Ömer Ayşe Zoë"
).split()
LAST_NAMES = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
    "Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann "
    "Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König "
    "Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel "
    "Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht "
    "Schuster Simon Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto "
    "Sommer Groß Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn"
).split()
STREETS = (
    "Hauptstraße Schulstraße Gartenstraße Bahnhofstraße Dorfstraße Bergstraße Birkenweg "
    "Lindenstraße Kirchstraße Waldstraße Ringstraße Schillerstraße Goethestraße Mühlenweg "
    "Friedhofstraße Wiesenweg Amselweg Rosenstraße Feldstraße Am Markt"
).split(" ")
CITIES = [
    ("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "München"), ("50667", "Köln"),
    ("60311", "Frankfurt am Main"), ("70173", "Stuttgart"), ("40213", "Düsseldorf"),
    ("44135", "Dortmund"), ("45127", "Essen"), ("04109", "Leipzig"), ("28195", "Bremen"),
    ("01067", "Dresden"), ("30159", "Hannover"), ("90402", "Nürnberg"), ("47051", "Duisburg"),
    ("44787", "Bochum"), ("42103", "Wuppertal"), ("33602", "Bielefeld"), ("53111", "Bonn"),
    ("48143", "Münster"), ("76133", "Karlsruhe"), ("68159", "Mannheim"), ("86150", "Augsburg"),
    ("65183", "Wiesbaden"), ("41061", "Mönchengladbach"), ("38100", "Braunschweig"),
    ("24103", "Kiel"), ("09111", "Chemnitz"), ("06108", "Halle (Saale)"), ("39104", "Magdeburg"),
    ("79098", "Freiburg im Breisgau"), ("23552", "Lübeck"), ("99084", "Erfurt"),
    ("18055", "Rostock"), ("55116", "Mainz"), ("34117", "Kassel"), ("93047", "Regensburg"),
    ("97070", "Würzburg"), ("49074", "Osnabrück"), ("72070", "Tübingen"),
]
SOURCES = ["shop"] * 5 + ["partner_subdomain"] * 3 + ["import", "api", "desk"]

ARTICLES = [
    ("A-1001", "Aloe Vera Gel 250 ml", "24.90", "19", True),
    ("A-1002", "Feuchtigkeitscreme Sensitive 50 ml", "19.50", "19", True),
    ("A-1003", "Duschgel Zitrone 200 ml", "6.90", "19", True),
    ("A-1004", "Zahncreme Propolis 100 ml", "5.40", "19", True),
    ("A-2001", "Bio-Kräutertee Abendruhe 20 Beutel", "4.95", "7", True),
    ("A-2002", "Vitamin D3 Kapseln 90 Stück", "14.90", "7", True),
    ("A-2003", "Omega-3 Kapseln 120 Stück", "22.50", "7", True),
    ("A-2004", "Proteinriegel Schoko 12er", "18.00", "7", True),
    ("A-3001", "Ratgeber \u201eGesund durchs Jahr\u201c", "12.00", "7", False),
    ("A-4001", "Geschenkgutschein 25 €", "25.00", "0", False),
    ("A-5001", "Starterpaket Partner", "99.00", "19", False),
    ("A-5002", "Duftkerze Lavendel", "9.90", "19", True),
]

DEMO_LOGINS = [
    # username, password, role, first, last, partner address id (1-based in the demo tree)
    ("admin", "admin", "Admin", "Ada", "Admin", None),
    ("staff", "staff", "Staff", "Sven", "Sachbearbeiter", None),
    ("finance", "finance", "Finance", "Frieda", "Finanz", None),
    ("meier", "meier", "Partner", "Maria", "Meier", 2),
    ("schulz", "schulz", "Partner", "Stefan", "Schulz", 3),
]

COLUMNS = [
    "id", "type", "salutation", "first_name", "last_name", "company", "email", "phone", "street",
    "postal_code", "city", "country", "language", "registration_source", "registered_at",
    "first_order_at", "sponsor_id", "consent_contact_by_sponsor", "consent_marketing",
    "external_key", "created_at", "updated_at",
    # The downline module's derived sizes (downline/tree.py), computed with the tree.
    "firstline_count", "downline_count",
]
# Each address's place in the tree (downline/tree.py), computed with the tree.
TREE_COLUMNS = ["address_id", "path", "depth", "type"]
PARTNER_COLUMNS = ["id", "address_id", "subdomain", "profile_text", "notification_email",
                   "time_zone", "available", "created_at", "updated_at"]


def _ascii(text: str) -> str:
    text = text.replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = text.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


@dataclass
class SeedResult:
    addresses: int
    partners: int
    max_depth: int
    largest_firstline: int


SPECIALS = {
    1: ("company", None, "Partnerdesk", "Vertriebs GmbH", "partner"),
    2: ("ms", 1, "Maria", "Meier", "partner"),
    3: ("mr", 2, "Stefan", "Schulz", "partner"),
}


@dataclass
class TreeShape:
    """Sponsor and kind of every id, and the derived tree columns the downline module keeps."""

    sponsor: list[int | None]
    kind: list[str]
    path: list[str]
    depth: list[int]
    firstline: list[int]
    downline: list[int]


def tree_shape(n: int, seed: int) -> TreeShape:
    """The tree first, so that path, depth and sizes go in with the rows (no rebuild pass)."""
    rnd = random.Random(seed)
    sponsor: list[int | None] = [None] * (n + 1)
    kind = [""] * (n + 1)
    pool: list[int] = []          # one entry per child gained: preferential attachment
    recent: list[int] = []        # recently joined partners: chains give the tree depth
    for i in range(1, n + 1):
        if i in SPECIALS:
            s, k = SPECIALS[i][1], SPECIALS[i][4]
        else:
            if recent and rnd.random() < 0.18:
                s = recent[-1 - int(rnd.random() * min(len(recent), 8))]
            else:
                s = pool[int(rnd.random() * len(pool))]
            t = rnd.random()
            k = "partner" if t < 0.2 else ("customer" if t < 0.65 else "new_customer")
        sponsor[i], kind[i] = s, k
        if s:
            pool.append(s)
        if k == "partner":
            pool.append(i)
            recent.append(i)
            if len(recent) > 64:
                del recent[:32]
    # The tree columns as an import computes them (`downline.placement`): row i-1 is id i.
    ids = np.arange(1, n + 1, dtype=np.int64)
    parent_row = np.array([(s or 0) - 1 for s in sponsor[1:]], dtype=np.int64)
    placement = place(ids, parent_row, np.zeros(n, dtype=np.int64), {})
    path = [ROOT_PATH, *placement.path.tolist()]
    depth = [0, *placement.depth.tolist()]
    firstline = [0, *placement.firstline.tolist()]
    downline = [0, *placement.downline.tolist()]
    return TreeShape(sponsor, kind, path, depth, firstline, downline)


def generate(n: int, seed: int = 20261122, now: datetime | None = None):
    """Yield (address_row, tree_row, partner_row_or_None) in id order: sponsors come first."""
    tree = tree_shape(n, seed)
    rnd = random.Random(seed + 1)
    now = now or datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=3 * 365)
    for i in range(1, n + 1):
        sponsor, kind = tree.sponsor[i], tree.kind[i]
        if i in SPECIALS:
            salutation, _, first, last, _ = SPECIALS[i]
        else:
            salutation = "ms" if rnd.random() < 0.55 else "mr"
            first = FIRST_NAMES[int(rnd.random() * len(FIRST_NAMES))]
            last = LAST_NAMES[int(rnd.random() * len(LAST_NAMES))]
        registered = start + timedelta(seconds=int((now - start).total_seconds() * i / (n + 1)))
        first_order = (registered + timedelta(days=int(rnd.random() * 40), hours=3)
                       if kind != "new_customer" else None)
        if first_order is not None and first_order >= now:  # never a first order in the future
            first_order = registered + (now - registered) / 2
        postal_code, city = CITIES[int(rnd.random() * len(CITIES))]
        company = last if i == 1 else (f"{last} Naturkosmetik" if kind == "partner"
                                       and rnd.random() < 0.1 else None)
        email = f"{_ascii(first)}.{_ascii(last)}.{i}@example.de".replace(" ", "")
        address = (
            i, kind, salutation, None if i == 1 else first, last if i != 1 else "Vertriebs GmbH",
            company, email, f"+49 {150 + i % 30} {1000000 + (i * 7919) % 8999999}",
            f"{STREETS[i % len(STREETS)]} {1 + i % 120}", postal_code, city, "DE",
            "de" if rnd.random() < 0.93 else "en", SOURCES[int(rnd.random() * len(SOURCES))],
            registered, first_order, sponsor, rnd.random() < 0.6, rnd.random() < 0.4,
            f"DEMO-{i:07d}", now, now,
            tree.firstline[i], tree.downline[i],
        )
        partner = None
        if kind == "partner":
            partner = (i, i, f"{_ascii(last)}{i}" if i > 3 else _ascii(last), None,
                       email, "Europe/Berlin", True, now, now)
        yield address, (i, tree.path[i], tree.depth[i], kind), partner


def _chunks(iterable, size):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def bulk_insert(session, n: int, progress=None, chunk_size: int = 20_000) -> SeedResult:
    """Insert the demo tree into an empty address table (the caller commits)."""
    if session.execute(select(func.count()).select_from(Address)).scalar():
        raise RuntimeError("The address table is not empty; seed into a fresh database.")
    conn = session.connection()
    dialect = conn.dialect.name
    raw = conn.connection.driver_connection
    cur = raw.cursor()
    stats = {"partners": 0, "depth": 0}
    firstline: dict[int, int] = {}

    def rows():
        for address, tree, partner in generate(n):
            stats["depth"] = max(stats["depth"], tree[2])
            if address[16]:
                firstline[address[16]] = firstline.get(address[16], 0) + 1
            yield address, tree, partner

    a_cols, t_cols, p_cols = ", ".join(COLUMNS), ", ".join(TREE_COLUMNS), ", ".join(PARTNER_COLUMNS)
    if dialect == "postgresql":
        with cur.copy(f"COPY address ({a_cols}) FROM STDIN") as a_copy:
            partners, trees = [], []
            for address, tree, partner in rows():
                a_copy.write_row(address)
                trees.append(tree)
                if partner:
                    partners.append(partner)
                if progress:
                    progress(1)
        with cur.copy(f"COPY address_tree ({t_cols}) FROM STDIN") as t_copy:
            for tree in trees:
                t_copy.write_row(tree)
        with cur.copy(f"COPY partner ({p_cols}) FROM STDIN") as p_copy:
            for partner in partners:
                p_copy.write_row(partner)
        stats["partners"] = len(partners)
        cur.execute("SELECT setval(pg_get_serial_sequence('address', 'id'), %s)", (n,))
        cur.execute("SELECT setval(pg_get_serial_sequence('partner', 'id'), "
                    "(SELECT COALESCE(MAX(id), 1) FROM partner))")
    else:
        a_sql = f"INSERT INTO address ({a_cols}) VALUES ({', '.join('?' * len(COLUMNS))})"
        t_sql = f"INSERT INTO address_tree ({t_cols}) VALUES ({', '.join('?' * len(TREE_COLUMNS))})"
        p_sql = f"INSERT INTO partner ({p_cols}) VALUES ({', '.join('?' * len(PARTNER_COLUMNS))})"
        for chunk in _chunks(rows(), chunk_size):
            cur.executemany(a_sql, [tuple(map(sqlite_value, a)) for a, _, _ in chunk])
            cur.executemany(t_sql, [t for _, t, _ in chunk])
            partners = [tuple(map(sqlite_value, p)) for _, _, p in chunk if p]
            cur.executemany(p_sql, partners)
            stats["partners"] += len(partners)
            if progress:
                progress(len(chunk))
    counters.recount(conn)
    return SeedResult(n, stats["partners"], stats["depth"], max(firstline.values(), default=0))


def seed_articles(session) -> int:
    existing = set(session.execute(select(Article.article_no)).scalars())
    added = 0
    for no, name, price, vat, discountable in ARTICLES:
        if no not in existing:
            session.add(Article(article_no=no, name=name, gross_price=Decimal(price),
                                vat_rate=Decimal(vat), discountable_by_absolute_vouchers=discountable))
            added += 1
    return added


def seed_vouchers_and_orders(session, now: datetime | None = None, orders: int = 40) -> int:
    """Vouchers of each kind, partner codes, printed single codes, orders of new customers
    with redemptions and invoices, one cancellation: every voucher page has something in
    it. Orders are placed after each customer registered and before `now`, each in its own
    unit of work as the shop API places them. Returns the number of orders placed."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    if session.execute(select(func.count()).select_from(Voucher)).scalar():
        return 0
    permanent = Voucher(name="5 € für Neukunden", kind=VoucherKind.permanent, amount=Decimal("5.00"),
                        new_customers_only=True, min_order_value=Decimal("20.00"),
                        released_for_partner_codes=True)
    printed = Voucher(name="10 € Messegutschein", kind=VoucherKind.single, amount=Decimal("10.00"),
                      valid_until=(now + timedelta(days=180)).date())
    loyalty = Voucher(name="3 € Treuegutschein", kind=VoucherKind.permanent, amount=Decimal("3.00"),
                      max_total=500)
    session.add_all([permanent, printed, loyalty])
    session.flush()
    partners = {p.address_id: p for p in session.execute(
        select(Partner).where(Partner.address_id.in_([2, 3]))).scalars()}
    codes = []
    for address_id, code in ((2, "vonmeier"), (3, "schulzspart")):
        if address_id in partners:
            codes.append(create_partner_code(session, partners[address_id], permanent.id, code).code)
    generate_codes(session, printed, "MESSE-####", 25, batch="Messe 2026")
    add_code(session, loyalty, "TREUE3")
    transaction.keep(session)
    customers = session.execute(
        select(Address.id, Address.registered_at).where(
            Address.type == AddressType.new_customer, Address.id > 3,
            Address.registered_at < now - timedelta(days=3))
        .order_by(Address.registered_at.desc()).limit(orders)).all()
    placed = []
    for n, (customer_id, registered) in enumerate(customers):
        at = min(registered + timedelta(days=1 + n % 5, hours=2), now - timedelta(hours=1))
        code = codes[n % len(codes)] if codes and n % 3 != 2 else ("TREUE3" if n % 3 == 2 else None)
        lines = [{"article_no": ARTICLES[n % len(ARTICLES)][0], "quantity": 1 + n % 2},
                 {"article_no": ARTICLES[(n + 3) % len(ARTICLES)][0], "quantity": 1}]
        external_id = f"DEMO-{n + 1:05d}"
        try:
            result = transaction.run(
                lambda s, c=customer_id, lines=lines, code=code, at=at, e=external_id:
                shop_orders.place_order(s, e, c, lines, code, now=at),
                session=session, on_conflict=shop_orders.on_order_conflict(external_id))
            placed.append(result.order_id)
        except DomainError:  # a voucher condition said no: this customer orders nothing
            continue
    if placed:
        transaction.run(lambda s: shop_orders.cancel_order(s, placed[0], now=now - timedelta(minutes=30)),
                        session=session, on_conflict=shop_orders.on_cancel_conflict(placed[0]))
    return len(placed)


def seed_logins(session, security_manager) -> list[tuple[str, str, str]]:
    """Create the demo logins (idempotent) and link the partner logins to their partners."""
    created = []
    for username, password, role_name, first, last, address_id in DEMO_LOGINS:
        user = security_manager.find_user(username=username)
        if user is None:
            role = security_manager.find_role(role_name)
            user = security_manager.add_user(username, first, last, f"{username}@partnerdesk.test",
                                              role, password)
            if not user:
                raise RuntimeError(f"could not create demo login {username}")
        if address_id is not None:
            partner = session.execute(
                select(Partner).where(Partner.address_id == address_id)).scalar_one()
            partner.user_id = user.id
        created.append((username, password, role_name))
    created.extend(seed_teams_and_customers(session, security_manager))
    return created


# A member of meier's team: sees meier's partner area, not its payment profile or team.
DEMO_TEAM = [("kollegin", "kollegin", "Klara", "Kollegin", "meier")]
# Customer accounts of the portal (`/c/`): the first customers with an e-mail address; they sign
# in by link, which the Desk's Outbox shows when no SMTP server is configured.
DEMO_CUSTOMER_ACCOUNTS = 5
DEMO_STORES = [("Kräuterladen am Markt", "https://kraeuterladen.example"), ("Hofcafé Linde", None)]


def seed_teams_and_customers(session, security_manager) -> list[tuple[str, str, str]]:
    """Team members of the demo partners and customer accounts for the portal (idempotent)."""
    created = []
    for username, password, first, last, owner in DEMO_TEAM:
        user = security_manager.find_user(username=username)
        if user is None:
            user = security_manager.add_user(username, first, last, f"{username}@partnerdesk.test",
                                             security_manager.find_role("Partner"), password)
        owner_user = security_manager.find_user(username=owner)
        partner = (session.scalar(select(Partner).where(Partner.user_id == owner_user.id))
                   if owner_user else None)
        joined = session.scalar(select(TeamMember).where(TeamMember.user_id == user.id))
        if partner is not None and joined is None:
            session.add(TeamMember(partner_id=partner.id, user_id=user.id))
        created.append((username, password, "Partner"))
    has_accounts = session.scalar(select(func.count()).select_from(CustomerAccount)) > 0
    customers = [] if has_accounts else session.scalars(
        select(Address).where(Address.type.in_([AddressType.customer, AddressType.new_customer]),
                              Address.email.is_not(None))
        .order_by(Address.id).limit(DEMO_CUSTOMER_ACCOUNTS)).all()
    for number, address in enumerate(customers):
        store = DEMO_STORES[number] if number < len(DEMO_STORES) else (None, None)
        session.add(CustomerAccount(address_id=address.id, store_name=store[0], store_url=store[1]))
    return created


# The public directory: categories, published profiles, services and packages ------------------

DEMO_CATEGORIES = [
    ("Handwerk", "Crafts", [("Elektro", "Electrical"), ("Sanitär & Heizung", "Plumbing & heating"),
                            ("Malerarbeiten", "Painting"), ("Tischlerei", "Carpentry")]),
    ("Onlineshop", "Online shop", [("Shop einrichten", "Shop setup"),
                                   ("Design & Theme", "Design & theme"), ("Produktfotos", "Product photos"),
                                   ("Suchmaschinen (SEO)", "Search engines (SEO)")]),
    ("Beratung", "Consulting", [("Steuern", "Taxes"), ("Recht", "Law"), ("Marketing", "Marketing"),
                                ("Logistik", "Logistics")]),
    ("Gesundheit & Kosmetik", "Health & beauty", [("Kosmetikberatung", "Beauty consulting"),
                                                  ("Ernährung", "Nutrition"), ("Fitness", "Fitness")]),
]
SERVICE_WORDS = ("Komplettpaket", "Schnellstart", "Beratung vor Ort", "Online-Termin",
                 "Festpreis-Angebot", "Rundum-sorglos", "Express-Service", "Individuelle Lösung")
DISPLAY_SUFFIXES = ("Service", "Team", "Werkstatt", "Agentur", "Studio")
PACKAGE_NAMES = (("Basis", 1, 3), ("Standard", 2, 7), ("Premium", 4, 14))


def seed_categories(session) -> list[int]:
    """The demo's two-level category list; returns the subcategories' ids. Does not commit."""
    subcategories = []
    for position, (name_de, name_en, children) in enumerate(DEMO_CATEGORIES):
        top = Category(name_de=name_de, name_en=name_en, active=True, position=position)
        session.add(top)
        session.flush()
        for child_position, (child_de, child_en) in enumerate(children):
            child = Category(name_de=child_de, name_en=child_en, parent_id=top.id, active=True,
                             position=child_position)
            session.add(child)
            session.flush()
            subcategories.append(child.id)
    return subcategories


def seed_directory(session, partner_ids, category_ids, *, services_per_partner: int = 3,
                   packages_per_service: int = 3, germany_wide_share: float = 0.02,
                   seed: int = 20261204, chunk_size: int = 20_000) -> tuple[int, int]:
    """Published profiles for the given partners, each with services in distinct categories and
    packages, in postal codes drawn from the postal-code table. Bulk inserts (Core, chunked):
    the benchmark loads 100,000 partners with it. Does not commit. Returns (profiles, services)."""
    rng = random.Random(seed)
    places = session.execute(select(PostalCodeLocation.postal_code, PostalCodeLocation.latitude,
                                    PostalCodeLocation.longitude)).all()
    names = dict(session.execute(select(Partner.id, Address.last_name)
                                 .join(Address, Address.id == Partner.address_id)).all())
    now = datetime.now(UTC)
    next_service = (session.scalar(select(func.max(Service.id))) or 0) + 1
    profiles = services = 0
    for chunk in _chunks(partner_ids, chunk_size):
        profile_rows, service_rows, package_rows = [], [], []
        for partner_id in chunk:
            code, lat, lon = rng.choice(places)
            name = names.get(partner_id, f"Partner {partner_id}")
            germany_wide = rng.random() < germany_wide_share
            profile_rows.append({
                "partner_id": partner_id, "display_name": f"{name} {rng.choice(DISPLAY_SUFFIXES)}",
                "postal_code": code, "latitude": lat, "longitude": lon,
                "radius_km": rng.choice((25, 50, 100, 200)),
                "germany_wide": germany_wide,
                "languages": rng.choice(("de", "de,en", "de,en,tr")), "published": True,
                "published_at": now, "unpublished_reason": None, "away_until": None,
                "listed": True, "dropshipping": rng.random() < 0.2, "created_at": now, "updated_at": now})
            for category_id in rng.sample(category_ids, min(services_per_partner, len(category_ids))):
                price = Decimal(rng.randrange(19, 400)) + Decimal("0.90")
                service_rows.append({
                    "id": next_service, "partner_id": partner_id, "category_id": category_id,
                    "title": rng.choice(SERVICE_WORDS),
                    "description": "Sorgfältig, pünktlich, mit Rechnung.",
                    "price_from": price, "active": True, "latitude": lat, "longitude": lon,
                    "germany_wide": germany_wide, "created_at": now, "updated_at": now})
                for position, (package, factor, days) in enumerate(PACKAGE_NAMES[:packages_per_service]):
                    package_rows.append({"service_id": next_service, "position": position,
                                         "name": package, "description": None, "price": price * factor,
                                         "delivery_days": days})
                next_service += 1
        session.execute(insert(PartnerProfile.__table__), profile_rows)
        session.execute(insert(Service.__table__), service_rows)
        if package_rows:
            session.execute(insert(ServicePackage.__table__), package_rows)
        profiles += len(profile_rows)
        services += len(service_rows)
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SELECT setval(pg_get_serial_sequence('service', 'id'), "
                             "(SELECT COALESCE(MAX(id), 1) FROM service))"))
    return profiles, services


def seed_public_profiles(session, limit: int = 300) -> tuple[int, int]:
    """The demo's directory: categories and the first `limit` partners (the demo partner logins
    among them) published with services and packages. Does not commit."""
    category_ids = seed_categories(session)
    partner_ids = session.scalars(select(Partner.id).order_by(Partner.id).limit(limit)).all()
    return seed_directory(session, list(partner_ids), category_ids)


DEMO_IMPORT_HEADER = "Kundennummer;Anrede;Vorname;Nachname;E-Mail;PLZ;Ort;Adressart;Registriert am;Sponsor-ID"
DEMO_IMPORT_ROWS = (("IMP-1", "Frau", "Hanna", "Import", "10115", "Berlin", "Neukunde"),
                    ("IMP-2", "Herr", "Jonas", "Liste", "20095", "Hamburg", "Neukunde"),
                    ("IMP-3", "Frau", "Karla", "Tabelle", "80331", "München", "Kunde"))


def seed_imports(session, now: datetime | None = None) -> int:
    """The import history with something in it: a file of new addresses checked and imported
    under a partner, and a file whose check found a wrong date (nothing imported). Returns the
    number of logged runs (none when the history has runs already or there is no partner)."""
    now = now or datetime.now(UTC)
    sponsor = session.scalar(select(Partner.address_id).order_by(Partner.id).limit(1))
    if sponsor is None or session.scalar(select(ImportRun.id).limit(1)) is not None:
        return 0
    day = (now - timedelta(days=3)).strftime("%d.%m.%Y")
    lines = [DEMO_IMPORT_HEADER] + [
        ";".join((key, salutation, first, last, f"{first.lower()}.{last.lower()}@example.org", code, city,
                  kind, day, str(sponsor)))
        for key, salutation, first, last, code, city, kind in DEMO_IMPORT_ROWS]
    wrong = [DEMO_IMPORT_HEADER,
             f"IMP-9;Herr;Olaf;Falsch;olaf.falsch@example.org;50667;Köln;Neukunde;31.02.2025;{sponsor}"]
    runs = 0
    for name, content, import_it in (("neue-adressen.csv", lines, True),
                                     ("adressen-mit-fehler.csv", wrong, False)):
        path, _size = store_upload(io.BytesIO(("\r\n".join(content) + "\r\n").encode("utf-8")), name)
        checked = new_run(session, "addresses", path, name, dry_run=True, source="desk", actor="demo")
        execute(session, checked.id)
        runs += 1
        if import_it:
            execute(session, again(session, checked, dry_run=False, user_id=None, actor="demo").id)
            runs += 1
    return runs
