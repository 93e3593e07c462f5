"""List exports: typed Excel cells, German CSV, formula injection neutralised, filters respected."""

import csv
import io
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest

from reports.tabular import write_csv, write_xlsx
from tests.support.http import login


@pytest.fixture
def staff(client, make):
    make.user("staff", "Staff")
    return login(client, "staff")


def _sheet(response):
    assert response.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(response.data)).active


def test_article_export_has_typed_cells(staff, make):
    make.article(article_no="A-1", name="Tee", gross_price=Decimal("4.95"), vat_rate=Decimal("7"))
    sheet = _sheet(staff.get("/articleview/export/xlsx"))
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    price = next(cell for name, cell in row.items() if cell.value == 4.95 or cell.value == Decimal("4.95"))
    assert price.data_type == "n" and "€" in price.number_format
    assert any(cell.value is True and cell.data_type == "b" for cell in row.values())
    assert sheet.auto_filter.ref and sheet.freeze_panes == "A2"


def test_address_export_dates_are_real_dates_in_company_time(staff, make):
    make.address(last_name="Datum")
    sheet = _sheet(staff.get("/addressview/export/xlsx"))
    dates = [c for c in sheet[2] if isinstance(c.value, datetime)]
    assert dates and all(c.number_format.startswith("DD.MM.YYYY") for c in dates)


def test_formula_injection_is_neutralised_in_list_exports(staff, make):
    make.address(last_name="=HYPERLINK(\"http://evil\")", first_name="+49 Trick", company="@SUM(A1)")
    sheet = _sheet(staff.get("/addressview/export/xlsx"))
    cells = [c for c in sheet[2] if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert len(cells) == 3
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    text = staff.get("/addressview/export/csv").data.decode("utf-8-sig")
    row = next(csv.reader(io.StringIO(text), delimiter=";"))
    assert row  # header present
    assert "'=HYPERLINK" in text and "'+49 Trick" in text and "'@SUM(A1)" in text


def test_csv_is_excel_friendly():
    data = write_csv(["Name", "Betrag"], [["Müller; GmbH", Decimal("5.00")], ["Zeile\nzwei", None]])
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows == [["Name", "Betrag"], ["Müller; GmbH", "5.00"], ["Zeile\nzwei", ""]]


def test_xlsx_writer_stores_text_that_looks_like_a_formula_as_text():
    book = openpyxl.load_workbook(io.BytesIO(write_xlsx(["x"], [["=1+1"], ["-5"], ["normal"]])))
    cells = [row[0] for row in book.active.iter_rows(min_row=2)]
    assert [c.value for c in cells] == ["=1+1", "-5", "normal"]
    assert [c.data_type for c in cells] == ["s", "s", "s"]
    assert [c.quotePrefix for c in cells] == [True, True, False]


def test_unknown_export_format_is_404(staff):
    assert staff.get("/addressview/export/pdf").status_code == 404
