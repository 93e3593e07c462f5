"""Benchmark partner billing: the monthly run, its re-run, invoice PDFs and the SEPA file.

    python -m benchmarks.billing --partners 50000 --charges 1000000 --debits 50000 \
        --database postgresql://postgres@127.0.0.1:5432/pd_bench_billing

The database is WIPED, migrated and filled: the demo address tree (about one partner per
five addresses, `--partners` of them used, each with a SEPA mandate) and `--charges` lead
charges in November 2026 spread over them (requests, direct requests, charges, as the
marketplace writes them). Prints one JSON object per metric:

* `raw_insert_select_seconds`: the baseline, in the same run: one `INSERT … SELECT` of the
  invoices (sums per partner) and one of their lines from the charges (the same line rows
  as the run writes: text with the category's name and the day in Berlin, that day),
  committed, then removed again (untimed).
* `monthly_run_seconds`: `monthly_invoice.run` for November: what to bill, then the
  statements batch by batch, each batch one transaction (numbers, invoices, lines by
  `INSERT … SELECT`); `ratio` = run / baseline (target: ≤ 60 s at 50,000 partners ×
  1,000,000 charges and ≤ 2 × baseline).
* `rerun_seconds`: the same run again; `rows_written` must be 0 (target ≤ 5 s).
* `invoice_pdfs_per_second`: `render_partner_invoice` (page and EN 16931 XML, validated) for
  `--pdfs` statements in one thread: what one task worker renders.
* `invoice_mail_tasks_per_second`: the rendering task's own path for the same statements in
  one thread (`tasks.billing.render_invoices`: claim, render, store the PDF, queue the mail
  with it attached): invoices per second per task worker. The run does not wait for it.
* `pain008_seconds`: `create_debit_file` for the first `--debits` statements (one pain.008,
  XSD-validated, with its debits and payments written; target ≤ 10 s for 50,000);
  `xsd_valid`: the stored file checked against the schema once more, outside the timing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from benchmarks.marketplace import _insert
from benchmarks.seed import _fresh_postgres, _fresh_sqlite, _sqlalchemy_url

TARGET_RUN_SECONDS = 60.0
TARGET_RUN_RATIO = 2.0
TARGET_RERUN_SECONDS = 5.0
TARGET_PAIN008_SECONDS = 10.0
MONTH_START = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)  # 1 November, 00:00 in Berlin
ISSUED_ON = date(2026, 12, 15)


def _emit(metric, value, unit, backend, partners, charges, **extra):
    line = {"metric": metric, "value": round(value, 3) if isinstance(value, float) else value, "unit": unit,
            "backend": backend, "partners": partners, "charges": charges}
    line.update(extra)
    line["load"] = round(os.getloadavg()[0], 2)
    print(json.dumps(line), flush=True)


def generate(session, partners_wanted: int, charges: int, seed: int = 5) -> list[int]:
    """Partners with a mandate and `charges` November charges spread over them."""
    from backoffice.demo import bulk_insert

    rnd = random.Random(seed)
    bulk_insert(session, max(50, partners_wanted * 5 + 50))
    conn = session.connection()
    partner_ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM partner ORDER BY id"))][
        :partners_wanted]
    mandates = sa.text("UPDATE partner SET iban = 'DE02120300000000202051', mandate_reference = 'PD-' || id, "
                       "mandate_date = :day WHERE id IN (SELECT id FROM partner ORDER BY id LIMIT :n)")
    conn.execute(mandates.bindparams(sa.bindparam("day", type_=sa.Date())),
                 {"day": date(2026, 1, 5), "n": partners_wanted})
    now = MONTH_START
    _insert(conn, "category", ["id", "name_de", "name_en", "active", "position", "min_bid", "created_at",
                               "updated_at"], [(1, "Elektro", "Electrical", True, 1, 5, now, now)])
    requests, directs, lead_charges = [], [], []
    per_request = min(5, len(partner_ids))
    seconds = 30 * 24 * 3600 - 1
    for n in range(charges):
        if n % per_request == 0:
            request_id = n // per_request + 1
            at = now + timedelta(seconds=rnd.randint(0, seconds))
            chosen = rnd.sample(partner_ids, per_request)
            requests.append((request_id, 1, "Benchmark", "10115", 52.5, 13.4, "Kunde", "k@example.org", "de",
                             "closed", at))
        partner_id = chosen[n % per_request]
        directs.append((n + 1, request_id, partner_id, "new", at))
        lead_charges.append((n + 1, n + 1, request_id, partner_id, 1, rnd.randint(500, 3000) / 100, 19, at,
                             "{}"))
    _insert(conn, "lead_request", ["id", "category_id", "description", "postal_code", "latitude", "longitude",
                                   "customer_name", "email", "language", "status", "created_at"], requests)
    _insert(conn, "direct_request", ["id", "request_id", "partner_id", "status", "created_at"], directs)
    _insert(conn, "lead_charge", ["id", "direct_request_id", "request_id", "partner_id", "category_id", "net",
                                  "vat_rate", "charged_at", "receipt"], lead_charges)
    if conn.dialect.name == "postgresql":
        for table in ("category", "lead_request", "direct_request", "lead_charge"):
            conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
    return partner_ids


RAW_INVOICES = """
INSERT INTO invoice (series, number, kind, partner_id, issued_at, delivery_date, buyer_name, total_net,
                     total_vat, total_gross, period_start, period_end, due_date, mandate_reference)
