"""`make bench` keeps working: each benchmark runs at a tiny size on its own temporary SQLite
database (the imports' on the test database, in this process) and prints one JSON object per
line with the convention's fields; the checkout benchmark, PostgreSQL only, runs in the
PostgreSQL run on a database of its own. Figures are not asserted: speed is for
`benchmarks/RESULTS.md`, not for unit tests."""

import json
import os

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from backoffice.extensions import db
from benchmarks import (
    billing,
    directory,
    downline,
    imports,
    jobs,
    marketplace,
    messages,
    orders_offers,
    redemption,
    seed,
)


@pytest.mark.parametrize("module, argv", [
    (seed, ["--addresses", "300"]),
    (downline, ["--addresses", "3000", "--repeat", "2"]),
    (directory, ["--partners", "300", "--repeat", "3"]),
    (marketplace, ["--partners", "100", "--history", "200", "--repeat", "3", "--sends", "4"]),
    (messages, ["--conversations", "300", "--partners", "30", "--unread", "300", "--repeat", "3"]),
    (orders_offers, ["--services", "200", "--orders", "50", "--repeat", "5", "--accepts", "4"]),
    (jobs, ["--assignments", "500", "--partners", "20"]),
    (billing, ["--partners", "5", "--charges", "20", "--pdfs", "1", "--debits", "3"]),
], ids=["seed", "downline", "directory", "marketplace", "messages", "orders_offers", "jobs",
        "billing"])
def test_benchmark_prints_metric_lines(module, argv, capsys):
    module.main(argv)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert lines, "no metric printed"
    for line in lines:
        assert {"metric", "value", "unit", "backend"} <= line.keys(), line
        assert line["backend"] == "sqlite"
        if "target" in line and isinstance(line["target"], (int, float)):
            assert isinstance(line["met"], bool)
    if module is billing:
        assert {line["metric"] for line in lines} == {
            "raw_insert_select_seconds", "monthly_run_seconds", "rerun_seconds", "invoice_pdfs_per_second",
            "invoice_mail_tasks_per_second", "pain008_seconds"}
        [tasks] = [line for line in lines if line["metric"] == "invoice_mail_tasks_per_second"]
        assert (tasks["rendered"], tasks["mailed"]) == (1, 1)
        assert [line["rows_written"] for line in lines if line["metric"] == "rerun_seconds"] == [0]


def test_imports_benchmark_imports_every_row_it_generates(app, capsys):
    """In this process, against the test database (no app or schema of its own: fast)."""
    imports.main(["--rows", "20"], app=app)
    printed = [json.loads(text) for text in capsys.readouterr().out.splitlines() if text.startswith("{")]
    lines = {line["metric"]: line for line in printed}
    assert len(printed) == len(lines) == 6
    assert set(lines) == {"codes_raw_seconds", "codes_import_seconds", "codes_import_peak_rss",
                          "codes_dry_run_seconds", "addresses_import_seconds", "addresses_dry_run_seconds"}
    backend = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    assert {(line["backend"], line["rows"]) for line in printed} == {(backend, 20)}
    assert lines["codes_import_seconds"]["rows_imported"] == 20
    assert lines["addresses_import_seconds"]["rows_imported"] == 20
    assert {name: type(line["met"]) for name, line in lines.items() if "target" in line} == {
        "codes_import_seconds": bool, "codes_import_peak_rss": bool, "codes_dry_run_seconds": bool,
        "addresses_import_seconds": bool, "addresses_dry_run_seconds": bool}
    with app.app_context():
        stored = {table: db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
                  for table in ("voucher_code", "address", "address_tree")}
    assert stored == {"voucher_code": 20, "address": 20, "address_tree": 20}


def test_redemption_benchmark_prints_metric_lines(request, capsys, monkeypatch):
    """Service, raw SQL and HTTP (gunicorn) all place their orders: none failed."""
    if request.config.getoption("--db") != "postgres":
        pytest.skip("PostgreSQL only: covered by the PostgreSQL run")
    test_url = make_url(os.environ["TEST_DATABASE_URL"])
    url = test_url.set(database=f"{test_url.database}_bench").render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)  # main() sets it for the gunicorn it starts
    redemption.main(["--database", url, "--orders", "20", "--rounds", "2", "--clients", "2"])
    printed = [json.loads(text) for text in capsys.readouterr().out.splitlines() if text.startswith("{")]
    lines = {line["metric"]: line for line in printed}
    assert set(lines) == {"raw_sql_orders_per_second", "service_orders_per_second",
                          "http_orders_per_second", "http_p99_latency"}
    assert lines["service_orders_per_second"]["failed"] == 0
    assert lines["http_orders_per_second"]["failed"] == 0
    assert all(line["orders"] == 20 for line in lines.values())
    assert isinstance(lines["http_p99_latency"]["met"], bool)
