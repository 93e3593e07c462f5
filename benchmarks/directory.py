"""Benchmark the public directory's search; prints one JSON object per line.

    python -m benchmarks.directory --partners 100000
    python -m benchmarks.directory --partners 100000 --database postgresql://postgres@127.0.0.1/pd_bench

The database is WIPED (SQLite: the file is deleted; PostgreSQL: schema public is dropped) and
migrated; `--keep` times again against what an earlier run left there (migrated to the newest
revision, not wiped or seeded), for profiling a change without seeding again. Otherwise it is
migrated (which loads the postal-code table). Then `--partners` partners are inserted, each
with a published profile in a postal code drawn from that table and `--services` active
services in distinct categories (the demo's 15 subcategories; no packages: the search does
not read them), and the statistics are refreshed (PostgreSQL `VACUUM ANALYZE`, as autovacuum
would; SQLite `ANALYZE`, as `PRAGMA optimize` would).

Timed, warm (one untimed run first), server side (no HTTP), p95 over `--repeat` searches
that each take another (subcategory, postal code) pair, radius 50 km:

- `directory_search_p95`: `services.directory.search` plus the page's list entries
  (`cards`), i.e. everything the directory page asks of the database;
- `raw_sql_search_p95` (the `baseline`): the search's two statements written by hand (the
  category's services in the box and its Germany-wide ones as one UNION ALL, then the
  candidates' profiles by id), the exact distance in Python; no list entries;
- `raw_sql_one_statement_p95`: the former baseline, the profiles by `IN (subquery)` in one
  statement (the form the search had before; PostgreSQL's plan for it flips to reading every
  profile above about a thousand candidates);
- `directory_search_top_category_p95`: a top category (its 4 subcategories) at 100 km.

Fields: metric, value, unit, backend, target, met, baseline, ratio, partners, services,
load (the 1-minute load average when the figure was printed).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks.seed import _fresh_postgres, _fresh_sqlite, _sqlalchemy_url

TARGETS_MS = {"directory_search_p95": 50}


def _emit(metric, value, unit, backend, partners, services, baseline=None, **extra):
    line = {"metric": metric, "value": round(value, 3) if isinstance(value, float) else value,
            "unit": unit, "backend": backend, "partners": partners, "services": services}
    target = TARGETS_MS.get(metric)
    if target is not None:
        line.update(target=target, met=value <= target)
    if baseline is not None:
        line.update(baseline=round(baseline, 3), ratio=round(value / baseline, 2) if baseline else None)
    line.update(extra)
    line["load"] = round(os.getloadavg()[0], 2)
    print(json.dumps(line), flush=True)


def _p95(fn, inputs) -> float:
    fn(*inputs[0])  # warm
    times = []
    for args in inputs:
        started = time.perf_counter()
        fn(*args)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def _insert_partners(session, n: int) -> list[int]:
    """Minimal addresses and partners (the directory reads neither beyond the name)."""
    from datetime import UTC, datetime

    from backoffice.models import Address, AddressType, Language, Partner, RegistrationSource

    now = datetime.now(UTC)
    for start in range(1, n + 1, 20_000):
        ids = range(start, min(n, start + 19_999) + 1)
        session.execute(sa.insert(Address.__table__), [
            {"id": i, "type": AddressType.partner, "last_name": f"Betrieb{i}", "country": "DE",
             "language": Language.de, "registration_source": RegistrationSource.desk,
             "registered_at": now, "firstline_count": 0, "downline_count": 0,
             "consent_contact_by_sponsor": False, "consent_marketing": False,
             "created_at": now, "updated_at": now} for i in ids])
        session.execute(sa.insert(Partner.__table__), [
            {"id": i, "address_id": i, "subdomain": f"betrieb{i}", "time_zone": "Europe/Berlin",
             "available": True, "created_at": now, "updated_at": now} for i in ids])
    return list(range(1, n + 1))


def run(partners: int, services_per_partner: int, database: str | None, repeat: int,
        keep: bool = False) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from backoffice import transaction
    from backoffice.demo import seed_categories, seed_directory
    from backoffice.extensions import db
    from backoffice.models import Category, PartnerProfile, PostalCodeLocation, Service
    from backoffice.services import directory

    tmpdir = tempfile.TemporaryDirectory(prefix="pd-bench-directory-")
    url = _sqlalchemy_url(database or f"sqlite:///{Path(tmpdir.name) / 'directory.db'}")
    backend = "postgresql" if url.get_backend_name() == "postgresql" else "sqlite"
    if not keep:
        (_fresh_postgres if backend == "postgresql" else _fresh_sqlite)(url)
    print(f"benchmarks.directory: {partners} partners on {backend}", file=sys.stderr)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False)})
    with app.app_context():
        upgrade(revision="heads")
        if keep:
            partners = db.session.scalar(sa.select(sa.func.count()).select_from(PartnerProfile))
            services = db.session.scalar(sa.select(sa.func.count()).select_from(Service))
            category_ids = db.session.scalars(sa.select(Category.id).where(Category.parent_id.isnot(None))
                                               .order_by(Category.id)).all()
            db.session.rollback()
        else:
            started = time.perf_counter()
            with transaction.unit_of_work() as session:
                category_ids = seed_categories(session)
                ids = _insert_partners(session, partners)
                _, services = seed_directory(session, ids, category_ids, packages_per_service=0,
                                             services_per_partner=services_per_partner)
            _emit("directory_seed_seconds", time.perf_counter() - started, "s", backend, partners, services)
        if backend == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as vacuum:
                for table in ("partner", "partner_profile", "service", "category"):
                    vacuum.execute(sa.text(f"VACUUM ANALYZE {table}"))
        else:
            with transaction.unit_of_work() as session:
                session.execute(sa.text("ANALYZE"))

        s = db.session
        rng = random.Random(7)
        places = s.execute(sa.select(PostalCodeLocation.postal_code)).scalars().all()
        tops = s.execute(sa.select(Category.id).where(Category.parent_id.is_(None))).scalars().all()
        inputs = [(rng.choice(category_ids), rng.choice(places), 50) for _ in range(repeat)]
        top_inputs = [(rng.choice(tops), rng.choice(places), 100) for _ in range(repeat)]
        found = []

        def search(category_id, postal_code, radius):
            result = directory.search(s, category_id=category_id, postal_code=postal_code, radius_km=radius)
            directory.cards(s, result.hits, "de")
            found.append(result.total)
            s.rollback()

        conn = s.connection
        # The former baseline: one statement, the profiles by `IN (subquery)` (and `s.active`
        # bare, which SQLite answers by a skip-scan of the whole index).
        one_statement = sa.text(
            "SELECT p.partner_id, p.latitude, p.longitude, p.radius_km, p.germany_wide "
            "FROM partner_profile p WHERE p.published AND p.listed AND p.partner_id IN ("
            " SELECT s.partner_id FROM service s WHERE s.category_id = :category AND s.active"
            " AND s.latitude BETWEEN :a AND :b AND s.longitude BETWEEN :c AND :d) "
            "UNION "
            "SELECT p.partner_id, p.latitude, p.longitude, p.radius_km, p.germany_wide "
            "FROM partner_profile p WHERE p.published AND p.listed AND p.partner_id IN ("
            " SELECT s.partner_id FROM service s WHERE s.category_id = :category AND s.active"
            " AND s.germany_wide)")
        # The baseline: the service's two statements written by hand.
        candidates_sql = sa.text(
            "SELECT s.partner_id, s.latitude, s.longitude FROM service s WHERE s.category_id = :category"
            " AND s.active = TRUE AND s.latitude BETWEEN :a AND :b AND s.longitude BETWEEN :c AND :d "
            "UNION ALL SELECT s.partner_id, NULL, NULL FROM service s WHERE s.category_id = :category"
            " AND s.active = TRUE AND s.germany_wide = TRUE")
        ids_in = "= ANY(CAST(:ids AS integer[]))" if backend == "postgresql" else \
            "IN (SELECT value FROM json_each(:ids))"
        profiles_sql = sa.text("SELECT p.partner_id, p.latitude, p.longitude, p.radius_km, p.germany_wide"
                               " FROM partner_profile p WHERE p.published AND p.listed"
                               f" AND p.partner_id {ids_in}")
        brackets = "{}" if backend == "postgresql" else "[]"

        def center(postal_code):
            return conn().execute(sa.text("SELECT latitude, longitude FROM postal_code_location "
                                          "WHERE postal_code = :c"), {"c": postal_code}).one()

        def page_of(lat, lon, radius, rows):
            hits = sorted((directory.haversine_km(lat, lon, r[1], r[2]), r[0]) for r in rows
                          if r[4] or directory.haversine_km(lat, lon, r[1], r[2]) <= min(radius, r[3]))
            s.rollback()
            return hits[:20]

        def raw_search(category_id, postal_code, radius):
            lat, lon = center(postal_code)
            a, b, c, d = directory.bounding_box(lat, lon, radius)
            ids = {r[0] for r in conn().execute(candidates_sql, {"a": a, "b": b, "c": c, "d": d,
                                                                 "category": category_id})
                   if r[1] is None or directory.haversine_km(lat, lon, r[1], r[2]) <= radius}
            text = brackets[0] + ",".join(map(str, sorted(ids))) + brackets[1]
            return page_of(lat, lon, radius, conn().execute(profiles_sql, {"ids": text}).all())

        def raw_one_statement(category_id, postal_code, radius):
            lat, lon = center(postal_code)
            a, b, c, d = directory.bounding_box(lat, lon, radius)
            return page_of(lat, lon, radius, conn().execute(
                one_statement, {"a": a, "b": b, "c": c, "d": d, "category": category_id}).all())

        _emit("raw_sql_one_statement_p95", _p95(raw_one_statement, inputs), "ms", backend, partners, services,
              repeat=repeat)
        baseline = _p95(raw_search, inputs)
        value = _p95(search, inputs)
        found.sort()
        _emit("directory_search_p95", value, "ms", backend, partners, services, baseline=baseline,
              median_hits=found[len(found) // 2], max_hits=found[-1], repeat=repeat)
        found.clear()
        _emit("directory_search_top_category_p95", _p95(search, top_inputs), "ms", backend, partners,
              services, median_hits=sorted(found)[len(found) // 2], repeat=repeat)
    tmpdir.cleanup()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--partners", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=3, help="active services per partner")
    parser.add_argument("--repeat", type=int, default=200, help="timed searches per figure")
    parser.add_argument("--database", help="SQLAlchemy URL (WIPED); default: a temporary SQLite file")
    parser.add_argument("--keep", action="store_true",
                        help="time against the data an earlier run left in --database (migrated, not wiped)")
    args = parser.parse_args(argv)
    run(args.partners, args.services, args.database, args.repeat, args.keep)


if __name__ == "__main__":
    main()
