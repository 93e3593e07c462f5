"""Benchmark service orders: "may this customer order now?", accepting offers, and a race.

    python -m benchmarks.orders_offers --services 100000 \
        --database postgresql://postgres@127.0.0.1:5432/pd_bench_orders

The database is WIPED, migrated and filled: the demo address tree (its partners and
customers), `--services` services with two packages each spread over the partners, request
to order switched on for four services in five (first package, one or two windows, one in
three wrapping midnight, audience new or all customers, partners in four time zones), and
`--orders` past service orders (which make existing customers). Prints one JSON object per
metric:

* `may_order_now_p95`: `service_orders.may_order_now` for a random customer, package and
  moment of the week, p95 over `--repeat` calls (target 5 ms); `baseline` is the same three
  lookups as hand-written SQL through the driver, call by call in the same run; `p50` and
  `cpu_p95` (this thread's CPU time, without waiting for a core) beside it.
* `accept_offer_per_second`: `accept_offer` in its unit of work (guarded UPDATE, order,
  event, the partner's mail into the outbox), one after the other; `baseline` is a raw SQL
  transaction with the same writes (lock, UPDATE, order, event, the mail's recipient and
  customer name read and its outbox row written with a fixed text), alternating offer by
  offer with the service;
  `ratio` = service / raw (target >= 0.25); `cpu_ratio` the same from this thread's CPU
  time (on SQLite with the database's work, on PostgreSQL the client's only). Timed after a
  warm-up of one accept each way per language of the partners (de, en): what a process does
  once — compile the statements and the mail's templates, load the locale data, submit the
  mail sender's task — is no part of a rate; the service's first, cold, accept is reported
  as `first_accept_ms` (the raw one's as `baseline_first_ms`).
* `accept_race_orders`: 20 threads accept one offer at once; the orders it made (target 1).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from benchmarks.seed import _fresh_postgres, _fresh_sqlite, _sqlalchemy_url

TARGET_MAY_ORDER_MS = 5.0
TARGET_ACCEPT_RATIO = 0.25
RACERS = 20
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo"]


def _emit(metric, value, unit, backend, services, **extra):
    line = {
        "metric": metric,
        "value": round(value, 3) if isinstance(value, float) else value,
        "unit": unit,
        "backend": backend,
        "services": services,
    }
    line.update(extra)
    line["load"] = round(os.getloadavg()[0], 2)
    print(json.dumps(line), flush=True)


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def _insert(conn, table: str, rows: list[dict]) -> None:
    from flask_appbuilder import Model

    statement = sa.insert(Model.metadata.tables[table])
    for start in range(0, len(rows), 20_000):
        conn.execute(statement, rows[start : start + 20_000])


def generate(session, services_wanted: int, orders: int, seed: int = 5) -> dict:
    from backoffice.demo import bulk_insert

    rnd = random.Random(seed)
    partners_wanted = max(10, services_wanted // 50)
    bulk_insert(session, max(100, partners_wanted * 5))
    conn = session.connection()
    partner_ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM partner ORDER BY id"))]
    customers = [
        r[0]
        for r in conn.execute(
            sa.text("SELECT id FROM address WHERE type IN ('customer', 'new_customer') ORDER BY id")
        )
    ]
    for index, zone in enumerate(ZONES):
        conn.execute(sa.text("UPDATE partner SET time_zone = :z WHERE id % 4 = :i"), {"z": zone, "i": index})
    _insert(
        conn,
        "category",
        [
            {
                "id": 1,
                "parent_id": None,
                "name_de": "Design",
                "name_en": "Design",
                "active": True,
                "position": 1,
                "min_bid": Decimal("5.00"),
                "created_at": NOW,
                "updated_at": NOW,
            }
        ],
    )
    services, packages, settings, windows, scoped = [], [], [], [], []
    owner = {}
    for sid in range(1, services_wanted + 1):
        pid = partner_ids[sid % len(partner_ids)]
        owner[sid] = pid
        services.append(
            {
                "id": sid,
                "partner_id": pid,
                "category_id": 1,
                "title": f"Leistung {sid}",
                "active": True,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        for position in (1, 2):
            packages.append(
                {
                    "id": sid * 2 - 2 + position,
                    "service_id": sid,
                    "position": position,
                    "name": f"Paket {position}",
                    "price": Decimal("49.00") * position,
                    "delivery_days": 3 * position,
                }
            )
        if rnd.random() < 0.8:
            settings.append(
                {
                    "service_id": sid,
                    "enabled": True,
                    "weekdays": rnd.choice([127, 31, 96]),
                    "audience": rnd.choice(["new_customers", "all_customers"]),
                    "updated_at": NOW,
                }
            )
            if rnd.random() < 1 / 3:
                windows.append({"service_id": sid, "start_minute": 1320, "end_minute": 360})
            else:
                windows += [
                    {"service_id": sid, "start_minute": 0, "end_minute": 360},
                    {"service_id": sid, "start_minute": 1260, "end_minute": 1440},
                ]
            scoped.append({"package_id": sid * 2 - 1, "service_id": sid})
    _insert(conn, "service", services)
    _insert(conn, "service_package", packages)
    _insert(conn, "request_to_order", settings)
    _insert(conn, "request_window", windows)
    _insert(conn, "request_package", scoped)
    past = []
    for n in range(1, orders + 1):
        sid = rnd.randint(1, services_wanted)
        past.append(
            {
                "id": n,
                "partner_id": owner[sid],
                "customer_id": rnd.choice(customers),
                "service_id": sid,
                "package_id": sid * 2 - 1,
                "title": "Früher",
                "scope": "Früher",
                "gross": Decimal("49.00"),
                "vat_rate": Decimal("19.00"),
                "net": Decimal("41.18"),
                "vat": Decimal("7.82"),
                "delivery_days": 3,
                "status": rnd.choice(["completed", "cancelled", "in_progress"]),
                "created_at": NOW - timedelta(days=rnd.randint(1, 300)),
            }
        )
    _insert(conn, "service_order", past)
    if conn.dialect.name == "postgresql":
        for table in ("category", "service", "service_package", "service_order"):
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
            )
    return {"partners": len(partner_ids), "customers": customers, "owner": owner, "packages": len(packages)}


def offers_for(session, pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """An open offer in a conversation per (partner, customer): (offer id, customer id)."""
    from backoffice.models import Conversation, Offer, OfferState, Party

    made = []
    for partner_id, customer_id in pairs:
        conversation = Conversation(
            partner_id=partner_id,
            customer_id=customer_id,
            requirements="Logo",
            created_at=NOW,
            last_message_at=NOW,
            last_message_by=Party.customer,
        )
        session.add(conversation)
        session.flush()
        offer = Offer(
            partner_id=partner_id,
            customer_id=customer_id,
            conversation_id=conversation.id,
            scope="Logo",
            price=Decimal("150.00"),
            delivery_days=5,
            expires_at=NOW + timedelta(days=3),
            state=OfferState.open,
            created_at=NOW,
        )
        session.add(offer)
        session.flush()
        made.append((offer.id, customer_id))
    return made


RAW_SETTING = """
SELECT r.audience, r.weekdays, r.service_id, s.partner_id, p.time_zone
FROM request_package rp JOIN request_to_order r ON r.service_id = rp.service_id
JOIN service s ON s.id = r.service_id JOIN partner p ON p.id = s.partner_id
WHERE rp.package_id = {m} AND r.enabled
"""
RAW_WINDOWS = "SELECT start_minute, end_minute FROM request_window WHERE service_id = {m}"
RAW_EXISTING = (
    "SELECT 1 FROM service_order WHERE partner_id = {m} AND customer_id = {m} "
    "AND status <> 'cancelled' LIMIT 1"
)


def run(services: int, orders: int, repeat: int, accepts: int, database: str | None) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from backoffice import transaction
    from backoffice.audit import acting_as
    from backoffice.extensions import db
    from backoffice.models import ServiceOrder
    from backoffice.services import order_windows
    from backoffice.services import service_orders as so

    tmpdir = tempfile.TemporaryDirectory(prefix="pd-bench-orders-")
    url = _sqlalchemy_url(database or f"sqlite:///{Path(tmpdir.name) / 'orders.db'}")
    backend = "postgresql" if url.get_backend_name() == "postgresql" else "sqlite"
    (_fresh_postgres if backend == "postgresql" else _fresh_sqlite)(url)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False), "MAIL_SERVER": ""}
    )
    with app.app_context(), app.test_request_context(), acting_as("benchmark"):
        upgrade(revision="heads")
        started = time.perf_counter()
        with transaction.unit_of_work() as session:
            shop = generate(session, services, orders)
        print(
            f"benchmarks.orders_offers: {services} services, {shop['packages']} packages, "
            f"{orders} past orders "
            f"on {backend} in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Statistics for the planner, and the seed's write-ahead log folded in before timing.
            conn.execute(sa.text("VACUUM ANALYZE" if backend == "postgresql" else "ANALYZE"))
            if backend == "sqlite":
                conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        rnd = random.Random(3)
        customers = shop["customers"]
        calls = [
            (
                rnd.choice(customers),
                rnd.randint(1, shop["packages"]),
                NOW + timedelta(minutes=rnd.randint(0, 7 * 1440)),
            )
            for _ in range(repeat)
        ]
        service_ms, service_cpu_ms, raw_ms, requests_needed = [], [], [], 0
        mark = "%s" if backend == "postgresql" else "?"
        raw_conn = db.engine.raw_connection()

        def raw_check(customer_id, package_id, moment):
            cursor = raw_conn.cursor()
            cursor.execute(RAW_SETTING.format(m=mark), (package_id,))
            row = cursor.fetchone()
            if row is not None:
                cursor.execute(RAW_WINDOWS.format(m=mark), (row[2],))
                active = order_windows.active_in_zone(row[1], cursor.fetchall(), row[4], moment)
                if active and row[0] == "new_customers":
                    cursor.execute(RAW_EXISTING.format(m=mark), (row[3], customer_id))
                    cursor.fetchone()
            cursor.close()
            raw_conn.rollback()

        for customer_id, package_id, moment in calls[:20]:  # warm-up: statement caches, zone files
            so.may_order_now(db.session, customer_id, package_id, moment)
            db.session.rollback()
            raw_check(customer_id, package_id, moment)
        # Service and raw SQL call by call, so both meet the same moments of the machine's load.
        for customer_id, package_id, moment in calls:
            t0, c0 = time.perf_counter(), time.thread_time()
            direct = so.may_order_now(db.session, customer_id, package_id, moment)
            service_ms.append((time.perf_counter() - t0) * 1000)
            service_cpu_ms.append((time.thread_time() - c0) * 1000)
            requests_needed += not direct
            db.session.rollback()
            t0 = time.perf_counter()
            raw_check(customer_id, package_id, moment)
            raw_ms.append((time.perf_counter() - t0) * 1000)
        raw_conn.close()
        p95, base = _p95(service_ms), _p95(raw_ms)
        _emit(
            "may_order_now_p95",
            p95,
            "ms",
            backend,
            services,
            target=TARGET_MAY_ORDER_MS,
            met=p95 <= TARGET_MAY_ORDER_MS,
            baseline=round(base, 3),
            ratio=round(p95 / base, 2) if base else None,
            calls=repeat,
            requests_needed=requests_needed,
            p50=round(sorted(service_ms)[len(service_ms) // 2], 3),
            baseline_p50=round(sorted(raw_ms)[len(raw_ms) // 2], 3),
            # CPU time of this thread: without the waits for a core (and, on PostgreSQL, the server's work).
            cpu_p95=round(_p95(service_cpu_ms), 3),
        )

        owner = shop["owner"]
        pairs = [(owner[rnd.randint(1, services)], rnd.choice(customers)) for _ in range(accepts + 1)]
        # Warm-up pairs: per language of the partners' mails, one offer for each way.
        speakers = [
            db.session.scalar(
                sa.text(
                    "SELECT p.id FROM partner p JOIN address a ON a.id = p.address_id "
                    "WHERE a.language = :language ORDER BY p.id LIMIT 1"
                ),
                {"language": language},
            )
            for language in ("de", "en")
        ]
        db.session.rollback()
        warm = [(partner, rnd.choice(customers)) for partner in speakers if partner for _way in (1, 2)]
        with transaction.unit_of_work() as session:
            offers = offers_for(session, warm + pairs)
        warm_offers, offers = offers[: len(warm)], offers[len(warm) :]
        race_offer = offers.pop()
        half = len(offers) // 2
        raw_conn = db.engine.raw_connection()
        stamp = NOW if backend == "postgresql" else NOW.replace(tzinfo=None).isoformat(" ")
        lock = " FOR UPDATE" if backend == "postgresql" else ""

        def money(value):
            return Decimal(value) if backend == "postgresql" else str(value)

        def raw_accept(offer_id, customer_id):
            cursor = raw_conn.cursor()
            cursor.execute(
                f"SELECT partner_id, price, delivery_days, scope FROM offer WHERE id = {mark} "
                f"AND customer_id = {mark}{lock}",
                (offer_id, customer_id),
            )
            partner_id, price, days, scope = cursor.fetchone()
            cursor.execute(
                f"UPDATE offer SET state = 'accepted', decided_at = {mark} WHERE id = {mark} "
                f"AND state = 'open'",
                (stamp, offer_id),
            )
            cursor.execute(
                "INSERT INTO service_order (partner_id, customer_id, offer_id, title, scope, gross, "
                "vat_rate, net, vat, delivery_days, status, created_at) "
                f"VALUES ({mark}, {mark}, {mark}, 'Individuell', {mark}, "
                f"{mark}, 19, {mark}, {mark}, {mark}, 'ordered', {mark}) RETURNING id",
                (
                    partner_id,
                    customer_id,
                    offer_id,
                    scope,
                    money(price),
                    money("126.05"),
                    money("23.95"),
                    days,
                    stamp,
                ),
            )
            order_id = cursor.fetchone()[0]
            cursor.execute(
                f"INSERT INTO service_order_event (order_id, to_status, by, at) VALUES ({mark}, "
                f"'ordered', 'customer', {mark})",
                (order_id, stamp),
            )
            # The partner's "offer accepted" mail: where it goes, the customer's name, the row
            # (its text written here rather than rendered).
            cursor.execute(
                "SELECT COALESCE(NULLIF(p.notification_email, ''), NULLIF(u.email, ''), a.email), "
                "a.language FROM partner p JOIN address a ON a.id = p.address_id "
                f"LEFT JOIN ab_user u ON u.id = p.user_id WHERE p.id = {mark}",
                (partner_id,),
            )
            recipient, language = cursor.fetchone()
            cursor.execute(
                f"SELECT first_name, last_name, company FROM address WHERE id = {mark}", (customer_id,)
            )
            name = " ".join(part for part in cursor.fetchone() if part)
            cursor.execute(
                "INSERT INTO mail_outbox (message_id, kind, recipient, language, subject, body_text, "
                "body_html, status, attempts, next_attempt_at, created_at) VALUES "
                f"({mark}, 'service_order_offer_accepted', {mark}, {mark}, {mark}, {mark}, {mark}, "
                f"'pending', 0, {mark}, {mark})",
                (
                    f"<offer-accepted-{offer_id}@bench>",
                    recipient,
                    language or "de",
                    f"{name} accepted your offer",
                    f"{name} accepted your custom offer: {scope}",
                    f"<p>{name} accepted your custom offer</p>",
                    stamp,
                    stamp,
                ),
            )
            raw_conn.commit()
            cursor.close()

        def service_accept(offer_id, customer_id):
            transaction.run(lambda s: so.accept_offer(s, customer_id, offer_id, NOW), retries=2)

        # Warm-up, not timed: the first accepts compile the statements and the mail's templates,
        # load the languages' locale data and submit the mail sender's task (once per process);
        # the service's first, cold, accept is reported as `first_accept_ms`.
        cold = []
        for index, (offer_id, customer_id) in enumerate(warm_offers):
            t0 = time.perf_counter()
            (service_accept if index % 2 == 0 else raw_accept)(offer_id, customer_id)
            cold.append((time.perf_counter() - t0) * 1000)
        # Service and raw SQL offer by offer, so both meet the same moments of the machine's load.
        service_s = raw_s = service_cpu = raw_cpu = 0.0
        pairs_of_offers = zip(offers[:half], offers[half : 2 * half], strict=True)
        for (offer_id, customer_id), (raw_offer, raw_customer) in pairs_of_offers:
            t0, c0 = time.perf_counter(), time.thread_time()
            service_accept(offer_id, customer_id)
            service_s += time.perf_counter() - t0
            service_cpu += time.thread_time() - c0
            t0, c0 = time.perf_counter(), time.thread_time()
            raw_accept(raw_offer, raw_customer)
            raw_s += time.perf_counter() - t0
            raw_cpu += time.thread_time() - c0
        raw_conn.close()
        service_rate = half / service_s if service_s else 0.0
        raw_rate = half / raw_s if raw_s else 0.0
        ratio = service_rate / raw_rate if raw_rate else None
        _emit(
            "accept_offer_per_second",
            round(service_rate, 1),
            "1/s",
            backend,
            services,
            target=TARGET_ACCEPT_RATIO,
            met=ratio is not None and ratio >= TARGET_ACCEPT_RATIO,
            baseline=round(raw_rate, 1),
            ratio=round(ratio, 3) if ratio else None,
            accepts=half,
            # Raw CPU time / service CPU time of this thread: without the waits for a core; on
            # SQLite it holds the database's work, on PostgreSQL only the client's.
            cpu_ratio=round(raw_cpu / service_cpu, 3) if service_cpu else None,
            first_accept_ms=round(cold[0], 1),
            baseline_first_ms=round(cold[1], 1),
        )

        offer_id, customer_id = race_offer
        barrier = threading.Barrier(RACERS)
        outcomes, guard = [], threading.Lock()

        def racer():
            with app.app_context():
                try:
                    barrier.wait(timeout=30)
                    outcome = transaction.run(
                        lambda s: so.accept_offer(s, customer_id, offer_id, NOW), retries=5
                    )
                except Exception as exc:  # noqa: BLE001 - reported below
                    outcome = exc
                finally:
                    db.session.remove()
                with guard:
                    outcomes.append(outcome)

        threads = [threading.Thread(target=racer) for _ in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        made = db.session.scalar(
            sa.select(sa.func.count()).select_from(ServiceOrder).where(ServiceOrder.offer_id == offer_id)
        )
        failed = [type(o).__name__ for o in outcomes if isinstance(o, Exception)]
        _emit(
            "accept_race_orders",
            made,
            "orders",
            backend,
            services,
            target=1,
            met=made == 1,
            racers=RACERS,
            answered_with_the_order=RACERS - len(failed),
            failed=failed,
        )
        db.session.remove()
        db.engine.dispose()
    tmpdir.cleanup()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.orders_offers", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=50_000, help="past service orders")
    parser.add_argument("--repeat", type=int, default=1000, help="may-order-now calls timed")
    parser.add_argument("--accepts", type=int, default=200, help="offers accepted (half service, half raw)")
    parser.add_argument("--database", help="database URL; WIPED first (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    run(args.services, args.orders, args.repeat, args.accepts, args.database)


if __name__ == "__main__":
    main()
