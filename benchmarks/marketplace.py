"""Benchmark the marketplace: ranked partners for a request, direct requests with their charge.

    python -m benchmarks.marketplace --partners 100000 --categories 300 --bids-per-partner 10 \
        --history 1000000 --database postgresql://postgres@127.0.0.1:5432/pd_bench_market

The database is WIPED, migrated and filled with a generated market (with `--reuse`, the
market an earlier run left in `--database` is timed again, with the requests and direct
requests of earlier runs in it): the demo address tree (its partners), a published profile
per partner at a random German postal code (radius 20 to 100 km, one in twenty
Germany-wide), `--bids-per-partner` categories each with an active service and a bid, and
`--history` past direct requests, each charged, with their partners' monthly counts
(`lead_month`, the responsiveness signal's input).
Prints one JSON object per metric:

* `ranked_partners_p95`: `marketplace.rank` for a request in a random category at a random
  postal code (matching, ranking and the receipt's inputs), p95 over `--repeat` requests
  after `WARM_UP` requests ranked both ways untimed (a running server's steady state; the
  process's first, cold ranking is reported as `first_ms`, the raw one's as
  `baseline_first_ms`);
  `baseline` is the same reads hand-written through the driver (the one query of bidders
  with their direct requests summed from `lead_month` and their job counts, the same
  distance filter in Python, the candidates' ratings and service-order inputs), in the
  same run (target: 30 ms). The service reads the same in one statement (ratings, the
  category's minimum and the customer's blocks with the bidders, the distance also in
  SQL); the baseline keeps its separate reads.
* `direct_request_per_second`: `send_direct_request` in its unit of work (lock, the chosen
  partner checked and its place taken from the ranking the customer was shown, budget,
  direct request, charge, mail), alternating with the baseline send by send, each timed
  alone; `baseline` is a raw SQL
  transaction through the driver with the same writes (`_raw_send`: the request locked,
  the bid, the partner's name and address and the category read in one query, then the
  direct request, the month's spending upserted, the charge with a receipt of the same
  fields, the outbox mail, one commit); `ratio` = service / raw (target >= 0.25). Every
  request is another customer's, so no send is a free repeat; the rows both sides wrote
  are printed to stderr.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from benchmarks.seed import _fresh_postgres, _fresh_sqlite, _sqlalchemy_url

TARGET_RANK_MS = 30.0
WARM_UP = 5  # requests ranked both ways before the timed ones (statement caches, cold pages)
TARGET_SEND_RATIO = 0.25
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _emit(metric, value, unit, backend, partners, **extra):
    line = {
        "metric": metric,
        "value": round(value, 3) if isinstance(value, float) else value,
        "unit": unit,
        "backend": backend,
        "partners": partners,
    }
    line.update(extra)
    line["load"] = round(os.getloadavg()[0], 2)
    print(json.dumps(line), flush=True)


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def _insert(conn, table: str, columns: list[str], rows: list[tuple]) -> None:
    """Core INSERTs through the models' tables, so money and UTC timestamps are bound alike
    on both databases."""
    from flask_appbuilder import Model

    if not rows:
        return
    statement = sa.insert(Model.metadata.tables[table])
    for start in range(0, len(rows), 20_000):
        chunk = rows[start : start + 20_000]
        conn.execute(statement, [dict(zip(columns, row, strict=True)) for row in chunk])


def generate(
    session, partners_wanted: int, categories: int, bids_per_partner: int, history: int, seed: int = 7
) -> dict:
    """The market: categories, profiles, services, bids and past direct requests."""
    from backoffice.demo import bulk_insert

    rnd = random.Random(seed)
    addresses = max(50, partners_wanted * 5)  # the demo tree makes about one partner in five
    bulk_insert(session, addresses)
    conn = session.connection()
    partner_ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM partner ORDER BY id"))][
        :partners_wanted
    ]
    places = conn.execute(sa.text("SELECT postal_code, latitude, longitude FROM postal_code_location")).all()
    now = NOW
    _insert(
        conn,
        "category",
        [
            "id",
            "parent_id",
            "name_de",
            "name_en",
            "active",
            "position",
            "min_bid",
            "created_at",
            "updated_at",
        ],
        [
            (c, None, f"Branche {c}", f"Category {c}", True, c, Decimal("5.00"), now, now)
            for c in range(1, categories + 1)
        ],
    )
    profiles, services, bids = [], [], []
    service_id = bid_id = 0
    for pid in partner_ids:
        code, lat, lon = rnd.choice(places)
        wide = rnd.random() < 0.05
        profiles.append(
            (
                pid,
                f"Partner {pid}",
                code,
                lat,
                lon,
                rnd.randint(20, 100),
                wide,
                "de",
                True,
                now,
                True,
                False,
                now,
                now,
            )
        )
        for category in rnd.sample(range(1, categories + 1), min(bids_per_partner, categories)):
            service_id += 1
            bid_id += 1
            services.append(
                (service_id, pid, category, f"Leistung {service_id}", True, lat, lon, wide, now, now)
            )
            bids.append((bid_id, pid, category, Decimal(rnd.randint(500, 3000)) / 100, None, False, now, now))
    _insert(
        conn,
        "partner_profile",
        [
            "partner_id",
            "display_name",
            "postal_code",
            "latitude",
            "longitude",
            "radius_km",
            "germany_wide",
            "languages",
            "published",
            "published_at",
            "listed",
            "dropshipping",
            "created_at",
            "updated_at",
        ],
        profiles,
    )
    _insert(
        conn,
        "service",
        [
            "id",
            "partner_id",
            "category_id",
            "title",
            "active",
            "latitude",
            "longitude",
            "germany_wide",
            "created_at",
            "updated_at",
        ],
        services,
    )
    _insert(
        conn,
        "category_bid",
        ["id", "partner_id", "category_id", "amount", "monthly_budget", "paused", "created_at", "updated_at"],
        bids,
    )
    # Past requests, each sent to five different partners (the responsiveness signal's input).
    requests, directs = [], []
    for request_id in range(1, history // 5 + 1):
        code, lat, lon = rnd.choice(places)
        requests.append(
            (
                request_id,
                rnd.randint(1, categories),
                "Früher",
                code,
                lat,
                lon,
                "Kunde",
                f"k{request_id}@example.org",
                "de",
                "closed",
                now - timedelta(days=30),
            )
        )
        for partner_id in rnd.sample(partner_ids, min(5, len(partner_ids))):
            answered = rnd.random() < 0.6
            directs.append(
                (
                    len(directs) + 1,
                    request_id,
                    partner_id,
                    "done" if answered else "lost",
                    now - timedelta(days=rnd.randint(1, 80)),
                    answered,
                )
            )
    _insert(
        conn,
        "lead_request",
        [
            "id",
            "category_id",
            "description",
            "postal_code",
            "latitude",
            "longitude",
            "customer_name",
            "email",
            "language",
            "status",
            "created_at",
        ],
        requests,
    )
    _insert(
        conn,
        "direct_request",
        ["id", "request_id", "partner_id", "status", "created_at", "answered_in_time"],
        directs,
    )
    # The responsiveness signal's kept months, as the sends and answers keep them.
    from backoffice.services.marketplace import month_of

    months: dict[tuple[int, object], list[int]] = {}
    for _id, _request, partner_id, _status, created, answered in directs:
        counts = months.setdefault((partner_id, month_of(created)), [0, 0])
        counts[0] += 1
        counts[1] += answered
    _insert(conn, "lead_month", ["partner_id", "month", "leads", "answered"],
            [(p, m, n, a) for (p, m), (n, a) in months.items()])
    # Each past direct request was charged (the repeat rule and the partners' pages read them).
    _insert(
        conn,
        "lead_charge",
        ["id", "direct_request_id", "request_id", "partner_id", "category_id", "net", "vat_rate",
         "charged_at", "receipt"],
        [
            (d[0], d[0], d[1], d[2], requests[d[1] - 1][1], Decimal("10.00"), Decimal("19.00"), d[4], "{}")
            for d in directs
        ],
    )
    if conn.dialect.name == "postgresql":
        for table in ("category", "service", "category_bid", "lead_request", "direct_request", "lead_charge"):
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
            )
    return {"partners": len(partner_ids), "bids": len(bids), "places": places, "categories": categories}


RAW_RANK = """
SELECT b.partner_id, b.amount, b.monthly_budget, p.latitude, p.longitude, p.radius_km, p.germany_wide,
  (SELECT COALESCE(sum(m.leads), 0) FROM lead_month m WHERE m.partner_id = b.partner_id
     AND m.month >= :since_month),
  (SELECT COALESCE(sum(m.answered), 0) FROM lead_month m WHERE m.partner_id = b.partner_id
     AND m.month >= :since_month),
  (SELECT count(*) FROM job_assignment j WHERE j.partner_id = b.partner_id AND j.created_at >= :since
     AND j.expires_at IS NOT NULL),
  (SELECT count(*) FROM job_assignment j WHERE j.partner_id = b.partner_id AND j.created_at >= :since
     AND j.expires_at IS NOT NULL AND j.status = 'expired')
