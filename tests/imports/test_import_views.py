"""Imports through the Desk (upload → background check → import) and the REST endpoint."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Article, ImportRun, ImportStatus
from tests.support.http import api_token, csrf_token, login

FILES = Path(__file__).parent / "files"
ARTICLES = FILES / "articles_excel_cp1252.csv"


def upload(client, path: Path, kind: str):
    token = csrf_token(client, "/imports/")
    return client.post("/imports/upload", data={"csrf_token": token, "kind": kind,
                                                "file": (io.BytesIO(path.read_bytes()), path.name)},
                       content_type="multipart/form-data")


def task_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(re.search(r"/tasks/(\d+)", response.headers["Location"]).group(1))


def articles() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Article)).scalar()


def test_desk_upload_is_checked_in_the_background_then_imported(client, make, task_worker):
    make.user("stella", "Staff")
    login(client, "stella")
    task = task_worker.wait(task_id_of(upload(client, ARTICLES, "articles")))
    assert task.status.value == "done", task.error
    check = db.session.execute(sa.select(ImportRun)).scalar_one()
    assert (check.status, check.dry_run, check.created, check.source) == (ImportStatus.checked, True, 3,
                                                                          "desk")
    assert articles() == 0  # a check writes nothing
    page = client.get(f"/imports/{check.id}").get_data(as_text=True)
    assert "Rosenöl 50 ml" in page and 'data-test="import-commit"' in page  # preview and the button

    token = csrf_token(client, f"/imports/{check.id}")
    committed = client.post(f"/imports/{check.id}/commit", data={"csrf_token": token})
    task = task_worker.wait(task_id_of(committed))
    assert task.status.value == "done", task.error
    assert articles() == 3
    history = client.get("/imports/").get_data(as_text=True)
    assert history.count("articles_excel_cp1252.csv") == 2 and "stella" in history


def test_a_file_with_errors_cannot_be_imported_and_its_report_downloads(client, make, task_worker):
    make.user("stella", "Staff")
    login(client, "stella")
    task_worker.wait(task_id_of(upload(client, FILES / "addresses_cycle.csv", "addresses")))
    run = db.session.execute(sa.select(ImportRun)).scalar_one()
    assert run.status == ImportStatus.rejected and run.error_count == 3
    page = client.get(f"/imports/{run.id}").get_data(as_text=True)
    assert 'data-test="import-commit"' not in page and "K-3" in page
    token = csrf_token(client, "/imports/")
    refused = client.post(f"/imports/{run.id}/commit", data={"csrf_token": token})
    assert refused.status_code == 302 and "/tasks/" not in refused.headers["Location"]
    csv_report = client.get(f"/imports/{run.id}/errors.csv")
    assert csv_report.status_code == 200 and "K-3" in csv_report.get_data(as_text=True)
    assert client.get(f"/imports/{run.id}/errors.xlsx").status_code == 200


def test_upload_without_csrf_token_is_refused(client, make):
    make.user("stella", "Staff")
    login(client, "stella")
    response = client.post("/imports/upload", data={"kind": "articles",
                                                    "file": (io.BytesIO(ARTICLES.read_bytes()), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code in (302, 400) and "/tasks/" not in response.headers.get("Location", "")
    assert db.session.execute(sa.select(sa.func.count()).select_from(ImportRun)).scalar() == 0


def test_finance_reads_the_history_but_cannot_import_and_partners_see_nothing(client, make, ctx):
    make.user("fiona", "Finance")
    make.partner("petra")
    from imports.runs import new_run

    run = new_run(ctx, "articles", ARTICLES, "articles.csv", dry_run=True, source="cli", actor="cli:root")
    login(client, "fiona")
    assert client.get("/imports/").status_code == 200
    assert client.get(f"/imports/{run.id}").status_code == 200
    # The pages offer Finance no upload or import form; a valid token does not open the door either.
    token = csrf_token(client, "/userinfoeditview/form")
    assert client.post(f"/imports/{run.id}/commit", data={"csrf_token": token}).status_code == 403
    assert db.session.execute(sa.select(sa.func.count()).select_from(ImportRun)).scalar() == 1
    client.get("/logout/")
    login(client, "petra")
    for url in ("/imports/", f"/imports/{run.id}", f"/imports/{run.id}/errors.csv",
                "/imports/templates/articles.csv"):
        response = client.get(url)
        assert response.status_code == 403 and "Rosen" not in response.get_data(as_text=True), url


def test_templates_name_every_column(client, make):
    make.user("stella", "Staff")
    login(client, "stella")
    client.get("/lang/en")  # the template's header names follow the UI language
    body = client.get("/imports/templates/addresses.csv").get_data(as_text=True)
    header = body.lstrip("\ufeff").splitlines()[0].split(";")
    assert header[:4] == ["external_key", "salutation", "first_name", "last_name"]
    assert "sponsor_external_key" in header
    assert client.get("/imports/templates/nonsense.csv").status_code == 404


@pytest.fixture
def staff_api(client, make):
    make.user("stella", "Staff")
    return api_token(client, "stella")


def post_file(client, headers, kind, path: Path, **form):
    return client.post(f"/api/v1/imports/{kind}", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(path.read_bytes()), path.name), **form})


def test_api_checks_by_default_and_imports_on_request(client, staff_api):
    checked = post_file(client, staff_api, "articles", ARTICLES)
    assert checked.status_code == 200 and checked.json["created"] == 3 and not checked.json["written"]
    assert articles() == 0
    imported = post_file(client, staff_api, "articles", ARTICLES, dry_run="false")
    assert imported.status_code == 200 and imported.json["written"] and articles() == 3


def test_api_reports_row_errors_with_422_and_bad_requests_with_4xx(client, staff_api):
    bad = post_file(client, staff_api, "addresses", FILES / "addresses_cycle.csv", dry_run="false")
    assert bad.status_code == 422
    cycle = "Die Sponsor-Verweise bilden einen Zyklus: Zeilen 3 → 4 → 3."
    assert bad.json["errors"] == [
        {"line": 3, "column": "sponsor_external_key", "value": "K-3", "message": cycle},
        {"line": 4, "column": "sponsor_external_key", "value": "K-2", "message": cycle},
        {"line": 5, "column": "sponsor_external_key", "value": "K-3",
         "message": "Die Sponsorkette führt in einen Zyklus von Sponsor-Verweisen."}]
    no_file = client.post("/api/v1/imports/addresses", headers=staff_api)
    assert (no_file.status_code, no_file.json) == (400, {
        "error": "no_file", "message": "Senden Sie die Datei als Multipart-Formularfeld 'file'."})
    unknown = post_file(client, staff_api, "nonsense", ARTICLES)
    assert (unknown.status_code, unknown.json) == (404, {
        "error": "unknown_kind",
        "message": "Unbekannte Importart; bekannt sind: addresses, partners, articles, vouchers, "
                   "voucher_codes, sponsor_moves."})


def test_api_runs_large_files_as_a_task(client, staff_api, app, task_worker):
    app.config["IMPORT_INLINE_MAX_BYTES"] = 10
    try:
        response = post_file(client, staff_api, "articles", ARTICLES, dry_run="false")
    finally:
        app.config["IMPORT_INLINE_MAX_BYTES"] = 2 * 1024 * 1024
    assert response.status_code == 202
    task_worker.wait(response.json["task_id"])
    status = client.get(response.json["status_url"], headers=staff_api)
    assert status.json["status"] == "imported" and status.json["created"] == 3 and articles() == 3


def test_partner_and_anonymous_cannot_use_the_import_api(client, make):
    make.partner("petra")
    partner = api_token(client, "petra")
    forbidden = post_file(client, partner, "articles", ARTICLES, dry_run="false")
    assert (forbidden.status_code, forbidden.json) == (403, {"error": "forbidden",
                                                             "message": "Das dürfen Sie nicht."})
    anonymous = post_file(client, {}, "articles", ARTICLES, dry_run="false")
    assert (anonymous.status_code, anonymous.json["error"]) == (401, "not_authenticated")
    assert articles() == 0
