"""CSV imports against the corpus of ugly files in tests/imports/files (I1–I5, V5)."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import (
    Address,
    AddressType,
    Article,
    AuditEntry,
    Partner,
    Voucher,
    VoucherCode,
    VoucherKind,
)
from downline.integrity import check
from imports.reading import FileProblem
from imports.report import errors_file
from imports.runner import run

FILES = Path(__file__).parent / "files"
pytestmark = pytest.mark.usefixtures("english")


def count(model) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar()


def errors(report) -> list[tuple]:
    return [(e.line, e.column, e.value, e.message) for e in report.errors]


def test_german_excel_file_windows_1252_decimal_comma(ctx):
    report = run(ctx, "articles", FILES / "articles_excel_cp1252.csv", dry_run=False)
    assert report.ok, errors(report)
    assert (report.encoding, report.separator, report.created) == ("cp1252", ";", 3)
    articles = {a.article_no: a for a in ctx.execute(sa.select(Article)).scalars()}
    assert articles["NK-1001"].name == "Rosenöl 50 ml"
    assert articles["NK-1001"].gross_price == Decimal("24.90")
    assert articles["NK-1002"].name == 'Büchlein "Pflege"'
    assert articles["NK-1002"].gross_price == Decimal("1234.50")
    assert articles["NK-1002"].vat_rate == Decimal("7")
    assert articles["NK-1002"].discountable_by_absolute_vouchers is False


def test_utf8_bom_english_headers_quoted_separators_and_newlines(ctx):
    report = run(ctx, "articles", FILES / "articles_utf8_bom_comma.csv", dry_run=False)
    assert report.ok, errors(report)
    assert (report.encoding, report.separator) == ("utf-8-sig", ",")
    articles = {a.article_no: a for a in ctx.execute(sa.select(Article)).scalars()}
    assert articles["EN-1"].name == "Lotion, 200 ml"
    assert articles["EN-2"].name == "Gift set\nwith card"
    assert articles["EN-2"].gross_price == Decimal("1234.00")


def test_tab_separated_whitespace_and_both_date_styles(ctx):
    report = run(ctx, "vouchers", FILES / "vouchers_tab_iso.tsv", dry_run=False)
    assert report.ok, errors(report)
    assert report.separator == "\t"
    vouchers = {v.external_key: v for v in ctx.execute(sa.select(Voucher)).scalars()}
    new = vouchers["NEUKUNDE-5"]
    assert new.name == "5 € für Neukunden"
    assert (new.amount, new.min_order_value) == (Decimal("5.00"), Decimal("20.00"))
    assert new.kind == VoucherKind.permanent and new.new_customers_only and new.released_for_partner_codes
    assert (str(new.valid_from), str(new.valid_until)) == ("2026-12-01", "2026-12-31")
    assert vouchers["XMAS"].kind == VoucherKind.single
    assert str(vouchers["XMAS"].valid_from) == "2026-12-01"


def test_dry_run_reports_what_would_happen_and_writes_nothing(ctx):
    report = run(ctx, "articles", FILES / "articles_excel_cp1252.csv", dry_run=True)
    assert report.ok and report.created == 3 and not report.written
    assert count(Article) == 0


def test_reimport_creates_nothing_new_and_updates_what_changed(ctx, tmp_path):
    first = run(ctx, "articles", FILES / "articles_excel_cp1252.csv", dry_run=False)
    again = run(ctx, "articles", FILES / "articles_excel_cp1252.csv", dry_run=False)
    assert (first.created, again.created, again.unchanged, again.updated) == (3, 0, 3, 0)
    changed = tmp_path / "changed.csv"
    changed.write_text("Artikelnummer;Bezeichnung;Bruttopreis\nNK-1001;Rosenöl 50 ml;26,90\n", "utf-8")
    third = run(ctx, "articles", changed, dry_run=False)
    assert (third.created, third.updated) == (0, 1)
    assert count(Article) == 3
    assert ctx.execute(sa.select(Article.gross_price).where(Article.article_no == "NK-1001")).scalar() \
        == Decimal("26.90")


def test_addresses_with_sponsor_further_down_the_file(ctx):
    checked = run(ctx, "addresses", FILES / "addresses_forward_sponsor.csv", dry_run=True)
    assert (checked.ok, checked.created, checked.updated, count(Address)) == (True, 3, 0, 0)
    report = run(ctx, "addresses", FILES / "addresses_forward_sponsor.csv", dry_run=False)
    assert report.ok, errors(report)
    assert report.created == 3
    by_key = {a.external_key: a for a in ctx.execute(sa.select(Address)).scalars()}
    anton, berta, clara = by_key["K-1"], by_key["K-2"], by_key["K-3"]
    assert clara.sponsor_id == berta.id and berta.sponsor_id == anton.id and anton.sponsor_id is None
    assert berta.email == "berta@example.org"  # the same e-mail rule as the Desk: normalised
    assert (anton.type, berta.type, clara.type) == (AddressType.partner, AddressType.customer,
                                                    AddressType.new_customer)
    assert clara.consent_contact_by_sponsor and not anton.consent_contact_by_sponsor
    assert clara.registered_at.isoformat().startswith("2025-03-02T23:00")  # 03.03.2025 in Berlin
    assert (anton.firstline_count, anton.downline_count, clara.path) == (1, 2, f"/{anton.id}/{berta.id}/")
    assert check(ctx).ok


def test_addresses_reimport_is_idempotent_and_moves_go_through_the_audit(ctx):
    run(ctx, "addresses", FILES / "addresses_forward_sponsor.csv", dry_run=False)
    again = run(ctx, "addresses", FILES / "addresses_forward_sponsor.csv", dry_run=False)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert count(Address) == 3
    moves = run(ctx, "sponsor_moves", FILES / "moves.csv", dry_run=False)
    assert moves.ok and moves.updated == 1, errors(moves)
    clara = ctx.execute(sa.select(Address).where(Address.external_key == "K-3")).scalar_one()
    anton = ctx.execute(sa.select(Address).where(Address.external_key == "K-1")).scalar_one()
    assert clara.sponsor_id == anton.id and anton.firstline_count == 2
    entry = ctx.execute(sa.select(AuditEntry).where(AuditEntry.address_id == clara.id,
                                                    AuditEntry.field == "sponsor_id")).scalars().all()[-1]
    assert entry.reason == "Wunsch der Kundin"
    assert run(ctx, "sponsor_moves", FILES / "moves.csv", dry_run=False).unchanged == 1
    assert check(ctx).ok


def test_sponsor_cycle_in_the_file_is_reported_and_nothing_written(ctx):
    report = run(ctx, "addresses", FILES / "addresses_cycle.csv", dry_run=False)
    assert not report.written
    assert errors(report) == [
        (3, "sponsor_external_key", "K-3", "The sponsor references form a cycle: lines 3 → 4 → 3."),
        (4, "sponsor_external_key", "K-2", "The sponsor references form a cycle: lines 3 → 4 → 3."),
        (5, "sponsor_external_key", "K-3", "The sponsor chain runs into a cycle of sponsor references."),
    ]
    assert count(Address) == 0


def test_bad_rows_are_listed_with_line_column_value_and_message(ctx, voucher):
    report = run(ctx, "voucher_codes", FILES / "codes_bad_rows.csv", dry_run=False)
    assert not report.written and report.rejected == 5
    assert errors(report) == [
        (3, "Gutschein", "=cmd|' /C calc'!A0", "No such voucher."),
        (4, "Gutschein", "NOPE", "No such voucher."),
        (5, "Gutscheincode", "good-0001", "The code appears already in line 2."),
        (6, "Partner", "nobody", "No partner with this subdomain."),
        (7, "Gutscheincode", "X" * 41, "A code has 1 to 40 characters."),
    ]
    assert count(VoucherCode) == 0


def test_error_report_downloads_are_safe_against_formula_injection(ctx, voucher):
    report = run(ctx, "voucher_codes", FILES / "codes_bad_rows.csv", dry_run=True)
    rows = [e.as_list() for e in report.errors]
    csv_text = errors_file(rows, "csv").decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in csv_text
    sheet = openpyxl.load_workbook(io.BytesIO(errors_file(rows, "xlsx"))).active
    cell = next(c for c in sheet["C"] if c.value == "=cmd|' /C calc'!A0")
    assert cell.data_type == "s" and cell.quotePrefix


def test_three_bad_rows_among_ten_thousand(ctx, voucher, tmp_path):
    path = tmp_path / "codes.csv"
    lines = ["code;voucher"] + [f"TK-{i:06d};NEUKUNDE-5" for i in range(10_000)]
    lines[2500] = "TK-000007;NEUKUNDE-5"       # duplicate of line 9
    lines[5000] = "TK-X;UNKNOWN"
    lines[9999] = ";NEUKUNDE-5"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = run(ctx, "voucher_codes", path, dry_run=False, chunk_rows=1000)
    assert errors(report) == [(2501, "code", "TK-000007", "The code appears already in line 9."),
                              (5001, "voucher", "UNKNOWN", "No such voucher."),
                              (10000, "code", "", "This field is required.")]
    assert report.rows == 10_000 and report.rejected == 3 and count(VoucherCode) == 0
    lines[2500], lines[5000], lines[9999] = "TK-A;NEUKUNDE-5", "TK-B;NEUKUNDE-5", "TK-C;NEUKUNDE-5"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = run(ctx, "voucher_codes", path, dry_run=False, chunk_rows=1000)
    assert report.written and count(VoucherCode) == 10_000


def test_a_file_that_breaks_off_mid_way_leaves_nothing_behind(ctx, voucher):
    report = run(ctx, "voucher_codes", FILES / "codes_broken_end.csv", dry_run=False, chunk_rows=100)
    assert report.problem == "Row 302 cannot be read as CSV: unexpected end of data"
    assert not report.written and count(VoucherCode) == 0


def test_imported_codes_are_redeemable_case_insensitively_and_stored_as_text(ctx, voucher, tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("code;voucher;active\n=1+2;NEUKUNDE-5;ja\nMixed-Case;neukunde-5;\n", "utf-8")
    assert run(ctx, "voucher_codes", path, dry_run=False).created == 2
    codes = {c.code_normalized: c for c in ctx.execute(sa.select(VoucherCode)).scalars()}
    assert codes["=1+2"].code == "=1+2" and codes["mixed-case"].active


def test_missing_column_and_unknown_kind_are_file_problems(ctx, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("Nachname;Ort\nMuster;Berlin\n", "utf-8")
    report = run(ctx, "addresses", path, dry_run=True)
    assert report.problem == ("The file needs one of these columns to match rows on re-import: "
                              "external_key, email.")
    path.write_text("Artikelnummer;Preis\nA1;1,00\n", "utf-8")
    report = run(ctx, "articles", path, dry_run=True)
    assert report.problem == "Missing column(s): name. The file's header (row 1) is: Artikelnummer;Preis."
    with pytest.raises(FileProblem) as refused:
        run(ctx, "nonsense", path)
    assert str(refused.value) == ("Unknown import kind nonsense; known: addresses, partners, articles, "
                                  "vouchers, voucher_codes, sponsor_moves.")


def test_partner_rows_get_the_desk_rules_iban_and_unique_subdomain(ctx, make, tmp_path):
    make.address(last_name="Meier", external_key="ALT-7", email="meier@example.org")
    make.address(last_name="Schulz", external_key="ALT-8")
    path = tmp_path / "partners.csv"
    path.write_text("Adresse;Subdomain;IBAN;Mandatsreferenz;Mandatsdatum\n"
                    "ALT-7;meier;DE89370400440532013000;M-1;01.11.2026\n"
                    "ALT-8;www;DE00123;;\n"
                    "meier@example.org;MEIER;;;\n", "utf-8")
    report = run(ctx, "partners", path, dry_run=False)
    assert not report.written and count(Partner) == 0
    mandate = "A SEPA mandate needs IBAN, mandate reference and mandate date."
    assert errors(report) == [
        (3, "Subdomain", "www", "This subdomain is reserved."),
        (3, "IBAN", "DE00123", "Not a valid IBAN: Invalid IBAN length"),
        (3, "Mandatsreferenz", "", mandate), (3, "Mandatsdatum", "", mandate),
        (4, "Subdomain", "MEIER", "Appears already in line 2.")]
    path.write_text("Adresse;Subdomain;IBAN;Mandatsreferenz;Mandatsdatum\n"
                    "ALT-7;meier;DE89 3704 0044 0532 0130 00;M-1;01.11.2026\n", "utf-8")
    report = run(ctx, "partners", path, dry_run=False)
    assert report.written, errors(report)
    partner = ctx.execute(sa.select(Partner)).scalar_one()
    assert (partner.iban, str(partner.mandate_date)) == ("DE89370400440532013000", "2026-11-01")


def test_codes_owned_by_a_partner_and_reserved_for_a_customer(ctx, make, voucher, tmp_path):
    meier = make.partner("meier")
    customer = make.address(last_name="Kundin", external_key="KD-1")
    path = tmp_path / "codes.csv"
    path.write_text("code;voucher;owner;customer\nFUER-MEIER;NEUKUNDE-5;meier;\nNUR-KD1;NEUKUNDE-5;;KD-1\n",
                    "utf-8")
    assert run(ctx, "voucher_codes", path, dry_run=False).created == 2
    codes = {c.code: c for c in ctx.execute(sa.select(VoucherCode)).scalars()}
    assert codes["FUER-MEIER"].owner_partner_id == meier.id
    assert codes["NUR-KD1"].for_customer_id == customer.id


def test_bulk_import_rebuilds_dropped_indexes_and_a_rollback_restores_them(ctx, monkeypatch):
    import imports.kinds.addresses as addresses_kind

    def indexes():
        return sorted(i["name"] for i in sa.inspect(db.engine).get_indexes("address"))

    before = indexes()
    monkeypatch.setattr(addresses_kind, "REBUILD_INDEXES_FROM", 1)
    refused = run(ctx, "addresses", FILES / "addresses_cycle.csv", dry_run=False)
    assert not refused.written and indexes() == before
    imported = run(ctx, "addresses", FILES / "addresses_forward_sponsor.csv", dry_run=False)
    assert imported.written and indexes() == before
    assert check(ctx).ok


def test_sponsors_by_database_id_and_email_and_conflicting_columns(ctx, make, tmp_path):
    boss = make.address(last_name="Chefin", email="chefin@example.org")
    other = make.address(last_name="Andere", email="andere@example.org")
    path = tmp_path / "a.csv"
    path.write_text("external_key;last_name;sponsor_id;sponsor_email\n"
                    f"N-1;Eins;{boss.id};\n"
                    "N-2;Zwei;;CHEFIN@example.org\n"
                    f"N-3;Drei;{other.id};chefin@example.org\n"
                    "N-4;Vier;999999;\n", "utf-8")
    report = run(ctx, "addresses", path, dry_run=False)
    assert [(e.line, e.message) for e in report.errors] == [
        (4, "The sponsor columns name different addresses."), (5, "Sponsor 999999 does not exist.")]
    path.write_text("external_key;last_name;sponsor_id;sponsor_email\n"
                    f"N-1;Eins;{boss.id};\nN-2;Zwei;;CHEFIN@example.org\n", "utf-8")
    assert run(ctx, "addresses", path, dry_run=False).written
    ctx.refresh(boss)
    assert (boss.firstline_count, boss.downline_count) == (2, 2)
    assert check(ctx).ok


def test_a_signed_sponsor_id_is_read_as_the_integer_parser_reads_it(ctx, make, tmp_path):
    """'+7' is the id 7 (never silently no sponsor); '-7' names no address."""
    boss = make.address(last_name="Chefin")
    path = tmp_path / "a.csv"
    path.write_text(f"external_key;last_name;sponsor_id\nN-1;Eins;+{boss.id}\nN-2;Zwei;-{boss.id}\n", "utf-8")
    refused = run(ctx, "addresses", path, dry_run=True)
    assert [(e.line, e.column, e.value, e.message) for e in refused.errors] == [
        (3, "sponsor_id", f"-{boss.id}", f"Sponsor -{boss.id} does not exist.")]
    path.write_text(f"external_key;last_name;sponsor_id\nN-1;Eins;+{boss.id}\n", "utf-8")
    assert run(ctx, "addresses", path, dry_run=False).written
    assert ctx.execute(sa.select(Address.sponsor_id).where(Address.external_key == "N-1")).scalar() == boss.id


def test_reimport_changes_only_the_columns_the_file_has(ctx, make, tmp_path):
    make.address(last_name="Wien", external_key="AT-1", country="AT", postal_code="1010", city="Wien")
    path = tmp_path / "a.csv"
    path.write_text("external_key;last_name;Telefon\nAT-1;Wien;+43 1 234\n", "utf-8")
    report = run(ctx, "addresses", path, dry_run=False)
    assert report.ok and report.updated == 1, errors(report)
    address = ctx.execute(sa.select(Address).where(Address.external_key == "AT-1")).scalar_one()
    assert (address.country, address.postal_code, address.phone) == ("AT", "1010", "+43 1 234")