FROM category_bid b JOIN partner_profile p ON p.partner_id = b.partner_id
JOIN partner pa ON pa.id = b.partner_id
WHERE b.category_id = :c AND NOT b.paused AND b.amount >= 5 AND p.published AND p.listed AND pa.available
  AND (p.away_until IS NULL OR p.away_until < :today)
  AND EXISTS (SELECT 1 FROM service s
              WHERE s.partner_id = p.partner_id AND s.active = true AND s.category_id = :c)
  AND b.partner_id IN (
    SELECT partner_id FROM service WHERE category_id = :c AND active = true
      AND latitude BETWEEN :min_lat AND :max_lat AND longitude BETWEEN :min_lon AND :max_lon
    UNION SELECT partner_id FROM partner_profile WHERE radius_km > :box
    UNION SELECT partner_id FROM service WHERE category_id = :c AND active = true AND germany_wide = true)
"""
# The candidates' other quality inputs, each one grouped read (as the service does).
RAW_SIGNALS = (
    "SELECT partner_id, count(*), sum(stars) FROM review WHERE partner_id IN ({ids}) AND NOT hidden"
    " GROUP BY partner_id",
    "SELECT partner_id, created_at, answered_at FROM order_request WHERE partner_id IN ({ids})"
    " AND created_at >= :since",
    "SELECT partner_id, created_at, accepted_at, cancelled_at, cancelled_by FROM service_order"
    " WHERE partner_id IN ({ids}) AND created_at >= :since AND offer_id IS NULL",
    "SELECT partner_id, count(*), count(CASE WHEN status = 'cancelled' THEN 1 END) FROM service_order"
    " WHERE partner_id IN ({ids}) AND created_at >= :since GROUP BY partner_id",
)


def _raw_ranked(cursor, backend: str, request) -> list[tuple]:
    """The ranking's reads by hand: the one query (the same three prefilters, the lead and
    job counts), the distance, then the candidates' ratings and service-order inputs."""
    from backoffice.services.directory import bounding_box, haversine_km
    from backoffice.services.marketplace import BOX_KM, window_start

    def execute(sql, params):
        if backend == "postgresql":
            sql = re.sub(r":(\w+)", r"%(\1)s", sql)
        cursor.execute(sql, params)
        return cursor.fetchall()

    today = NOW.date() if backend == "postgresql" else NOW.date().isoformat()
    since_month, since = window_start(NOW)
    box = bounding_box(request.latitude, request.longitude, BOX_KM)
    params = {
        "box": BOX_KM,
        "since_month": since_month if backend == "postgresql" else since_month.isoformat(),
        "c": request.category_id,
        "today": today,
        "since": since if backend == "postgresql" else since.replace(tzinfo=None).isoformat(" "),
        "min_lat": box[0],
        "max_lat": box[1],
        "min_lon": box[2],
        "max_lon": box[3],
    }
    hits = [
        row
        for row in execute(RAW_RANK, params)
        if row[6] or haversine_km(row[3], row[4], request.latitude, request.longitude) <= row[5]
    ]
    if hits:
        ids = ",".join(str(int(row[0])) for row in hits)
        for sql in RAW_SIGNALS:
            execute(sql.format(ids=ids), params)
    hits.sort(key=lambda row: -row[1])
    return hits


