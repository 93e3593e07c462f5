"""Benchmark the CSV imports against a raw baseline; prints one JSON object per line.

    python -m benchmarks.imports --rows 1000000
    python -m benchmarks.imports --rows 1000000 --database postgresql://postgres@127.0.0.1/pd_bench

Files are generated first (untimed) in a temporary folder:

* voucher codes: `;`-separated Windows-1252 (German Excel), codes on one voucher, a batch
  name with umlauts;
* addresses shaped like the demo data (`backoffice.demo.generate`) with the sponsor given by
  external key, 1 % of rows moved below their firstline so sponsors also come later.

Timed, each in a fresh child process (its peak RSS is reported), against a freshly migrated
database (SQLite: a temporary file or the --database file, deleted first; PostgreSQL: the
--database database, whose schema `public` is DROPPED and recreated):

* codes_raw_seconds: pandas `read_csv` of the file plus a bare bulk insert of the same rows
  (`executemany` on SQLite, `COPY` on PostgreSQL) and the commit; the rows are deleted
  afterwards (untimed);
* codes_dry_run_seconds and codes_import_seconds: `imports.runner.run` without and with writing;
* addresses_dry_run_seconds and addresses_import_seconds likewise.

Targets (issue 5): codes import ≤ 2.5 × raw, import peak RSS ≤ 1 GiB, addresses ≤ 90 s per
1,000,000 rows, dry run ≤ 60 % of the import.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import tempfile
import time
from pathlib import Path
from queue import Empty

import sqlalchemy as sa

from config import sqlalchemy_url

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _emit(metric, value, unit, backend, rows, **extra):
    line = {"metric": metric, "value": value, "unit": unit, "backend": backend, "rows": rows, **extra}
    print(json.dumps(line), flush=True)


def _url(url: str | None, workdir: Path) -> str:
    return sqlalchemy_url(url) if url else f"sqlite:///{workdir / 'bench.db'}"


def write_codes(path: Path, n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    seen = set()
    with open(path, "w", encoding="cp1252", newline="") as fh:
        fh.write("Gutscheincode;Gutschein;Charge;Aktiv\r\n")
        while len(seen) < n:
            code = "XM-" + "".join(rnd.choice(CODE_ALPHABET) for _ in range(10))
            if code in seen:
                continue
            seen.add(code)
            fh.write(f"{code};WEIHNACHT-2026;Druckerei Müller 11/2026;ja\r\n")


def write_addresses(path: Path, n: int) -> None:
    from backoffice.demo import generate

    rows = []
    for address, _tree, _partner in generate(n):
        sponsor = address[16]
        rows.append([address[19], address[2] or "", address[3] or "", address[4], address[6],
                     address[8], address[9], address[10], address[1],
                     address[14].strftime("%d.%m.%Y"), f"DEMO-{sponsor:07d}" if sponsor else ""])
    rnd = random.Random(11)
    for _ in range(n // 100):  # some sponsors appear below their firstline
        i = rnd.randrange(1, n)
        j = min(n - 1, i + rnd.randrange(1, 50))
        rows[i], rows[j] = rows[j], rows[i]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("Kundennummer;Anrede;Vorname;Nachname;E-Mail;Straße;PLZ;Ort;Adressart;Registriert am;"
                 "Sponsor\n")
        for row in rows:
            fh.write(";".join(row) + "\n")


def _fresh_database(url: str, app=None) -> None:
    """A migrated, empty database with the codes' voucher. With `app` (the in-process smoke run):
    that app's database, whose schema is there already and whose tables are empty."""
    from backoffice.extensions import db
    from backoffice.models import Voucher

    if app is not None:
        with app.app_context():
            if db.session.execute(sa.select(Voucher.id).where(Voucher.external_key == "WEIHNACHT-2026")
                                  ).first() is None:
                db.session.add(Voucher(name="Weihnachten 2026", amount=5, external_key="WEIHNACHT-2026"))
                db.session.commit()
        return
    if url.startswith("sqlite"):
        Path(sa.make_url(url).database).unlink(missing_ok=True)
    else:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(revision="heads")
        db.session.add(Voucher(name="Weihnachten 2026", amount=5, external_key="WEIHNACHT-2026"))
        db.session.commit()


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _child(task: str, url: str, path: str, queue) -> None:
    try:
        queue.put(_measure(task, url, path))
    except BaseException as exc:  # the parent waits on the queue: always answer
        queue.put(exc)
        raise


def _measure(task: str, url: str, path: str, app=None) -> tuple[float, int, float]:
    """Seconds, rows written (a dry run: rows checked) and the peak RSS of one timed task."""
    from app import create_app
    from backoffice.extensions import db

    app = app or create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        started = time.perf_counter()
        if task == "codes_raw":
            rows = _raw_codes(db.session, path)
            db.session.commit()  # an import commits too (on SQLite in WAL mode: a checkpoint)
            elapsed = time.perf_counter() - started
            db.session.execute(sa.text("DELETE FROM voucher_code"))
            db.session.commit()
            return elapsed, rows, _peak_rss_mib()
        else:
            from imports.runner import run

            kind, mode = task.rsplit("_", 1)
            report = run(db.session, "voucher_codes" if kind == "codes" else "addresses", path,
                         dry_run=mode == "dry")
            assert report.ok, report.as_dict()["errors"][:5] or report.problem
            rows = report.rows if mode == "dry" else report.created
        return time.perf_counter() - started, rows, _peak_rss_mib()


