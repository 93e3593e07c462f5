"""Benchmark the downline module against the issue's targets; prints one JSON object per line.

    python -m benchmarks.downline --addresses 1000000
    python -m benchmarks.downline --addresses 1000000 --database postgresql://postgres@127.0.0.1/pd_bench

The database is WIPED (SQLite: the file is deleted; PostgreSQL: schema public is dropped),
migrated, seeded with `backoffice.demo.bulk_insert` (the demo tree shape) and rebuilt with
`downline.maintenance.rebuild` (PostgreSQL: then `VACUUM ANALYZE`, as autovacuum would).
Then each operation runs warm (one untimed run first) and
the p95 of the timed repetitions is reported, server side (no HTTP), with a hand-written
SQL baseline where one exists. Fields: metric, value, unit, backend, target, met, baseline,
ratio, addresses, load (the 1-minute load average when the figure was printed).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook

from benchmarks.seed import _fresh_postgres, _fresh_sqlite, _sqlalchemy_url

TARGETS_MS = {
    "firstline_page_p95": 20, "new_customers_page_p95": 30, "counts_per_level_root_p95": 500,
    "search_in_100k_downline_p95": 50, "move_1k_subtree_p95": 50, "move_100k_subtree": 3000,
    "export_100k_csv": 1000, "downline_check": 10000, "explorer_branch_biggest_firstline_p95": 200,
    "start_page_staff_p95": 200, "start_page_partner_p95": 200, "start_page_finance_p95": 200,
}


def _emit(metric, value, unit, backend, n, baseline=None, **extra):
    line = {"metric": metric, "value": round(value, 3) if isinstance(value, float) else value,
            "unit": unit, "backend": backend, "addresses": n}
    target = TARGETS_MS.get(metric)
    if target is not None:
        line.update(target=target, met=value <= target)
    if baseline is not None:
        line.update(baseline=round(baseline, 3), ratio=round(value / baseline, 2) if baseline else None)
    line.update(extra)
    line["load"] = round(os.getloadavg()[0], 2)  # the machine is shared: 1-minute load average
    print(json.dumps(line), flush=True)


def _p95(fn, repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))] if len(times) > 1 else times[0]


def _once(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def run(n: int, database: str | None, repeat: int) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from backoffice.audit import acting_as
    from backoffice.demo import bulk_insert
    from backoffice.extensions import db
    from backoffice.models import Address, AddressTree, Partner
    from backoffice.services import billing_overview, start_pages
    from backoffice.services.vouchers import company_today
    from backoffice.transaction import keep
    from downline import explorer, export, integrity, maintenance, moves, navigator, stats

    tmpdir = tempfile.TemporaryDirectory(prefix="pd-bench-downline-")
    url = _sqlalchemy_url(database or f"sqlite:///{Path(tmpdir.name) / 'downline.db'}")
    backend = "postgresql" if url.get_backend_name() == "postgresql" else "sqlite"
    (_fresh_postgres if backend == "postgresql" else _fresh_sqlite)(url)
    print(f"benchmarks.downline: {n} addresses on {backend}", file=sys.stderr)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False)})
    with app.app_context(), acting_as("benchmark"):
        upgrade(revision="heads")
        s = db.session
        bulk_insert(s, n)
        keep(s)
        started = time.perf_counter()
        info = maintenance.rebuild(s)
        _emit("rebuild_seconds", time.perf_counter() - started, "s", backend, n, max_depth=info["max_depth"])
        if backend == "postgresql":
            # What autovacuum does to a freshly loaded table in production: visibility map and
            # statistics, so index-only scans (counts of a firstline) need no heap reads.
            s.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as vacuum:
                vacuum.execute(sa.text("VACUUM ANALYZE address"))
                vacuum.execute(sa.text("VACUUM ANALYZE address_tree"))

        def pick(target):
            row = s.execute(sa.select(Address.id, Address.downline_count)
                            .where(Address.downline_count >= target).order_by(Address.downline_count)
                            .limit(1)).first()
            return row.id if row else 1

        big_sponsor = s.execute(sa.select(Address.id).order_by(Address.firstline_count.desc())
                                .limit(1)).scalar()
        big = s.get(Address, big_sponsor)
        print(f"sponsor {big.id}: firstline {big.firstline_count}, downline {big.downline_count}",
              file=sys.stderr)
        conn = s.connection()

        def page():
            navigator.firstline(s, big, page=3, sort="name")

        def page_raw():
            conn.execute(sa.text(
                "SELECT id, first_name, last_name, company, type, registered_at, first_order_at, "
                "firstline_count, downline_count FROM address WHERE sponsor_id = :s "
                "ORDER BY last_name, first_name, id LIMIT 50 OFFSET 150"), {"s": big.id}).all()

        _emit("firstline_page_p95", _p95(page, repeat), "ms", backend, n, baseline=_p95(page_raw, repeat),
              firstline=big.firstline_count)

        # Every figure of each role's start page, as `backoffice.views.start` asks for them (the
        # biggest sponsor as the partner, its partner row if it has one).
        today = datetime.now(UTC).date()
        partner_id = s.execute(sa.select(Partner.id).where(Partner.address_id == big.id)).scalar() or -1

        def partner_page():
            start_pages.partner_figures(s, big.id, partner_id, today)
            billing_overview.partner_billing(s, partner_id, company_today())

        def finance_page():
            start_pages.finance_figures(s, today)
            billing_overview.figures(s, company_today())

        for role, figures in (("staff", lambda: start_pages.staff_figures(s, today)),
                              ("partner", partner_page), ("finance", finance_page)):
            _emit(f"start_page_{role}_p95", _p95(figures, repeat), "ms", backend, n)

        # The drawn tree's answer for the sponsor with the biggest firstline (the page asks for
        # one level at a time; two levels reported beside it).
        for levels, metric in ((1, "explorer_branch_biggest_firstline_p95"),
                               (2, "explorer_branch_two_levels_p95")):
            _emit(metric, _p95(lambda lv=levels: explorer.branch(s, big, levels=lv, root_id=big.id), repeat),
                  "ms", backend, n, firstline=big.firstline_count)

        def newc():
            navigator.firstline(s, big, sort="registered_at", desc=True, new_customers_only=True)

        def newc_raw():
            conn.execute(sa.text(
                "SELECT * FROM address WHERE sponsor_id = :s AND type = 'new_customer' "
                "AND first_order_at IS NULL ORDER BY registered_at DESC, id DESC LIMIT 50"),
                {"s": big.id}).all()

        _emit("new_customers_page_p95", _p95(newc, repeat), "ms", backend, n, baseline=_p95(newc_raw, repeat))

        root = s.get(Address, 1)

        def counts_raw():
            conn.execute(sa.text(
                "WITH RECURSIVE t(id, lvl) AS (SELECT id, 1 FROM address WHERE sponsor_id = 1 UNION ALL "
                "SELECT a.id, t.lvl + 1 FROM address a JOIN t ON a.sponsor_id = t.id) "
                "SELECT t.lvl, a.type, COUNT(*) FROM t JOIN address a ON a.id = t.id GROUP BY t.lvl, a.type"
            )).all()

        _emit("counts_per_level_root_p95", _p95(lambda: stats.per_level(s, root), max(3, repeat // 4)),
              "ms", backend, n, baseline=_once(counts_raw), downline=root.downline_count)

        node_100k = s.get(Address, pick(min(100_000, n // 10)))

        prefix = f"{node_100k.path}{node_100k.id}/"

        def search_raw():
            conn.execute(sa.text("SELECT a.id FROM address_tree t JOIN address a ON a.id = t.address_id "
                                 "WHERE t.path >= :lo AND t.path < :hi AND a.last_name LIKE '%üll%' "
                                 "LIMIT 50"),
                         {"lo": prefix, "hi": prefix[:-1] + "0"}).all()

        _emit("search_in_100k_downline_p95", _p95(lambda: navigator.search(s, node_100k, "üll"), repeat),
              "ms", backend, n, baseline=_p95(search_raw, repeat), downline=node_100k.downline_count)
        s.rollback()

        def move_raw(address_id, sponsor_id):
            """The same writes as hand-written SQL (paths, depths, sizes, audit), no checks."""
            conn = s.connection()
            a = conn.execute(sa.text("SELECT t.path, t.depth, a.downline_count, a.sponsor_id FROM address a "
                                     "JOIN address_tree t ON t.address_id = a.id WHERE a.id = :id"),
                             {"id": address_id}).one()
            t = conn.execute(sa.text("SELECT path, depth FROM address_tree WHERE address_id = :id"),
                             {"id": sponsor_id}).one()
            old, new = f"{a.path}{address_id}/", f"{t.path}{sponsor_id}/{address_id}/"
            conn.execute(sa.text("UPDATE address_tree SET path = :np || substr(path, :cut), "
                                 "depth = depth + :dd WHERE path >= :lo AND path < :hi"),
                         {"np": new, "cut": len(old) + 1, "dd": t.depth + 1 - a.depth, "lo": old,
                          "hi": old[:-1] + "0"})
            conn.execute(sa.text("UPDATE address SET sponsor_id = :s WHERE id = :id"),
                         {"s": sponsor_id, "id": address_id})
            conn.execute(sa.text("UPDATE address_tree SET path = :p, depth = :d WHERE address_id = :id"),
                         {"p": f"{t.path}{sponsor_id}/", "d": t.depth + 1, "id": address_id})
            size = a.downline_count + 1
            for ids, delta in ((a.path, -size), (f"{t.path}{sponsor_id}/", size)):
                conn.execute(sa.text(f"UPDATE address SET downline_count = downline_count + {delta} "
                                     f"WHERE id IN ({', '.join(p for p in ids.split('/') if p)})"))
            conn.execute(sa.text("UPDATE address SET firstline_count = firstline_count - 1 WHERE id = :i"),
                         {"i": a.sponsor_id})
            conn.execute(sa.text("UPDATE address SET firstline_count = firstline_count + 1 WHERE id = :i"),
                         {"i": sponsor_id})
            conn.execute(sa.text("INSERT INTO audit_entry (occurred_at, actor_label, entity, entity_id, "
                                 "address_id, field, old_value, new_value, reason) VALUES (:t, 'benchmark', "
                                 "'address', :id, :id, 'sponsor_id', :o, :n, 'raw')"),
                         {"t": datetime.now(UTC), "id": address_id, "o": str(a.sponsor_id),
                          "n": str(sponsor_id)})
            s.commit()

        def move_back_and_forth(address_id):
            """(ours, raw, size): the service moves the subtree away, the raw SQL moves it home,
            alternating, so both meet the same server state (checkpoints, vacuum, caches)."""
            address = s.get(Address, address_id)
            home, size = address.sponsor_id, address.downline_count
            # A shallow sponsor outside the moved subtree, other than its own.
            below = f"{address.path}{address.id}/"
            away = s.execute(sa.select(AddressTree.address_id).where(
                AddressTree.address_id != address_id, AddressTree.address_id != home,
                sa.or_(AddressTree.path < below, AddressTree.path >= below[:-1] + "0"))
                .order_by(AddressTree.depth, AddressTree.address_id).limit(1)).scalar()
            runs = max(4, repeat // 4) if size < 10_000 else 2
            timings: dict = {move_checked: [], move_raw: []}
            for i in range(2 * runs + 2):  # the first away-and-back is the warm-up, not timed
                how, target = (move_checked, away) if i % 2 == 0 else (move_raw, home)
                took = _once(lambda h=how, t=target: h(address_id, t))
                if i >= 2:
                    timings[how].append(took)
                s.expire_all()
            ours, raw = (sorted(timings[how]) for how in (move_checked, move_raw))
            return *(t[-1] if len(t) < 20 else t[int(0.95 * (len(t) - 1))] for t in (ours, raw)), size

        def move_checked(address_id, sponsor_id):
            moves.move(s, address_id, sponsor_id, "benchmark", actor_label="benchmark")

        for label, node_id in (("1k", pick(1000)), ("100k", node_100k.id)):
            value, baseline, size = move_back_and_forth(node_id)
            _emit("move_1k_subtree_p95" if label == "1k" else "move_100k_subtree", value, "ms", backend, n,
                  baseline=baseline, downline=size)

        node_100k = s.get(Address, node_100k.id)
        prefix = f"{node_100k.path}{node_100k.id}/"

        def export_raw():
            """The raw query and csv.writer: the export's own SELECT (the same cells: names,
            labels, formula guards, times as text) on the driver's cursor, straight into
            csv.writer, then encoded; no batches, no export log."""
            buffer = io.StringIO()
            _headers, statement, _fields = export.query(s, node_100k, None, None, for_csv=True)
            cursor = s.connection().execute(statement).cursor
            csv.writer(buffer, delimiter=";").writerows(cursor)
            return buffer.getvalue().encode("utf-8")

        def plain_columns_raw():
            """The same rows as plain columns straight into csv.writer: what the cells cost
            the database (names, labels, formula guards) shows against this one."""
            buffer = io.StringIO()
            cursor = s.connection().execute(sa.text(
                "SELECT a.id, t.depth, first_name, last_name, company, a.type, registered_at, "
                "first_order_at, postal_code, city, language, registration_source, email, phone, street "
                "FROM address_tree t JOIN address a ON a.id = t.address_id "
                "WHERE t.path >= :lo AND t.path < :hi"),
                {"lo": prefix, "hi": prefix[:-1] + "0"}).cursor
            csv.writer(buffer, delimiter=";").writerows(cursor)
            return buffer.getvalue().encode("utf-8")

        def xlsx_raw():
            """The export's own query and cells, written by a bare openpyxl write-only
            workbook: no header style, no cell typing (times made naive, as Excel needs)."""
            headers, generated, _fields = export.rows(s, node_100k, None, None)
            book = Workbook(write_only=True)
            sheet = book.create_sheet()
            sheet.append(headers)
            for row in generated:
                sheet.append([v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row])
            buffer = io.BytesIO()
            book.save(buffer)
            return buffer.getvalue()

        # Targets as ratios to the bare baseline measured in the same run (CSV: or ≤ 1 s). The
        # two alternate, `rounds` times each, and the medians are compared: one run of each on a
        # shared machine compares the load of two moments more than the two exports.
        for fmt, raw, ratio, rounds in (("csv", export_raw, 1.0, 5), ("xlsx", xlsx_raw, 1.3, 1)):
            values, baselines = [], []
            for _ in range(rounds):
                baselines.append(_once(raw))
                values.append(_once(lambda f=fmt: export.export(s, node_100k, f)))
            value, baseline = (sorted(v)[len(v) // 2] for v in (values, baselines))
            met = value / baseline <= ratio or (fmt == "csv" and value <= TARGETS_MS["export_100k_csv"])
            _emit(f"export_100k_{fmt}", value, "ms", backend, n, baseline=baseline,
                  downline=node_100k.downline_count, target_ratio=ratio, met=met, rounds=rounds)
            if fmt == "csv":
                plain = sorted(_once(plain_columns_raw) for _ in range(rounds))[rounds // 2]
                _emit("export_100k_csv_vs_plain_columns", value, "ms", backend, n, baseline=plain,
                      downline=node_100k.downline_count, rounds=rounds,
                      note="baseline: plain columns, no names, labels or formula guards")

        tracemalloc.start()
        for _ in range(5):
            page()
            navigator.search(s, node_100k, "Meier")
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        _emit("tree_memory_per_worker", peak, "MiB", backend, n, target=50, met=peak <= 50,
              note="peak Python allocations of page operations; no tree is held in memory")

        report = None

        def check():
            nonlocal report
            report = integrity.check(s)

        _emit("downline_check", _once(check), "ms", backend, n, problems=len(report.problems))
        s.rollback()
        db.engine.dispose()
    tmpdir.cleanup()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.downline", description=__doc__.split("\n")[0])
    parser.add_argument("--addresses", type=int, default=20_000)
    parser.add_argument("--database", help="database URL; WIPED first (default: a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=20, help="timed repetitions per operation")
    args = parser.parse_args(argv)
    run(args.addresses, args.database, args.repeat)


if __name__ == "__main__":
    main()