SELECT 'partner', ROW_NUMBER() OVER (ORDER BY s.partner_id), 'invoice', s.partner_id, :issued, :last_day,
       a.last_name, s.net, ROUND(s.net * 19 / 100, 2), s.net + ROUND(s.net * 19 / 100, 2), :first_day,
       :last_day, :due, p.mandate_reference
FROM (SELECT partner_id, SUM(net) AS net FROM lead_charge WHERE charged_at >= :start AND charged_at < :end
      GROUP BY partner_id) s
JOIN partner p ON p.id = s.partner_id JOIN address a ON a.id = p.address_id
"""
# The lines as the run writes them: the charge's day in Berlin and its category's name in the text.
RAW_LINES = """
INSERT INTO invoice_line (invoice_id, position, description, quantity, unit_net, vat_rate, net, occurred_on,
                          source, source_id)
SELECT i.id, ROW_NUMBER() OVER (PARTITION BY c.partner_id ORDER BY {day}, c.id),
       SUBSTR('Anfrage ' || c.request_id || ' (' || CASE WHEN p.id IS NULL THEN k.name_de
                                                         ELSE p.name_de || ' › ' || k.name_de END
              || '), ' || {day_text}, 1, 300),
       1, c.net, c.vat_rate, c.net, {day}, 'lead_charge', c.id
FROM lead_charge c JOIN invoice i ON i.partner_id = c.partner_id AND i.period_start = :first_day
JOIN category k ON k.id = c.category_id LEFT JOIN category p ON p.id = k.parent_id
WHERE c.charged_at >= :start AND c.charged_at < :end
"""
# November is winter time all month: SQLite needs no transition.
DAYS = {"postgresql": ("CAST(timezone('Europe/Berlin', c.charged_at) AS DATE)",
                       "to_char({day}, 'DD.MM.YYYY')"),
        "sqlite": ("date(c.charged_at, '+60 minutes')", "strftime('%d.%m.%Y', {day})")}


def _raw_baseline(engine, period) -> float:
    from backoffice.models.types import UTCDateTime

    start, end = period.bounds(ZoneInfo("Europe/Berlin"))
    params = {"issued": datetime(2026, 12, 15, 11, tzinfo=UTC), "first_day": period.start,
              "last_day": period.last_day, "due": ISSUED_ON + timedelta(days=14), "start": start, "end": end}
    typed = [sa.bindparam("issued", type_=UTCDateTime()), sa.bindparam("start", type_=UTCDateTime()),
             sa.bindparam("end", type_=UTCDateTime())]
    day, day_text = DAYS[engine.dialect.name]
    lines = RAW_LINES.format(day=day, day_text=day_text.format(day=day))
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text(RAW_INVOICES).bindparams(*typed), params)
        conn.execute(sa.text(lines).bindparams(*typed[1:]),
                     {k: params[k] for k in ("first_day", "last_day", "start", "end")})
    seconds = time.perf_counter() - t0
    with engine.begin() as conn:
        written = _lines_digest(conn)
        conn.execute(sa.text("DELETE FROM invoice_line"))
        conn.execute(sa.text("DELETE FROM invoice"))
    return seconds, written


def _lines_digest(conn) -> str:
    """A digest of the lines' content (what billed what, with which text, day, position)."""
    digest = hashlib.sha256()
    for row in conn.execute(sa.text("SELECT source_id, position, description, net, vat_rate, occurred_on "
                                    "FROM invoice_line ORDER BY source_id")):
        digest.update(repr((row[0], row[1], row[2], str(row[3]), str(row[4]), str(row[5]))).encode())
    return digest.hexdigest()


def _written(session) -> tuple[int, int]:
    return (session.execute(sa.text("SELECT COUNT(*) FROM invoice")).scalar(),
            session.execute(sa.text("SELECT COUNT(*) FROM invoice_line")).scalar())


def _rendering_tasks(session, app, ids: list[int], backend: str, partners: int, charges: int) -> None:
    """What one task worker renders, stores and mails per second (its claim and stamp included)."""
    from backoffice.tasks.billing import render_invoices

    t0 = time.perf_counter()
    done = render_invoices(session, ids)
    seconds = time.perf_counter() - t0
    session.rollback()
    _emit("invoice_mail_tasks_per_second", len(ids) / seconds if seconds else 0.0, "1/s", backend, partners,
          charges, pdfs=len(ids), rendered=done["rendered"], mailed=done["mailed"],
          note="one thread: claim, render, store, queue the mail; what one task worker does")