def _raw_codes(session, path: str) -> int:
    """The baseline: read the file with pandas, insert the rows as they are."""
    import pandas as pd

    from backoffice.bulk import insert_rows
    from backoffice.models.types import utcnow

    frame = pd.read_csv(path, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    now = utcnow()
    voucher_id = session.execute(sa.text("SELECT id FROM voucher")).scalar()
    rows = ((voucher_id, code, code.lower(), None, None, batch, True, 0, now)
            for code, batch in zip(frame["Gutscheincode"], frame["Charge"], strict=True))
    return insert_rows(session, "voucher_code", ("voucher_id", "code", "code_normalized",
                                                 "owner_partner_id", "for_customer_id", "batch",
                                                 "active", "redeemed_count", "created_at"), rows)


def timed(task: str, url: str, path: Path, app=None) -> tuple[float, int, float]:
    if app is not None:  # the smoke run: this process, its app (peak RSS is this process's)
        return _measure(task, url, str(path), app)
    # A fresh interpreter, not a fork: forking a process that has threads (the SQLite checkpoint
    # thread, a test run's task and browser threads) can copy a lock another thread holds; the
    # child then waits on it forever (seen: SQLite's malloc mutex, in the full test suite).
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(task, url, str(path), queue))
    process.start()
    while True:  # a child that dies before it answers (killed, out of memory) must not hang us
        try:
            result = queue.get(timeout=5)
            break
        except Empty:
            if not process.is_alive():
                raise SystemExit(f"{task} failed: its process ended with code {process.exitcode}") from None
    process.join()
    if isinstance(result, BaseException):
        raise SystemExit(f"{task} failed: {result!r}")
    return result


def main(argv=None, app=None) -> None:
    """`app`: run in process against that app's (migrated, empty) database, as the smoke test
    does with the test database; figures not comparable."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per file")
    parser.add_argument("--database", help="SQLAlchemy/PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--kind", choices=["codes", "addresses", "all"], default="all")
    parser.add_argument("--in-process", action="store_true",
                        help="the smoke run: one app in this process, the schema from the models "
                             "(no migrations, no child processes); figures not comparable")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pd-bench-imports-") as tmp:
        workdir = Path(tmp)
        url = app.config["SQLALCHEMY_DATABASE_URI"] if app is not None else _url(args.database, workdir)
        backend = sa.make_url(url).get_backend_name()
        if args.in_process and app is None:
            from flask_appbuilder import Model

            from app import create_app
            from backoffice.extensions import db

            app = create_app({"SQLALCHEMY_DATABASE_URI": url})
            with app.app_context():
                Model.metadata.create_all(db.engine)
        n = args.rows
        if args.kind in ("codes", "all"):
            codes = workdir / "codes.csv"
            write_codes(codes, n)
            _fresh_database(url, app)
            raw, _, raw_rss = timed("codes_raw", url, codes, app)
            _emit("codes_raw_seconds", round(raw, 2), "s", backend, n, peak_rss_mib=raw_rss)
            dry, _, _ = timed("codes_dry", url, codes, app)
            full, rows, rss = timed("codes_import", url, codes, app)
            assert rows == n, rows
            _emit("codes_import_seconds", round(full, 2), "s", backend, n, baseline=round(raw, 2),
                  ratio=round(full / raw, 2), target=2.5, met=full / raw <= 2.5, rows_imported=rows)
            _emit("codes_import_peak_rss", rss, "MiB", backend, n, target=1024, met=rss <= 1024)
            _emit("codes_dry_run_seconds", round(dry, 2), "s", backend, n, baseline=round(full, 2),
                  ratio=round(dry / full, 2), target=0.6, met=dry / full <= 0.6)
        if args.kind in ("addresses", "all"):
            addresses = workdir / "addresses.csv"
            write_addresses(addresses, n)
            _fresh_database(url, app)
            dry, _, _ = timed("addresses_dry", url, addresses, app)
            full, rows, rss = timed("addresses_import", url, addresses, app)
            target = 90.0 * n / 1_000_000
            _emit("addresses_import_seconds", round(full, 2), "s", backend, n, target=round(target, 1),
                  met=full <= target, peak_rss_mib=rss, rows_imported=rows)
            _emit("addresses_dry_run_seconds", round(dry, 2), "s", backend, n, baseline=round(full, 2),
                  ratio=round(dry / full, 2), target=0.6, met=dry / full <= 0.6)


if __name__ == "__main__":
    main()