WRITTEN = ("direct_request", "lead_charge", "mail_outbox")


def _written(session) -> dict[str, int]:
    """Rows in the tables a direct request writes, the charges' and the months' spending sums."""
    counts = {t: session.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in WRITTEN[:3]}
    for name, sql in (("leads", "SELECT COALESCE(sum(leads), 0) FROM lead_month"),
                      ("charged", "SELECT COALESCE(sum(net), 0) FROM lead_charge"),
                      ("spent", "SELECT COALESCE(sum(spent), 0) FROM budget_month")):
        counts[name] = session.execute(sa.text(sql)).scalar()
    session.rollback()
    return counts


RAW_MAIL = """Hallo {name},

Sie haben eine neue Direktanfrage in der Branche „{category}“ (Postleitzahl {postal_code}):

{description}

Kontakt: {customer}, {email}

Preis dieser Anfrage: {price} € netto (Ihr Gebot zu diesem Zeitpunkt).
"""


def _raw_send(raw_conn, backend: str, request_id: int, partner_id: int) -> None:
    """A direct request by hand, with the writes of the service: the request's row locked,
    the partner's bid, name and mail address and the category's name read in one query,
    the direct request, the partner's month of direct requests (one upsert), the month's
    spending (one upsert), the charge with its receipt
    (JSON of the same fields), the partner's mail in the outbox; one commit."""
    import uuid

    from backoffice.services.marketplace import FORMULA, RANKING_VERSION, month_of

    mark = "%s" if backend == "postgresql" else "?"
    stamp = NOW if backend == "postgresql" else NOW.replace(tzinfo=None).isoformat(" ")
    month = month_of(NOW) if backend == "postgresql" else month_of(NOW).isoformat()
    cursor = raw_conn.cursor()
    cursor.execute(
        f"SELECT category_id, postal_code, description, customer_name, email FROM lead_request "
        f"WHERE id = {mark}" + (" FOR UPDATE" if backend == "postgresql" else ""),
        (request_id,),
    )
    category_id, postal_code, description, customer, email = cursor.fetchone()
    cursor.execute(
        f"SELECT b.amount, a.first_name, a.last_name, COALESCE(NULLIF(p.notification_email, ''), a.email), "
        f"c.name_de, c.name_en, a.language FROM category_bid b JOIN partner p ON p.id = b.partner_id "
        f"JOIN address a ON a.id = p.address_id JOIN category c ON c.id = b.category_id "
        f"WHERE b.partner_id = {mark} AND b.category_id = {mark}",
        (partner_id, category_id),
    )
    amount, first, last, recipient, category, _category_en, _language = cursor.fetchone()
    amount = Decimal(str(amount))
    cursor.execute(
        f"INSERT INTO direct_request (request_id, partner_id, status, created_at) "
        f"VALUES ({mark}, {mark}, 'new', {mark}) RETURNING id",
        (request_id, partner_id, stamp),
    )
    direct_id = cursor.fetchone()[0]
    cursor.execute(
        f"INSERT INTO lead_month (partner_id, month, leads, answered) VALUES ({mark}, {mark}, 1, 0) "
        f"ON CONFLICT (partner_id, month) DO UPDATE SET leads = lead_month.leads + 1",
        (partner_id, month),
    )
    cursor.execute(
        f"INSERT INTO budget_month (partner_id, category_id, month, spent) "
        f"VALUES ({mark}, {mark}, {mark}, {mark}) ON CONFLICT (partner_id, category_id, month) "
        f"DO UPDATE SET spent = budget_month.spent + excluded.spent",
        (partner_id, category_id, month, str(amount)),
    )
    vat = (amount * Decimal("0.19")).quantize(Decimal("0.01"))
    receipt = json.dumps(
        {"formula": FORMULA, "formula_version": RANKING_VERSION, "request_id": request_id,
         "category_id": category_id, "postal_code": postal_code, "matched": 1, "position": 1,
         "bid": str(amount), "monthly_budget": None, "budget_left_before": None,
         "signals": {"responsiveness": "0.5000", "weight": "0.2", "speed": "0.5000", "speed_weight": "0.05",
                     "rating": "4.0000", "rating_weight": "0.25", "expired_share": "0.0000",
                     "expired_weight": "0.5", "cancelled_share": "0.0000", "cancelled_weight": "0.5"},
         "quality": "0.8250", "score": "1.0000", "score_of_first": "1.0000", "distance_km": 0.0,
         "price_rule": "the bid at the moment of the direct request", "net": str(amount), "vat_rate": "19",
         "vat": str(vat), "gross": str(amount + vat)},
        ensure_ascii=False,
    )
    cursor.execute(
        f"INSERT INTO lead_charge (direct_request_id, request_id, partner_id, category_id, net, "
        f"vat_rate, charged_at, receipt) VALUES ({mark}, {mark}, {mark}, {mark}, {mark}, 19, {mark}, {mark})",
        (direct_id, request_id, partner_id, category_id, str(amount), stamp, receipt),
    )
    body = RAW_MAIL.format(name=f"{first} {last}", category=category, postal_code=postal_code,
                           description=description, customer=customer, email=email,
                           price=f"{amount:.2f}".replace(".", ","))
    cursor.execute(
        f"INSERT INTO mail_outbox (message_id, kind, recipient, language, subject, body_text, status, "
        f"attempts, next_attempt_at, created_at) "
        f"VALUES ({mark}, 'direct_request', {mark}, 'de', {mark}, {mark}, 'pending', 0, {mark}, {mark})",
        (f"<{uuid.uuid4().hex}@bench>", recipient, f"Neue Direktanfrage: {category}", body, stamp, stamp),
    )
    raw_conn.commit()
    cursor.close()


