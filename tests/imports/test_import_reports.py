"""What each class of the import defects looks like to a person, asserted whole: file-level
messages naming the right row, the notes on ignored columns, empty cells of updates, lengths
of every kind, one normalisation per key, and the Desk reusing a mapping."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Article, ImportRun, ImportStatus, Partner, Voucher
from imports.runner import run
from tests.support.http import csrf_token, login

FILES = Path(__file__).parent / "files"
pytestmark = pytest.mark.usefixtures("english")
ARTICLES = "Artikelnummer;Bezeichnung;Bruttopreis;MwSt\n"


def errors(report) -> list[tuple]:
    return [(e.line, e.column, e.value, e.message) for e in report.errors]


def count(ctx, model) -> int:
    return ctx.execute(sa.select(sa.func.count()).select_from(model)).scalar()


# --- file-level messages, each naming the row a spreadsheet shows -----------------------------

@pytest.mark.parametrize(("content", "problem"), [
    (b"", "The file is empty."),
    (b"\n;;\n\n", "The file is empty."),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504,
     "This is an old Excel file (.xls); please save it as .xlsx or CSV."),
    (b"PK\x03\x04" + b"\0" * 60, "This is neither a CSV text file nor an Excel workbook (.xlsx)."),
    (b"Artikelnummer;SKU;Bezeichnung;Preis\nA-1;A-1;Seife;1,00\n",
     "The columns Artikelnummer and SKU both mean article_no."),
    (b"\n\nArtikelnummer;Preis\nA-1;1,00\n",
     "Missing column(s): name. The file's header (row 3) is: Artikelnummer;Preis."),
    (b"Nachname;Ort\nMuster;Berlin\n", None),
    ((ARTICLES + "A-1;Seife;1,00;19\n\n\n" + 'A-2;"Kamm;2,00;19\n').encode(),
     "Row 5 cannot be read as CSV: unexpected end of data"),
    ((ARTICLES + "\n").encode(), "The file has a header but no rows."),
])
def test_file_problems_are_one_exact_message(ctx, tmp_path, content, problem):
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    kind = "addresses" if problem is None else "articles"
    report = run(ctx, kind, path, dry_run=False)
    if problem is None:  # a file without any key column to match rows on re-import
        problem = "The file needs one of these columns to match rows on re-import: external_key, email."
    assert (report.problem, report.errors, report.written) == (problem, [], False)
    assert count(ctx, Article) == 0


def test_an_ignored_customer_number_in_an_article_file_is_named(ctx, tmp_path):
    path = tmp_path / "articles.csv"
    path.write_text("Artikelnummer;Bezeichnung;Bruttopreis;MwSt;Kundennummer;Bemerkung\nA-1;Seife;1,00;19;K-7;x\n",
                    "utf-8")
    report = run(ctx, "articles", path, dry_run=True)
    assert (report.ok, report.ignored_columns) == (True, ["Kundennummer", "Bemerkung"])
    assert report.notes == ["The column Kundennummer looks like data (customer number) that this kind of "
                            "import cannot take; it is ignored."]


# --- the dry run finds what the commit refuses ------------------------------------------------

@pytest.mark.parametrize(("kind", "content", "expected"), [
    ("vouchers", "Schlüssel;Bezeichnung;Betrag\nK-1;" + "v" * 201 + ";5,00\n",
     [(2, "Bezeichnung", "v" * 201, "At most 200 characters (this has 201).")]),
    ("partners", "Adresse;Subdomain;IBAN;Mandatsdatum;Mandatsreferenz\n"
                 "P-1;meier;DE89370400440532013000;01.11.2026;" + "M" * 36 + "\n",
     [(2, "Mandatsreferenz", "M" * 36, "At most 35 characters (this has 36).")]),
])
def test_lengths_of_vouchers_and_partners_are_found_by_the_dry_run(ctx, make, tmp_path, kind, content,
                                                                  expected):
    make.address(last_name="Meier", external_key="P-1")
    path = tmp_path / f"{kind}.csv"
    path.write_text(content, "utf-8")
    for dry_run in (True, False):
        report = run(ctx, kind, path, dry_run=dry_run)
        assert (errors(report), report.written) == (expected, False)
    assert count(ctx, Voucher) + count(ctx, Partner) == 0


def test_empty_cells_keep_the_stored_values_of_partners(ctx, make, tmp_path):
    partner = make.partner("meier", subdomain="meier", profile_text="Seit 2010",
                           iban="DE89370400440532013000", mandate_reference="M-1",
                           mandate_date=date(2026, 11, 1))
    partner.address.external_key = "P-1"
    ctx.commit()
    path = tmp_path / "partners.csv"
    path.write_text("Adresse;Subdomain;Profiltext;IBAN;Mandatsreferenz;verfügbar\n;MEIER;;;;\n", "utf-8")
    for dry_run in (True, False):
        report = run(ctx, "partners", path, dry_run=dry_run)
        assert (errors(report), report.created, report.updated, report.unchanged) == ([], 0, 0, 1)
    ctx.expire_all()
    assert (partner.address.external_key, partner.profile_text, partner.iban, partner.mandate_reference) == (
        "P-1", "Seit 2010", "DE89370400440532013000", "M-1")


def test_article_numbers_are_one_key_in_the_file_and_against_the_database(ctx, make, tmp_path):
    """Exactly as the article rules compare them (case matters): the dry run and the commit agree."""
    make.article(article_no="NK-1001", name="Rosenöl", gross_price=Decimal("24.90"))
    path = tmp_path / "articles.csv"
    path.write_text(ARTICLES + "NK-1001;Rosenöl;24,90;19\nnk-1001;Kleines Rosenöl;9,90;19\n"
                    " NK-1001 ;Doppelt;1,00;19\n", "utf-8")
    expected = [(4, "Artikelnummer", "NK-1001", "Appears already in line 2.")]
    for dry_run in (True, False):
        report = run(ctx, "articles", path, dry_run=dry_run)
        assert (errors(report), report.written) == (expected, False)
    path.write_text(ARTICLES + "NK-1001;Rosenöl;24,90;19\nnk-1001;Kleines Rosenöl;9,90;19\n", "utf-8")
    checked = run(ctx, "articles", path, dry_run=True)
    done = run(ctx, "articles", path, dry_run=False)
    assert [(r.created, r.unchanged, r.ok) for r in (checked, done)] == [(1, 1, True), (1, 1, True)]
    assert dict(ctx.execute(sa.select(Article.article_no, Article.name)).all()) == {
        "NK-1001": "Rosenöl", "nk-1001": "Kleines Rosenöl"}


# --- the Desk reuses an earlier run's mapping for the next file -----------------------------

def test_desk_upload_reuses_the_mapping_of_an_earlier_run(client, make, ctx, task_worker):
    foreign = (FILES / "articles_foreign_header.csv").read_bytes()
    mapped = ImportRun(kind="articles", file_name="first.csv", file_path="/nonexistent", dry_run=True,
                       status=ImportStatus.checked, source="api",
                       columns_json='{"requested": {"Nr": "article_no", "Text": "name", "VK": "gross_price", '
                                    '"Steuer": "vat_rate", "Hausnummer": ""}}')
    other = ImportRun(kind="addresses", file_name="other.csv", file_path="/nonexistent", dry_run=True,
                      status=ImportStatus.checked, source="api",
                      columns_json='{"requested": {"Nr": "email"}}')
    ctx.add_all([mapped, other])
    ctx.commit()
    make.user("stella", "Staff")
    login(client, "stella")

    def upload(mapping_from):
        return client.post("/imports/upload", content_type="multipart/form-data", data={
            "csrf_token": csrf_token(client, "/imports/"), "kind": "articles",
            "mapping_from": str(mapping_from), "file": (io.BytesIO(foreign), "next.csv")})

    response = upload(mapped.id)
    task = task_worker.wait(int(re.search(r"/tasks/(\d+)", response.headers["Location"]).group(1)))
    assert task.status.value == "done", task.error
    checked = db.session.execute(sa.select(ImportRun).where(ImportRun.file_name == "next.csv")).scalar_one()
    assert (checked.status, checked.created) == (ImportStatus.checked, 2)
    assert checked.columns["mapping"] == {"Nr": "article_no", "Text": "name", "VK": "gross_price",
                                          "Steuer": "vat_rate"}

    refused = upload(other.id)
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/imports/")
    page = client.get("/imports/").get_data(as_text=True)
    assert f"Kein Import #{other.id} der Art articles, dessen Zuordnung sich übernehmen ließe." in page
    assert db.session.execute(sa.select(sa.func.count()).select_from(ImportRun)).scalar() == 3


@pytest.mark.parametrize(("name", "message"), [
    ("not_a_csv.csv", "Dies ist weder eine CSV-Textdatei noch eine Excel-Arbeitsmappe (.xlsx)."),
    ("articles_header_only.csv", "Die Datei hat eine Kopfzeile, aber keine Zeilen."),
])
def test_desk_shows_a_file_problem_as_one_message_never_a_traceback(client, make, task_worker, name, message):
    make.user("stella", "Staff")
    login(client, "stella")
    response = client.post("/imports/upload", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/imports/"), "kind": "articles",
        "file": (io.BytesIO((FILES / name).read_bytes()), name)})
    task_id = int(re.search(r"/tasks/(\d+)", response.headers["Location"]).group(1))
    task = task_worker.wait(task_id)
    checked = db.session.execute(sa.select(ImportRun)).scalar_one()
    assert (task.status.value, checked.status, checked.message) == ("done", ImportStatus.failed, message)
    for url in (f"/tasks/{task_id}", f"/imports/{checked.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "Traceback" not in page and "Error" not in page, url
    assert message in client.get(f"/imports/{checked.id}").get_data(as_text=True)
