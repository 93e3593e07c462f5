"""Benchmark orders with a voucher: service layer, HTTP (gunicorn) and a raw-SQL baseline.

    python -m benchmarks.redemption --database postgresql://postgres@127.0.0.1/pd_bench --orders 500

PostgreSQL only. The database is created if missing; its schema `public` is DROPPED and
recreated, then migrated. Every order is a new customer's first order with the partner code
of a new-customer voucher (the full path: lock, counters, order, 2 article lines at 19 % and
7 %, 2 voucher lines, redemption, type change, sponsor move with audit, invoice number,
invoice). Prints one JSON object per metric:

* `raw_sql_orders_per_second`: the same writes as hand-written SQL through psycopg, one
  transaction per order, in the statement shapes the service uses on PostgreSQL.
* `service_orders_per_second`: `backoffice.services.orders.place_order` in its unit of work, one call
  after the other in one process; raw and service alternate in rounds. With its ratio to raw
  (target >= 0.25).
* `http_orders_per_second` and `http_p99_latency`: `POST /api/v1/shop/orders` against
  gunicorn (2 sync workers) on loopback, `--clients` client threads with a Shop token
  (targets: >= 200 orders/s, p99 <= 100 ms). The sync workers close the connection after each
  response; `http.client` opens the next one.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def figures(name: str, latencies: list[float], wall: float, failed: int = 0) -> dict:
    return {"run": name, "orders": len(latencies), "failed": failed, "seconds": round(wall, 3),
            "orders_per_second": round(len(latencies) / wall, 1) if wall else None,
            "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2) if latencies else None}


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def reset(url: str) -> None:
    """An empty schema `public` in the database, which is created first if it is missing."""
    target = sa.engine.make_url(sqlalchemy_url(url))
    server = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        if conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                        {"name": target.database}).first() is None:
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()
    engine = sa.create_engine(target)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def setup(app, customers: int) -> dict:
    """Articles, a new-customer voucher with a partner code, a Shop user, the customers."""
    from flask_migrate import upgrade

    from backoffice.cli import init_roles
    from backoffice.extensions import db
    from backoffice.models import Address, AddressType, Article, Partner, Voucher, VoucherKind
    from backoffice.services.vouchers import create_partner_code

    with app.app_context():
        upgrade(revision="heads")
        init_roles()
        session = db.session
        session.add_all([
            Article(article_no="SHIRT", name="T-Shirt", gross_price=Decimal("19.99"), vat_rate=Decimal("19")),
            Article(article_no="TEA", name="Tee", gross_price=Decimal("4.28"), vat_rate=Decimal("7")),
        ])
        owner = Address(type=AddressType.partner, last_name="Meier", email="meier@bench.example")
        partner = Partner(address=owner, subdomain="meier")
        voucher = Voucher(name="5 € Neukunden", kind=VoucherKind.permanent, amount=Decimal("5.00"),
                          new_customers_only=True, min_order_value=Decimal("20.00"),
                          released_for_partner_codes=True)
        session.add_all([owner, partner, voucher])
        session.flush()
        create_partner_code(session, partner, voucher.id, "vonmeier")
        sm = app.appbuilder.sm
        sm.add_user("benchshop", "Bench", "Shop", "shop@bench.example", sm.find_role("Shop"), "benchshop")
        session.commit()
        now = datetime.now(UTC)
        session.execute(sa.insert(Address), [
            {"type": AddressType.new_customer, "last_name": f"Kunde{i}", "email": f"k{i}@bench.example",
             "country": "DE", "language": "de", "registration_source": "shop", "registered_at": now,
             "consent_contact_by_sponsor": False, "consent_marketing": False,
             "created_at": now, "updated_at": now}
            for i in range(customers)])
        # Tree roots, as the shop registers them without a subdomain (a bulk insert passes
        # no flush hook, so their tree rows are written here).
        session.execute(sa.text("INSERT INTO address_tree (address_id, path, depth, type) "
                                "SELECT id, '/', 0, type FROM address a WHERE NOT EXISTS "
                                "(SELECT 1 FROM address_tree t WHERE t.address_id = a.id)"))
        session.commit()
        ids = list(session.execute(sa.select(Address.id).where(
            Address.type == AddressType.new_customer).order_by(Address.id)).scalars())
        return {"customers": ids, "voucher_id": voucher.id, "owner_address_id": owner.id}


LINES = [{"article_no": "SHIRT", "quantity": 1}, {"article_no": "TEA", "quantity": 1}]


def run_service(app, customers: list[int]) -> tuple[list[float], float]:
    """(latencies, wall seconds) of `place_order` for each customer, one after the other."""
    from backoffice import transaction
    from backoffice.extensions import db
    from backoffice.services import orders

    latencies = []
    with app.app_context():
        start = time.perf_counter()
        for customer in customers:
            t0 = time.perf_counter()
            external_id = f"svc-{customer}"
            transaction.run(partial(orders.place_order, external_order_id=external_id, customer_id=customer,
                                    lines=LINES, voucher_code="vonmeier"),
                            retries=orders.CHECKOUT_RETRIES,
                            on_conflict=orders.on_order_conflict(external_id, customer, LINES, "vonmeier"))
            db.session.expunge_all()
            latencies.append(time.perf_counter() - t0)
        wall = time.perf_counter() - start
    return latencies, wall


RAW_SQL = {
    "lock": "SELECT type, sponsor_id FROM address WHERE id = %s FOR UPDATE",
    "articles": "SELECT article_no, name, gross_price, vat_rate, discountable_by_absolute_vouchers, id "
                "FROM article WHERE article_no = ANY(%s)",
    "code": "SELECT c.id, c.voucher_id, c.owner_partner_id FROM voucher_code c WHERE c.code_normalized = %s",
    # Order, lines (one array per column) and redemption in one statement, as the service does.
    "order": "WITH o AS (INSERT INTO shop_order (external_order_id, address_id, status, voucher_code_id, "
             "subtotal_gross, discount, total_gross, total_net, total_vat, placed_at) "
             "VALUES (%(ext)s, %(customer)s, 'completed', %(code)s, 24.27, 5.00, 19.27, 16.52, 2.75, now()) "
             "RETURNING id), "
             "l AS (INSERT INTO order_line (order_id, position, kind, article_no, name, quantity, "
             "unit_gross, vat_rate, line_gross) SELECT o.id, x.* FROM o, "
             "unnest(%(positions)s::int[], %(kinds)s::text[], "
             "%(numbers)s::text[], %(names)s::text[], %(quantities)s::int[], %(units)s::numeric[], "
             "%(rates)s::numeric[], %(grosses)s::numeric[]) AS x), "
             "r AS (INSERT INTO redemption (voucher_id, code_id, order_id, address_id, "
             "new_customer_address_id, owner_partner_id, amount, was_new_customer, redeemed_at) "
             "SELECT %(voucher)s, %(code)s, o.id, "
             "%(customer)s, %(customer)s, %(owner)s, 5.00, true, now() FROM o) SELECT id FROM o",
    "address": "UPDATE address SET type = 'customer', first_order_at = now(), sponsor_id = %s, "
               "updated_at = now() WHERE id = %s",
    "tree_and_sizes": "WITH t AS (UPDATE address_tree SET path = %s, depth = 1, type = 'customer' "
                      "WHERE address_id = %s) UPDATE address SET downline_count = downline_count + 1, "
                      "firstline_count = firstline_count + 1 WHERE id = %s",
    "audit": "INSERT INTO audit_entry (occurred_at, actor_label, entity, entity_id, address_id, field, "
             "old_value, new_value, reason) VALUES (now(), 'shop api', 'address', %s, %s, %s, %s, %s, 'raw')",
    "counters": "WITH v AS (UPDATE voucher SET redeemed_count = redeemed_count + 1 WHERE id = %s "
                "AND (max_total IS NULL OR redeemed_count < max_total) RETURNING id) "
                "UPDATE voucher_code SET redeemed_count = redeemed_count + 1 WHERE id = %s "
                "AND EXISTS (SELECT 1 FROM v)",
    "invoice": "WITH n AS (UPDATE invoice_counter SET last_number = last_number + 1 "
               "WHERE series = 'invoice' RETURNING last_number) "
               "INSERT INTO invoice (number, kind, order_id, issued_at, delivery_date, buyer_name, "
               "buyer_address, total_net, total_vat, total_gross) SELECT n.last_number, 'invoice', "
               "%s, now(), current_date, %s, '', 16.52, 2.75, 19.27 FROM n RETURNING number",
}


def run_raw(url: str, customers: list[int], owner_address_id: int) -> tuple[list[float], float]:
    """(latencies, wall seconds) of the same checkout as hand-written SQL for each customer:
    the same writes in the same statement shapes as the service on PostgreSQL, minus what only
    an ORM or a general tree needs (the tree's locks and reads, the repeat check)."""
    import psycopg

    latencies = []
    with psycopg.connect(url) as conn:
        start = time.perf_counter()
        for customer in customers:
            t0 = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur:
                old_type, old_sponsor = cur.execute(RAW_SQL["lock"], (customer,)).fetchone()
                articles = cur.execute(RAW_SQL["articles"], (["SHIRT", "TEA"],)).fetchall()
                code_id, voucher_id, owner_partner_id = cur.execute(RAW_SQL["code"], ("vonmeier",)).fetchone()
                lines = [(n + 1, "article", a[0], a[1], 1, a[2], a[3], a[2]) for n, a in enumerate(articles)]
                lines += [(3, "voucher", "vonmeier", "Gutschein vonmeier", 1, Decimal("-4.12"), Decimal("19"),
                           Decimal("-4.12")),
                          (4, "voucher", "vonmeier", "Gutschein vonmeier", 1, Decimal("-0.88"), Decimal("7"),
                           Decimal("-0.88"))]
                columns = dict(zip(("positions", "kinds", "numbers", "names", "quantities", "units", "rates",
                                    "grosses"), (list(c) for c in zip(*lines, strict=True)), strict=True))
                order_id = cur.execute(RAW_SQL["order"], dict(
                    columns, ext=f"raw-{customer}", customer=customer, code=code_id, voucher=voucher_id,
                    owner=owner_partner_id)).fetchone()[0]
                cur.execute(RAW_SQL["address"], (owner_address_id, customer))
                cur.execute(RAW_SQL["tree_and_sizes"], (f"/{owner_address_id}/", customer, owner_address_id))
                cur.executemany(RAW_SQL["audit"], [
                    (customer, customer, "sponsor_id", old_sponsor, str(owner_address_id)),
                    (customer, customer, "type", old_type, "customer")])
                cur.execute(RAW_SQL["counters"], (voucher_id, code_id))
                assert cur.rowcount == 1
                cur.execute(RAW_SQL["invoice"], (order_id, f"Kunde{customer}"))
            latencies.append(time.perf_counter() - t0)
        wall = time.perf_counter() - start
    return latencies, wall


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_http(url: str, customers: list[int], clients: int, warm: list[int]) -> dict:
    """Orders through gunicorn; each client first places its share of `warm` orders, untimed
    (the workers' first requests load code and prepare statements)."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, FAB_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:create_app()"], cwd=ROOT, env=env)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/api/v1/security/login", json.dumps(
            {"username": "benchshop", "password": "benchshop", "provider": "db"}),
            {"Content-Type": "application/json"})
        token = json.loads(conn.getresponse().read())["access_token"]
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        latencies: list[float] = []
        failed = [0]
        lock = threading.Lock()
        chunks = [customers[i::clients] for i in range(clients)]
        warm_chunks = [warm[i::clients] for i in range(clients)]
        barrier = threading.Barrier(clients + 1)

        def client(chunk, warm_chunk):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for customer in warm_chunk:
                connection.request("POST", "/api/v1/shop/orders", json.dumps(
                    {"external_order_id": f"warm-{customer}", "customer_id": customer, "lines": LINES,
                     "voucher_code": "vonmeier"}), headers)
                connection.getresponse().read()
            barrier.wait()
            for customer in chunk:
                body = json.dumps({"external_order_id": f"http-{customer}", "customer_id": customer,
                                   "lines": LINES, "voucher_code": "vonmeier"})
                t0 = time.perf_counter()
                connection.request("POST", "/api/v1/shop/orders", body, headers)
                response = connection.getresponse()
                response.read()
                elapsed = time.perf_counter() - t0
                with lock:
                    if response.status == 201:
                        latencies.append(elapsed)
                    else:
                        failed[0] += 1

        threads = [threading.Thread(target=client, args=(chunk, warm_chunk))
                   for chunk, warm_chunk in zip(chunks, warm_chunks, strict=True)]
        for thread in threads:
            thread.start()
        barrier.wait()
        start = time.perf_counter()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - start
        return dict(figures("http", latencies, wall, failed[0]), clients=clients, workers=2)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="postgresql://… (its schema public is dropped!)")
    parser.add_argument("--orders", type=int, default=300, help="orders per run")
    parser.add_argument("--clients", type=int, default=4, help="HTTP client threads")
    parser.add_argument("--rounds", type=int, default=5, help="raw/service rounds, alternating")
    args = parser.parse_args(argv)
    if not args.database or not args.database.startswith("postgresql"):
        parser.error("--database postgresql://… is required (PostgreSQL only)")
    os.environ["DATABASE_URL"] = args.database
    reset(args.database)
    sys.path.insert(0, str(ROOT))
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(args.database),
                      "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    n, rounds, clients = args.orders, max(1, args.rounds), args.clients
    warm = 10
    data = setup(app, 3 * n + 2 * warm + clients * warm)
    pool = iter(data["customers"])

    def take(k: int) -> list[int]:
        return [next(pool) for _ in range(k)]

    load = os.getloadavg()[0]
    # Raw and service alternate in rounds after an untimed warm-up of each, so both meet
    # the same state of the database and the machine (four single raw runs before this: 340–553/s).
    run_raw(args.database, take(warm), data["owner_address_id"])
    run_service(app, take(warm))
    parts: dict[str, list] = {"raw": [], "service": []}
    for r in range(rounds):
        size = n // rounds + (1 if r < n % rounds else 0)
        parts["raw"].append(run_raw(args.database, take(size), data["owner_address_id"]))
        parts["service"].append(run_service(app, take(size)))
    raw, service = (figures(name, [x for latencies, _ in parts[name] for x in latencies],
                            sum(wall for _, wall in parts[name])) for name in ("raw", "service"))
    http_run = run_http(args.database, take(n), clients, take(clients * warm))
    for line in metric_lines(service, http_run, raw, load):
        print(json.dumps(line))


def metric_lines(service: dict, http_run: dict, raw: dict, load: float) -> list[dict]:
    """The benchmark convention: one object per metric with backend, target, met, baseline, ratio."""
    common = {"backend": "postgresql", "load_average_1m": round(load, 2), "orders": service["orders"]}
    raw_rate = raw["orders_per_second"]
    lines = [
        {"metric": "raw_sql_orders_per_second", "value": raw_rate, "unit": "orders/s",
         "p50_ms": raw["p50_ms"], "p99_ms": raw["p99_ms"]},
        {"metric": "service_orders_per_second", "value": service["orders_per_second"],
         "unit": "orders/s", "baseline": raw_rate,
         "ratio": round(service["orders_per_second"] / raw_rate, 3),
         "target": "ratio >= 0.25", "met": service["orders_per_second"] / raw_rate >= 0.25,
         "p50_ms": service["p50_ms"], "p99_ms": service["p99_ms"], "failed": service["failed"]},
        {"metric": "http_orders_per_second", "value": http_run["orders_per_second"],
         "unit": "orders/s", "baseline": raw_rate,
         "ratio": round(http_run["orders_per_second"] / raw_rate, 3),
         "target": 200, "met": http_run["orders_per_second"] >= 200, "failed": http_run["failed"]},
        {"metric": "http_p99_latency", "value": http_run["p99_ms"], "unit": "ms",
         "target": 100, "met": http_run["p99_ms"] <= 100, "p50_ms": http_run["p50_ms"]},
    ]
    return [{**line, **common} for line in lines]


if __name__ == "__main__":
    main()
