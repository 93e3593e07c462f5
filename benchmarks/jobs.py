"""Benchmark the expert jobs' expiry sweep; prints one JSON object per line.

    python -m benchmarks.jobs --assignments 1000000 --due 100000
    python -m benchmarks.jobs --assignments 1000000 --due 100000 --database postgresql://postgres@127.0.0.1/pd_bench

The database is WIPED (SQLite: the file is deleted; PostgreSQL: schema public is dropped) and
migrated. Then `--assignments` job assignments are inserted (jobs matched to 10 partners
each, over `--partners` partners): `--due` of them NEW or OPENED with their 72 hours over,
the rest either still inside their 72 hours or answered, declined, closed or expired long ago
(past `expires_at`, so only the status keeps them out). Statistics are refreshed.

Timed, server side:

- `raw_update_seconds` (the `baseline`): the bare `UPDATE job_assignment SET status='expired'
  WHERE status IN ('new','opened') AND expires_at <= now` in a transaction that is rolled back;
- `expiry_sweep_seconds`: `services.jobs.expire_due` (the update and one transition row per
  expired job), committed; target ≤ 5 s; `changed` must equal `--due`;
- `expiry_rerun_seconds`: the same sweep again; `changed` must be 0.

Fields: metric, value, unit, backend, target, met, baseline, ratio, assignments, due, changed,
load (the 1-minute load average when the figure was printed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from benchmarks.directory import _insert_partners
from benchmarks.seed import _fresh_postgres, _fresh_sqlite, _sqlalchemy_url

TARGETS_S = {"expiry_sweep_seconds": 5}
FANOUT = 10
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHUNK = 50_000


def _emit(metric, value, unit, backend, assignments, due, baseline=None, **extra):
    line = {
        "metric": metric,
        "value": round(value, 3),
        "unit": unit,
        "backend": backend,
        "assignments": assignments,
        "due": due,
    }
    target = TARGETS_S.get(metric)
    if target is not None:
        line.update(target=target, met=value <= target)
    if baseline is not None:
        line.update(baseline=round(baseline, 3), ratio=round(value / baseline, 2) if baseline else None)
    line.update(extra)
    line["load"] = round(os.getloadavg()[0], 2)
    print(json.dumps(line), flush=True)


def _insert(session, assignments: int, due: int, partners: int) -> None:
    from backoffice.models import (
        Address,
        AddressType,
        Category,
        ExpertJob,
        JobAssignment,
        Language,
        RegistrationSource,
    )

    category = Category(name_de="Design", name_en="Design", active=True, position=0)
    session.add(category)
    session.flush()
    category_id = category.id
    _insert_partners(session, partners)
    customer_id = partners + 1
    session.execute(
        sa.insert(Address.__table__),
        [
            {
                "id": customer_id,
                "type": AddressType.customer,
                "last_name": "Kundin",
                "country": "DE",
                "language": Language.de,
                "registration_source": RegistrationSource.desk,
                "registered_at": NOW,
                "firstline_count": 0,
                "downline_count": 0,
                "consent_contact_by_sponsor": False,
                "consent_marketing": False,
                "created_at": NOW,
                "updated_at": NOW,
            }
        ],
    )
    jobs = -(-assignments // FANOUT)
    old = NOW - timedelta(days=5)
    for start in range(1, jobs + 1, CHUNK):
        ids = range(start, min(jobs, start + CHUNK - 1) + 1)
        session.execute(
            sa.insert(ExpertJob.__table__),
            [
                {
                    "id": i,
                    "kind": "match",
                    "customer_id": customer_id,
                    "category_id": category_id,
                    "requirements": f"Auftrag {i}",
                    "priority_time": 2,
                    "priority_cost": 2,
                    "priority_quality": 2,
                    "merchant_name": "Kundin",
                    "language": "de",
                    "created_at": old,
                }
                for i in ids
            ],
        )
    # Rows 1..due are due; of the rest every other one is still inside its 72 hours, the
    # others were answered or ended long ago.
    ended = ["replied", "declined", "closed", "expired", "awaiting_response", "completed"]
    for start in range(1, assignments + 1, CHUNK):
        rows = []
        for n in range(start, min(assignments, start + CHUNK - 1) + 1):
            if n <= due:
                status, created = ("new" if n % 2 else "opened"), old
            elif n % 2:
                status, created = ("new" if n % 4 == 1 else "opened"), NOW - timedelta(hours=10)
            else:
                status, created = ended[n % len(ended)], old
            rows.append(
                {
                    "id": n,
                    "job_id": (n - 1) // FANOUT + 1,
                    "partner_id": (n - 1) % partners + 1,
                    "status": status,
                    "created_at": created,
                    "expires_at": created + timedelta(hours=72),
                    "status_changed_at": created,
                }
            )
        session.execute(sa.insert(JobAssignment.__table__), rows)


def run(assignments: int, due: int, partners: int, database: str | None) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from backoffice import transaction
    from backoffice.extensions import db
    from backoffice.services import jobs

    partners = max(partners, FANOUT)
    tmpdir = tempfile.TemporaryDirectory(prefix="pd-bench-jobs-")
    url = _sqlalchemy_url(database or f"sqlite:///{Path(tmpdir.name) / 'jobs.db'}")
    backend = "postgresql" if url.get_backend_name() == "postgresql" else "sqlite"
    (_fresh_postgres if backend == "postgresql" else _fresh_sqlite)(url)
    print(f"benchmarks.jobs: {assignments} assignments, {due} due, on {backend}", file=sys.stderr)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False)})
    with app.app_context():
        upgrade(revision="heads")
        started = time.perf_counter()
        with transaction.unit_of_work() as session:
            _insert(session, assignments, due, partners)
        _emit("jobs_seed_seconds", time.perf_counter() - started, "s", backend, assignments, due)
        if backend == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as vacuum:
                for table in ("expert_job", "job_assignment", "job_transition"):
                    vacuum.execute(sa.text(f"VACUUM ANALYZE {table}"))
        else:
            with transaction.unit_of_work() as session:
                session.execute(sa.text("ANALYZE"))

        session = db.session
        started = time.perf_counter()
        raw = session.execute(
            sa.text(
                "UPDATE job_assignment SET status = 'expired', status_changed_at = :now "
                "WHERE status IN ('new', 'opened') AND expires_at <= :now"
            ),
            {"now": NOW},
        ).rowcount
        baseline = time.perf_counter() - started
        session.rollback()
        _emit("raw_update_seconds", baseline, "s", backend, assignments, due, changed=raw)

        started = time.perf_counter()
        with transaction.unit_of_work() as session:
            changed = jobs.expire_due(session, NOW)
        _emit(
            "expiry_sweep_seconds",
            time.perf_counter() - started,
            "s",
            backend,
            assignments,
            due,
            baseline=baseline,
            changed=changed,
        )
        started = time.perf_counter()
        with transaction.unit_of_work() as session:
            again = jobs.expire_due(session, NOW + timedelta(minutes=5))
        _emit(
            "expiry_rerun_seconds",
            time.perf_counter() - started,
            "s",
            backend,
            assignments,
            due,
            changed=again,
        )
        if changed != due or again != 0:
            raise SystemExit(f"expected {due} then 0 changed rows, got {changed} then {again}")
        db.session.remove()
        db.engine.dispose()
    tmpdir.cleanup()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--assignments", type=int, default=100_000, help="job assignments in the table")
    parser.add_argument("--due", type=int, default=None, help="of those, due to expire (default: a tenth)")
    parser.add_argument("--partners", type=int, default=1_000)
    parser.add_argument("--database", help="SQLAlchemy URL (WIPED); default: a temporary SQLite file")
    args = parser.parse_args(argv)
    due = args.assignments // 10 if args.due is None else min(args.due, args.assignments)
    run(args.assignments, due, args.partners, args.database)


if __name__ == "__main__":
    main()