def run(partners: int, charges: int, pdfs: int, debits: int, database: str | None) -> None:
    from flask_migrate import upgrade
    from lxml import etree

    from app import create_app
    from backoffice import transaction
    from backoffice.audit import acting_as
    from backoffice.extensions import db
    from backoffice.models import Invoice, SepaFile
    from backoffice.services import direct_debits, monthly_invoice, sepa
    from backoffice.services.billing import Period, render_partner_invoice

    tmpdir = tempfile.TemporaryDirectory(prefix="pd-bench-billing-")
    url = _sqlalchemy_url(database or f"sqlite:///{Path(tmpdir.name) / 'billing.db'}")
    backend = "postgresql" if url.get_backend_name() == "postgresql" else "sqlite"
    (_fresh_postgres if backend == "postgresql" else _fresh_sqlite)(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False), "MAIL_SERVER": "",
                      "COMPANY_TIME_ZONE": "Europe/Berlin"})
    with app.app_context(), app.test_request_context(), acting_as("benchmark"):
        upgrade(revision="heads")
        started = time.perf_counter()
        with transaction.unit_of_work() as session:
            partner_ids = generate(session, partners, charges)
            billed = session.execute(sa.text("SELECT COUNT(DISTINCT partner_id) FROM lead_charge")).scalar()
        print(f"benchmarks.billing: {len(partner_ids)} partners, {charges} charges on {backend} in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
        if backend == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        period = Period.month(2026, 11)
        n = len(partner_ids)

        baseline, baseline_lines = _raw_baseline(db.engine, period)
        _emit("raw_insert_select_seconds", baseline, "s", backend, n, charges)

        t0 = time.perf_counter()
        result = monthly_invoice.run(db.session, period, ISSUED_ON, 14)
        seconds = time.perf_counter() - t0
        invoices, lines = _written(db.session)
        with db.engine.connect() as conn:
            same_rows = _lines_digest(conn) == baseline_lines
        db.session.rollback()
        ratio = seconds / baseline if baseline else None
        _emit("monthly_run_seconds", seconds, "s", backend, n, charges, invoices=invoices, lines=lines,
              target=f"<= {TARGET_RUN_SECONDS} s and <= {TARGET_RUN_RATIO} x baseline",
              met=bool(seconds <= TARGET_RUN_SECONDS and ratio is not None and ratio <= TARGET_RUN_RATIO),
              baseline=round(baseline, 3), ratio=round(ratio, 2) if ratio else None,
              written=len(result.written), same_rows_as_baseline=same_rows)
        assert (invoices, lines) == (billed, charges), (invoices, lines, billed, charges)

        t0 = time.perf_counter()
        again = monthly_invoice.run(db.session, period, ISSUED_ON, 14)
        seconds = time.perf_counter() - t0
        rows_written = sum(_written(db.session)) - invoices - lines
        db.session.rollback()
        _emit("rerun_seconds", seconds, "s", backend, n, charges, rows_written=rows_written,
              invoices_written=len(again.written), target=TARGET_RERUN_SECONDS,
              met=bool(seconds <= TARGET_RERUN_SECONDS and rows_written == 0))

        ids = db.session.execute(sa.select(Invoice.id).order_by(Invoice.id).limit(pdfs)).scalars().all()
        t0 = time.perf_counter()
        for invoice_id in ids:
            render_partner_invoice(db.session.get(Invoice, invoice_id), app.config)
        seconds = time.perf_counter() - t0
        db.session.rollback()
        _emit("invoice_pdfs_per_second", len(ids) / seconds if seconds else 0.0, "1/s", backend, n, charges,
              pdfs=len(ids), note="one thread, what one task worker renders")
        _rendering_tasks(db.session, app, ids, backend, n, charges)

        # Only the first `debits` statements are due: the others wait for a later file.
        debit_ids = db.session.execute(sa.select(Invoice.id).order_by(Invoice.id).limit(debits)
                                       ).scalars().all()
        db.session.rollback()
        with transaction.unit_of_work() as session:
            session.execute(sa.update(Invoice).where(Invoice.id.notin_(
                sa.select(Invoice.id).order_by(Invoice.id).limit(debits).scalar_subquery()))
                .values(mandate_reference=None))
        t0 = time.perf_counter()
        with transaction.unit_of_work() as session:
            made = direct_debits.create_debit_file(session, ISSUED_ON, app.config)
        seconds = time.perf_counter() - t0
        xml = db.session.get(SepaFile, made.file_id).xml
        valid = sepa._schema().validate(etree.fromstring(xml))
        _emit("pain008_seconds", seconds, "s", backend, n, charges, debits=made.debit_count,
              xsd_valid=bool(valid), target=TARGET_PAIN008_SECONDS,
              met=bool(seconds <= TARGET_PAIN008_SECONDS and valid and made.debit_count == len(debit_ids)))
        db.session.remove()
        db.engine.dispose()
    tmpdir.cleanup()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=1000)
    parser.add_argument("--charges", type=int, default=20_000)
    parser.add_argument("--pdfs", type=int, default=20)
    parser.add_argument("--debits", type=int, default=1000)
    parser.add_argument("--database", help="SQLAlchemy URL (WIPED); default: a temporary SQLite file")
    args = parser.parse_args(argv)
    run(args.partners, args.charges, args.pdfs, args.debits, args.database)


if __name__ == "__main__":
    main()