def run(
    partners: int,
    categories: int,
    bids_per_partner: int,
    history: int,
    repeat: int,
    sends: int,
    database: str | None,
    reuse: bool = False,
) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from backoffice import transaction
    from backoffice.audit import acting_as
    from backoffice.extensions import db
    from backoffice.models import LeadRequest, RequestStatus
    from backoffice.services import marketplace

    tmpdir = tempfile.TemporaryDirectory(prefix="pd-bench-market-")
    url = _sqlalchemy_url(database or f"sqlite:///{Path(tmpdir.name) / 'market.db'}")
    backend = "postgresql" if url.get_backend_name() == "postgresql" else "sqlite"
    if reuse and not database:
        raise SystemExit("--reuse needs --database")
    if not reuse:
        (_fresh_postgres if backend == "postgresql" else _fresh_sqlite)(url)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "MAIL_SERVER": "",
            "MARKETPLACE_MAX_PARTNERS_PER_REQUEST": 1_000_000,
        }
    )
    with app.app_context(), app.test_request_context(), acting_as("benchmark"):
        if reuse:
            upgrade(revision="heads")  # a market generated before a later migration
            market = _existing_market(db.session, categories)
            history = market["history"]
            print(f"benchmarks.marketplace: reusing {market['partners']} partners, {market['bids']} bids, "
                  f"{history} direct requests on {backend}", file=sys.stderr)
        else:
            upgrade(revision="heads")
            started = time.perf_counter()
            with transaction.unit_of_work() as session:
                market = generate(session, partners, categories, bids_per_partner, history)
            print(
                f"benchmarks.marketplace: {market['partners']} partners, {market['bids']} bids, {history} "
                f"past direct requests on {backend} in {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
        if backend == "postgresql" and not reuse:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        rnd = random.Random(11)
        places = market["places"]
        # Each customer once, also over runs on a reused market.
        last = db.session.execute(sa.text("SELECT COALESCE(MAX(id), 0) FROM lead_request")).scalar()
        customers = itertools.count(last + 1)
        db.session.rollback()

        def new_request(session) -> LeadRequest:
            code, lat, lon = rnd.choice(places)
            request = LeadRequest(
                category_id=rnd.randint(1, categories),
                description="Benchmark",
                postal_code=code,
                latitude=lat,
                longitude=lon,
                customer_name="Kunde",
                # Each customer once: a repeat within 7 days would be free (no spending raised).
                email=f"kunde{next(customers)}@example.org",
                language="de",
                status=RequestStatus.open,
                created_at=NOW,
                confirmed_at=NOW,
            )
            session.add(request)
            session.flush()
            return request

        with transaction.unit_of_work() as session:
            requests = [new_request(session) for _ in range(WARM_UP + repeat)]
            ids = [r.id for r in requests]
        service_ms, raw_ms, matched = [], [], []
        raw_conn = db.engine.raw_connection()
        for request_id in ids:
            request = db.session.get(LeadRequest, request_id)
            t0 = time.perf_counter()
            ranked = marketplace.rank(db.session, request, NOW)
            service_ms.append((time.perf_counter() - t0) * 1000)
            matched.append(len(ranked))
            t0 = time.perf_counter()
            cursor = raw_conn.cursor()
            _raw_ranked(cursor, backend, request)
            raw_ms.append((time.perf_counter() - t0) * 1000)
            cursor.close()
            db.session.rollback()
        raw_conn.rollback()
        raw_conn.close()
        first_ms, first_raw_ms = service_ms[0], raw_ms[0]
        service_ms, raw_ms, matched = service_ms[WARM_UP:], raw_ms[WARM_UP:], matched[WARM_UP:]
        p95, base = _p95(service_ms), _p95(raw_ms)
        _emit(
            "ranked_partners_p95",
            p95,
            "ms",
            backend,
            market["partners"],
            target=TARGET_RANK_MS,
            met=p95 <= TARGET_RANK_MS,
            baseline=round(base, 3),
            ratio=round(p95 / base, 2) if base else None,
            bids=market["bids"],
            history=history,
            matched_median=sorted(matched)[len(matched) // 2],
            first_ms=round(first_ms, 3),
            baseline_first_ms=round(first_raw_ms, 3),
        )

        with transaction.unit_of_work() as session:
            send_requests = [(new_request(session).id) for _ in range(sends)]
        chosen = []
        for request_id in send_requests:  # the customer's page: the ranking shown is kept
            ranked = transaction.run(lambda s, r=request_id: marketplace.ranked_partners(s, r, NOW))
            chosen.append((request_id, ranked[0].partner_id if ranked else None))
        chosen = [(r, p) for r, p in chosen if p is not None]
        # Service and raw sends alternate (odd and even requests), each timed alone: one after
        # the other, the second half would meet another moment of a shared machine (a
        # checkpoint, autovacuum after the kept rankings) more than another way of sending.
        half = len(chosen) // 2
        service_s = raw_s = 0.0
        before = _written(db.session)
        raw_conn = db.engine.raw_connection()
        for i, (request_id, partner_id) in enumerate(chosen[: 2 * half]):
            t0 = time.perf_counter()
            if i % 2 == 0:
                transaction.run(
                    lambda s, r=request_id, p=partner_id: marketplace.send_direct_request(s, r, p, NOW)
                )
                service_s += time.perf_counter() - t0
            else:
                _raw_send(raw_conn, backend, request_id, partner_id)
                raw_s += time.perf_counter() - t0
        raw_conn.close()
        service_rate = half / service_s if half else 0.0
        raw_rate = half / raw_s if half else 0.0
        after = _written(db.session)
        print(
            "benchmarks.marketplace: rows written by both, half each "
            f"{ {t: round(after[t] - before[t], 2) for t in after} }",
            file=sys.stderr,
        )
        ratio = service_rate / raw_rate if raw_rate else None
        _emit(
            "direct_request_per_second",
            round(service_rate, 1),
            "1/s",
            backend,
            market["partners"],
            target=TARGET_SEND_RATIO,
            met=ratio is not None and ratio >= TARGET_SEND_RATIO,
            baseline=round(raw_rate, 1),
            ratio=round(ratio, 3) if ratio else None,
            sends=half,
        )
        db.session.remove()
        db.engine.dispose()
    tmpdir.cleanup()


def _existing_market(session, categories: int) -> dict:
    """The market an earlier run generated (`--reuse`): its sizes and the places to draw
    requests from; the requests and direct requests of earlier runs stay."""

    def count(table: str) -> int:
        return session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()

    if count("category") != categories:
        raise SystemExit(f"--reuse: the database has no market of {categories} categories")
    places = session.execute(sa.text("SELECT postal_code, latitude, longitude FROM postal_code_location"))
    places = places.all()
    market = {"partners": count("partner_profile"), "bids": count("category_bid"),
              "history": count("direct_request"), "categories": categories, "places": places}
    session.rollback()
    return market


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.marketplace", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--partners", type=int, default=2000)
    parser.add_argument("--categories", type=int, default=30)
    parser.add_argument("--bids-per-partner", type=int, default=10)
    parser.add_argument("--history", type=int, default=10_000, help="past direct requests")
    parser.add_argument("--repeat", type=int, default=50, help="ranked lists timed")
    parser.add_argument(
        "--sends", type=int, default=60, help="direct requests timed (half service, half raw)"
    )
    parser.add_argument("--database", help="database URL; WIPED first (default: a temporary SQLite file)")
    parser.add_argument("--reuse", action="store_true",
                        help="time on the market an earlier run left in --database (no wipe, no generation)")
    args = parser.parse_args(argv)
    run(
        args.partners,
        args.categories,
        args.bids_per_partner,
        args.history,
        args.repeat,
        args.sends,
        args.database,
        args.reuse,
    )


if __name__ == "__main__":
    main()
