"""Files that once stored wrong values, passed a dry run and then failed, or crashed: each class
of defect with its own files in tests/imports/files, the exact report and the database after."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from backoffice.errors import DomainError
from backoffice.extensions import db
from backoffice.models import Address, Article, ImportRun, ImportStatus, Partner, VoucherCode
from backoffice.services.vouchers import add_code, find_code
from imports.runner import run
from tests.support.http import api_token, csrf_token, login

FILES = Path(__file__).parent / "files"
pytestmark = pytest.mark.usefixtures("english")
TOO_MANY = "This row has %s fields, the header %s: is there a separator inside a value without quotes?"
NOT_A_FILE = "This is neither a CSV text file nor an Excel workbook (.xlsx)."


def count(ctx, model) -> int:
    return ctx.execute(sa.select(sa.func.count()).select_from(model)).scalar()


def errors(report) -> list[tuple]:
    return [(e.line, e.column, e.value, e.message) for e in report.errors]


# --- wrong data stored without an error -------------------------------------------------------

def test_a_row_with_more_or_fewer_fields_than_the_header_is_refused_not_shifted(ctx):
    report = run(ctx, "addresses", FILES / "addresses_unquoted_separator.csv", dry_run=False)
    assert errors(report) == [
        (3, "", "S-2;Winter;Am Markt 3; Hinterhaus;20095;Hamburg", TOO_MANY % (6, 5)),
        (5, "", "S-4;Frühling;Birkenhof 2", TOO_MANY % (3, 5)),
    ]
    assert (report.rows, report.rejected, report.written) == (4, 2, False)
    assert count(ctx, Address) == 0


def test_empty_trailing_fields_are_no_extra_columns(ctx):
    report = run(ctx, "articles", FILES / "articles_trailing_separator.csv", dry_run=False)
    assert report.ok, errors(report)
    stored = dict(ctx.execute(sa.select(Article.article_no, Article.name)).all())
    assert stored == {"TS-1": "Seife", "TS-2": "Creme", "TS-3": "Buch"}
    assert ctx.execute(sa.select(Article.gross_price).where(Article.article_no == "TS-2")).scalar() \
        == Decimal("12.00")


def test_the_desk_template_and_export_guards_import_without_the_apostrophe(ctx, client, make):
    report = run(ctx, "addresses", FILES / "addresses_from_template.csv", dry_run=False)
    assert report.ok, errors(report)
    stored = dict(ctx.execute(sa.select(Address.external_key, Address.phone)).all())
    assert stored == {"ALT-100231": "+49 30 1234567", "ALT-100232": "=1+2"}
    assert ctx.execute(sa.select(Address.last_name).where(Address.external_key == "ALT-100232")
                       ).scalar() == "-Minus"

    make.user("stella", "Staff")
    login(client, "stella")
    template = client.get("/imports/templates/addresses.csv").get_data(as_text=True)
    assert "+49 30 1234567" in template and "'+49" not in template


def test_voucher_codes_with_invisible_characters_are_the_visible_code(ctx, voucher, tmp_path):
    report = run(ctx, "voucher_codes", FILES / "codes_invisible_characters.csv", dry_run=False)
    assert errors(report) == [(6, "code", "WINTER-3", "The code appears already in line 4.")]
    assert count(ctx, VoucherCode) == 0
    ctx.rollback()
    path = FILES / "codes_invisible_characters.csv"
    clean = path.read_text("utf-8").rsplit("WINTER-3;", 1)[0]
    (tmp_path / "codes.csv").write_text(clean, "utf-8")
    report = run(ctx, "voucher_codes", tmp_path / "codes.csv", dry_run=False)
    assert report.ok, errors(report)
    assert sorted(ctx.execute(sa.select(VoucherCode.code)).scalars()) == [
        "FULL-4", "HERBST-2", "SOMMER-1", "WINTER-3"]
    # The Desk, the API and the partner area go through the same normalisation.
    with pytest.raises(DomainError, match="taken"):
        add_code(ctx, voucher, "sommer-\u200b1")
    assert find_code(ctx, "\ufeffherbst-2").code == "HERBST-2"


@pytest.mark.parametrize(("kind", "name", "expected"), [
    ("addresses", "lengths_addresses.csv", [
        (2, "Nachname", "Lang" * 26, "At most 100 characters (this has 104)."),
        (3, "Telefon", "0" * 51, "At most 50 characters (this has 51).")]),
    ("articles", "lengths_articles.csv", [
        (2, "Bezeichnung", "x" * 201, "At most 200 characters (this has 201)."),
        (3, "Artikelnummer", "A" * 33, "At most 32 characters (this has 33).")]),
    ("voucher_codes", "lengths_codes.csv", [
        (2, "batch", "b" * 65, "At most 64 characters (this has 65)."),
        (3, "code", "C" * 41, "A code has 1 to 40 characters.")]),
])
def test_values_longer_than_their_column_are_found_by_the_dry_run(ctx, voucher, kind, name, expected):
    for dry_run in (True, False):
        report = run(ctx, kind, FILES / name, dry_run=dry_run)
        assert errors(report) == expected
        assert not report.written
    assert count(ctx, Address) + count(ctx, Article) + count(ctx, VoucherCode) == 0


# --- the dry run finds what the commit refuses ------------------------------------------------

def test_a_move_into_the_own_downline_in_the_database_is_found_by_the_dry_run(ctx):
    assert run(ctx, "addresses", FILES / "addresses_chain.csv", dry_run=False).written
    expected = [(2, "Sponsor", "C-3",
                 "This sponsor sits in the address's own downline: the move would create a cycle.")]
    for dry_run in (True, False):
        report = run(ctx, "addresses", FILES / "addresses_move_into_own_downline.csv", dry_run=dry_run)
        assert errors(report) == expected
        assert (report.updated, report.written) == (0, False)
    one = ctx.execute(sa.select(Address).where(Address.external_key == "C-1")).scalar_one()
    assert one.sponsor_id is None


def test_the_same_mailbox_written_as_idn_and_punycode_is_a_duplicate(ctx):
    report = run(ctx, "addresses", FILES / "addresses_idn_duplicate.csv", dry_run=True)
    assert errors(report) == [(3, "E-Mail", "ANN@xn--bcher-kva.de", "Appears already in line 2.")]


def test_empty_cells_keep_the_stored_values_of_articles_and_vouchers(ctx, voucher):
    assert run(ctx, "articles", FILES / "articles_excel_cp1252.csv", dry_run=False).written
    for dry_run in (True, False):
        report = run(ctx, "articles", FILES / "articles_update_empty_cells.csv", dry_run=dry_run)
        assert report.ok, errors(report)
        assert (report.unchanged, report.updated) == (1, 1)
    ctx.expire_all()
    articles = {a.article_no: a for a in ctx.execute(sa.select(Article)).scalars()}
    assert (articles["NK-1001"].name, articles["NK-1001"].gross_price) == ("Rosenöl 50 ml", Decimal("24.90"))
    assert (articles["NK-1002"].name, articles["NK-1002"].gross_price) == ("Büchlein neu", Decimal("1234.50"))
    assert articles["NK-1001"].active

    voucher.min_order_value = Decimal("20.00")
    ctx.commit()
    report = run(ctx, "vouchers", FILES / "vouchers_update_empty_cells.csv", dry_run=False)
    assert report.ok and report.unchanged == 1, errors(report)
    ctx.expire_all()
    assert (voucher.name, voucher.amount, voucher.min_order_value) == (
        "5 € für Neukunden", Decimal("5.00"), Decimal("20.00"))


def test_partner_reimport_matches_the_subdomain_as_stored(ctx, make):
    partner = make.partner("meier", subdomain="meier")
    partner.address.external_key = "P-1"
    ctx.commit()
    for dry_run in (True, False):
        report = run(ctx, "partners", FILES / "partners_subdomain_case.csv", dry_run=dry_run)
        assert report.ok, errors(report)
        assert (report.created, report.updated) == (0, 1)
    ctx.expire_all()
    assert count(ctx, Partner) == 1 and partner.profile_text == "Neu" and partner.subdomain == "meier"


# --- files that crashed ---------------------------------------------------------------------

def test_excel_unicode_text_and_old_mac_line_ends_are_read(ctx):
    report = run(ctx, "articles", FILES / "articles_excel_unicode_text.txt", dry_run=False)
    assert report.ok and (report.encoding, report.separator, report.created) == ("utf-16", "\t", 2)
    report = run(ctx, "articles", FILES / "articles_old_mac_cr.csv", dry_run=False)
    assert report.ok and report.created == 2, errors(report)
    assert dict(ctx.execute(sa.select(Article.article_no, Article.name)).all()) == {
        "U-1": "Rosenöl", "U-2": "Ärmel", "M-1": "Seife", "M-2": "Kamm"}


@pytest.mark.parametrize("name", ["articles_staff.xlsx", "articles_staff_renamed.csv"])
def test_xlsx_workbooks_are_accepted_with_the_same_report(ctx, name):
    report = run(ctx, "articles", FILES / name, dry_run=False)
    assert report.encoding == "xlsx"
    assert errors(report) == [(5, "Bezeichnung", "", "This field is required.")]
    ctx.rollback()
    report = run(ctx, "articles", FILES / name, dry_run=True)
    assert report.created == 2 and count(ctx, Article) == 0


@pytest.mark.parametrize(("name", "problem"), [
    ("not_a_csv.csv", NOT_A_FILE),
    ("articles_header_only.csv", "The file has a header but no rows."),
])
def test_binary_and_header_only_files_are_file_problems(ctx, name, problem):
    report = run(ctx, "articles", FILES / name, dry_run=False)
    assert (report.problem, report.written) == (problem, False)


def test_api_answers_a_binary_file_in_the_one_error_shape(client, make):
    make.user("stella", "Staff")
    with open(FILES / "not_a_csv.csv", "rb") as fh:
        response = client.post("/api/v1/imports/articles", data={"file": (fh, "not_a_csv.csv")},
                               headers=api_token(client, "stella"), content_type="multipart/form-data")
    body = response.get_json()
    assert response.status_code == 422 and body["error"] == "invalid_rows"
    assert body["problem"] == "Dies ist weder eine CSV-Textdatei noch eine Excel-Arbeitsmappe (.xlsx)."


# --- reports people can act on ----------------------------------------------------------------

def test_line_numbers_count_blank_and_separator_only_rows(ctx, voucher):
    report = run(ctx, "voucher_codes", FILES / "codes_blank_lines.csv", dry_run=True)
    assert errors(report) == [(6, "voucher", "GIBTESNICHT", "No such voucher.")]


def test_ignored_columns_that_look_like_data_are_named(ctx):
    report = run(ctx, "addresses", FILES / "addresses_house_number.csv", dry_run=True)
    assert report.ok and report.ignored_columns == ["Hausnummer", "Geburtsdatum"]
    assert report.notes == [
        "The column Hausnummer looks like a house number, which is not imported on its own: put it "
        "into the street column.",
        "The column Geburtsdatum looks like data (date of birth) that this kind of import cannot "
        "take; it is ignored."]


def test_values_are_reported_as_typed(ctx, tmp_path):
    path = tmp_path / "vouchers.csv"
    path.write_text("Schlüssel;Bezeichnung;Betrag\nMINUS;Minus;-1.234,50\n", "utf-8")
    report = run(ctx, "vouchers", path, dry_run=True)
    assert errors(report) == [(2, "", "", "The amount must be more than 0.")]
    path.write_text("Artikelnummer;Bezeichnung;Bruttopreis;MwSt\nT-1;Teuer;1.234,567;19\n", "utf-8")
    report = run(ctx, "articles", path, dry_run=True)
    assert errors(report) == [(2, "Bruttopreis", "1.234,567", "A non-negative amount with at most two "
                                                               "decimals.")]


def test_a_byte_no_encoding_can_read_is_a_file_problem_naming_its_row(ctx):
    report = run(ctx, "articles", FILES / "articles_undefined_cp1252_byte.csv", dry_run=False)
    assert report.problem == "Row 3 has characters that cannot be read (cp1252)."
    assert count(ctx, Article) == 0


def test_empty_cells_and_missing_columns_keep_the_stored_values_of_voucher_codes(ctx, make, voucher):
    meier = make.partner("meier")
    customer = make.address(last_name="Kundin", external_key="KD-1")
    assert run(ctx, "voucher_codes", FILES / "codes_owned_reserved.csv", dry_run=False).created == 2

    def stored():
        ctx.expire_all()
        return {c.code: (c.owner_partner_id, c.for_customer_id, c.active, c.batch)
                for c in ctx.execute(sa.select(VoucherCode)).scalars()}

    before = {"FUER-MEIER": (meier.id, customer.id, True, "Druckerei 1"),
              "NUR-KD1": (None, customer.id, False, "Druckerei 1")}
    assert stored() == before
    for dry_run in (True, False):
        report = run(ctx, "voucher_codes", FILES / "codes_update_fewer_columns.csv", dry_run=dry_run)
        assert (errors(report), report.created, report.updated, report.unchanged) == ([], 0, 0, 2)
    assert stored() == before
    for dry_run in (True, False):
        report = run(ctx, "voucher_codes", FILES / "codes_update_empty_cells.csv", dry_run=dry_run)
        assert (errors(report), report.created, report.updated, report.unchanged) == ([], 0, 1, 1)
    assert stored() == {**before, "NUR-KD1": (None, customer.id, True, "Druckerei 1")}
    for dry_run in (True, False):  # a typed batch replaces the stored one, an empty one keeps it
        report = run(ctx, "voucher_codes", FILES / "codes_update_batch.csv", dry_run=dry_run)
        assert (errors(report), report.created, report.updated, report.unchanged) == ([], 0, 1, 1)
    assert stored() == {"FUER-MEIER": (meier.id, customer.id, True, "Druckerei 2"),
                        "NUR-KD1": (None, customer.id, True, "Druckerei 1")}


def test_the_same_mailbox_in_punycode_updates_the_stored_address(ctx, make):
    ann = make.address(last_name="Becker", email="ann@bücher.de", city="Berlin")
    for dry_run in (True, False):
        report = run(ctx, "addresses", FILES / "addresses_idn_reimport.csv", dry_run=dry_run)
        assert (errors(report), report.created, report.updated, report.written) == ([], 0, 1, not dry_run)
    ctx.expire_all()
    assert ctx.execute(sa.select(Address.id, Address.email, Address.city)).all() == [
        (ann.id, "ann@bücher.de", "Köln")]


def test_a_duplicate_mailbox_is_refused_by_the_commit_too(ctx):
    report = run(ctx, "addresses", FILES / "addresses_idn_duplicate.csv", dry_run=False)
    assert errors(report) == [(3, "E-Mail", "ANN@xn--bcher-kva.de", "Appears already in line 2.")]
    assert count(ctx, Address) == 0


# --- .xlsx uploads through the API and the Desk ---------------------------------------------

def test_api_and_desk_accept_an_xlsx_upload_with_the_runners_report(client, make, task_worker):
    make.user("stella", "Staff")
    workbook = (FILES / "articles_staff.xlsx").read_bytes()
    response = client.post("/api/v1/imports/articles", headers=api_token(client, "stella"),
                           content_type="multipart/form-data", data={
                               "file": (io.BytesIO(workbook), "Artikel.xlsx"), "dry_run": "false"})
    assert response.status_code == 422
    assert (response.json["encoding"], response.json["written"], response.json["rows"]) == ("xlsx", False, 3)
    assert response.json["errors"] == [
        {"line": 5, "column": "Bezeichnung", "value": "", "message": "Dieses Feld ist erforderlich."}]

    login(client, "stella")
    response = client.post("/imports/upload", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/imports/"), "kind": "articles",
        "file": (io.BytesIO(workbook), "Artikel.xlsx")})
    task = task_worker.wait(int(re.search(r"/tasks/(\d+)", response.headers["Location"]).group(1)))
    assert task.status.value == "done", task.error
    desk = db.session.execute(sa.select(ImportRun).where(ImportRun.source == "desk")).scalar_one()
    assert (desk.status, desk.encoding, desk.rows_total, desk.created, desk.error_count) == (
        ImportStatus.rejected, "xlsx", 3, 2, 1)
    assert desk.errors == [[5, "Bezeichnung", "", "Dieses Feld ist erforderlich."]]
    assert db.session.execute(sa.select(sa.func.count()).select_from(Article)).scalar() == 0


def test_empty_cells_keep_the_stored_values_of_addresses(ctx, make):
    make.address(last_name="Becker", external_key="E-1", phone="030 1234", city="Berlin",
                 email="e1@example.org")
    make.address(last_name="Klein", external_key="E-2", phone="040 5678", city="Hamburg",
                 email="e2@example.org")
    for dry_run in (True, False):
        report = run(ctx, "addresses", FILES / "addresses_update_empty_cells.csv", dry_run=dry_run)
        assert (errors(report), report.created, report.updated, report.unchanged) == ([], 0, 1, 1)
    ctx.expire_all()
    assert ctx.execute(sa.select(Address.external_key, Address.last_name, Address.phone, Address.city,
                                 Address.email).order_by(Address.external_key)).all() == [
        ("E-1", "Becker", "030 1234", "Berlin", "e1@example.org"),
        ("E-2", "Klein", "040 5678", "Köln", "e2@example.org")]


def test_a_partner_file_names_its_address_by_the_mailbox_in_punycode(ctx, make):
    ann = make.address(last_name="Becker", email="ann@bücher.de")
    for dry_run in (True, False):
        report = run(ctx, "partners", FILES / "partners_address_by_punycode.csv", dry_run=dry_run)
        assert (errors(report), report.created, report.written) == ([], 1, not dry_run)
    assert ctx.execute(sa.select(Partner.address_id, Partner.subdomain, Partner.profile_text)).all() == [
        (ann.id, "becker", "Seit 2020")]


def test_a_new_address_without_its_required_name_is_refused_once(ctx):
    for dry_run in (True, False):
        report = run(ctx, "addresses", FILES / "addresses_new_without_name.csv", dry_run=dry_run)
        assert (errors(report), report.written) == ([(3, "Nachname", "", "This field is required.")], False)
    assert count(ctx, Address) == 0


def test_an_error_of_a_column_the_file_lacks_names_the_templates_column(ctx):
    report = run(ctx, "articles", FILES / "articles_without_vat.csv", dry_run=True)
    assert errors(report) == [(2, "MwSt", "", "VAT rate must be 19, 7 or 0 percent.")]
