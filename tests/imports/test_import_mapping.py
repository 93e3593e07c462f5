"""Columns mapped by hand: a file whose header names nothing we know is imported once staff say
which column is which, in the Desk, the API and the CLI, and the mapping is reused for the next file."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Article, ImportRun, ImportStatus
from imports.cli import import_command
from imports.runner import run
from tests.support.http import api_token, csrf_token, login

FILES = Path(__file__).parent / "files"
FOREIGN = FILES / "articles_foreign_header.csv"
MAPPING = {"Nr": "article_no", "Text": "name", "VK": "gross_price", "Steuer": "vat_rate", "Hausnummer": ""}


def stored() -> dict:
    return dict(db.session.execute(sa.select(Article.article_no, Article.name)).all())


def test_without_a_mapping_the_missing_columns_are_named_with_the_header(ctx, english):
    report = run(ctx, "articles", FOREIGN, dry_run=True)
    assert report.problem == ("Missing column(s): article_no, name, gross_price. The file's header (row 1) "
                              "is: Nr;Text;VK;Steuer;Hausnummer.")


def test_a_mapping_reads_the_columns_as_told(ctx, english):
    report = run(ctx, "articles", FOREIGN, dry_run=False, mapping=MAPPING)
    assert report.ok and report.created == 2
    assert report.columns == {"Nr": "article_no", "Text": "name", "VK": "gross_price", "Steuer": "vat_rate"}
    assert stored() == {"F-1": "Bürste", "F-2": "Kamm"}
    assert run(ctx, "articles", FOREIGN, mapping={"Nr": "nonsense"}).problem.startswith(
        "The mapping names unknown fields: nonsense.")


def test_api_takes_a_mapping_and_reuses_it_for_the_next_file(client, make):
    make.user("stella", "Staff")
    headers = api_token(client, "stella")

    def post(**form):
        return client.post("/api/v1/imports/articles", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(FOREIGN.read_bytes()), FOREIGN.name), **form})

    first = post(mapping=json.dumps(MAPPING))
    assert first.status_code == 200 and first.json["created"] == 2, first.json
    again = post(mapping_from=str(first.json["id"]), dry_run="false")
    assert again.status_code == 200 and again.json["written"]
    assert stored() == {"F-1": "Bürste", "F-2": "Kamm"}
    bad = post(mapping="[1, 2]")
    assert bad.status_code == 400 and bad.json["error"] == "invalid_mapping"


def test_cli_takes_a_mapping_and_lists_ignored_columns(app, ctx):
    runner = app.test_cli_runner()
    result = runner.invoke(import_command, ["articles", str(FOREIGN), "--commit", "--map", "Nr=article_no",
                                            "--map", "Text=name", "--map", "VK=gross_price",
                                            "--map", "Steuer=vat_rate"])
    assert result.exit_code == 0, result.output
    assert "ignored columns: Hausnummer" in result.output
    assert "sieht nach einer Hausnummer aus" in result.output  # the Desk's default language
    assert stored() == {"F-1": "Bürste", "F-2": "Kamm"}
    binary = runner.invoke(import_command, ["articles", str(FILES / "not_a_csv.csv")])
    assert binary.exit_code == 1 and "Traceback" not in binary.output
    assert "weder eine CSV-Textdatei noch eine Excel-Arbeitsmappe" in binary.output


def test_desk_maps_the_columns_on_the_check_page(client, make, task_worker):
    make.user("stella", "Staff")
    login(client, "stella")
    token = csrf_token(client, "/imports/")
    response = client.post("/imports/upload", content_type="multipart/form-data", data={
        "csrf_token": token, "kind": "articles", "file": (io.BytesIO(FOREIGN.read_bytes()), FOREIGN.name)})
    task_worker.wait(int(re.search(r"/tasks/(\d+)", response.headers["Location"]).group(1)))
    first = db.session.execute(sa.select(ImportRun)).scalar_one()
    assert first.status == ImportStatus.failed and "Fehlende Spalte(n)" in first.message
    page = client.get(f"/imports/{first.id}").get_data(as_text=True)
    assert 'data-test="import-mapping"' in page and "<code>Hausnummer</code>" in page

    form = {"csrf_token": csrf_token(client, f"/imports/{first.id}"),
            "map-0": "article_no", "map-1": "name", "map-2": "gross_price", "map-3": "vat_rate", "map-4": ""}
    response = client.post(f"/imports/{first.id}/remap", data=form)
    task = task_worker.wait(int(re.search(r"/tasks/(\d+)", response.headers["Location"]).group(1)))
    assert task.status.value == "done", task.error
    checked = db.session.execute(sa.select(ImportRun).order_by(ImportRun.id.desc())).scalars().first()
    assert (checked.status, checked.created) == (ImportStatus.checked, 2)
    page = client.get(f"/imports/{checked.id}").get_data(as_text=True)
    assert "Bürste" in page and 'data-test="import-commit"' in page
    # The fields are named as the German template names them, not by their internal names.
    assert "<code>Steuer</code> → MwSt" in page and "<th>MwSt</th>" in page
    assert '<option value="vat_rate" selected>MwSt</option>' in page and ">vat_rate<" not in page
    assert f'<option value="{checked.id}">' in client.get("/imports/").get_data(as_text=True)


def test_cli_reuses_the_mapping_of_an_earlier_run_of_the_same_kind(app, ctx):
    runner = app.test_cli_runner()
    first = runner.invoke(import_command, ["articles", str(FOREIGN), "--map", "Nr=article_no",
                                           "--map", "Text=name", "--map", "VK=gross_price",
                                           "--map", "Steuer=vat_rate"])
    assert first.exit_code == 0, first.output
    checked = db.session.execute(sa.select(ImportRun)).scalar_one()
    assert (checked.status, checked.created) == (ImportStatus.checked, 2)
    again = runner.invoke(import_command, ["articles", str(FOREIGN), "--commit",
                                           "--mapping-from", str(checked.id)])
    assert again.exit_code == 0, again.output
    assert "2 to create" in again.output and "— imported" in again.output
    assert stored() == {"F-1": "Bürste", "F-2": "Kamm"}
    wrong_kind = runner.invoke(import_command, ["addresses", str(FOREIGN),
                                                "--mapping-from", str(checked.id)])
    assert wrong_kind.exit_code != 0 and stored() == {"F-1": "Bürste", "F-2": "Kamm"}
