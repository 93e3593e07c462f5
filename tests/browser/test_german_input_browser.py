"""A German voucher typed and picked in Chromium: amounts with decimal comma and thousands
dots, a date typed by hand and one picked with the date picker, both saved as written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Voucher
from tests.support.http import euros

from .conftest import ARTIFACTS, log_in

pytestmark = pytest.mark.browser


def test_staff_types_german_amounts_and_dates_into_the_voucher_form(page, make):
    make.user("staff", "Staff")
    log_in(page, "staff")
    page.goto("/voucherview/add")
    page.fill("#model_form [name=name]", "Winteraktion")
    page.select_option("#model_form [name=kind]", "permanent")
    page.select_option("#model_form [name=vat_mode]", "proportional")
    page.fill("#model_form [name=amount]", "12,50")
    page.fill("#model_form [name=min_order_value]", "1.234,56")
    page.fill("#model_form [name=valid_until]", "31.12.2027")

    # The picker opens in German and writes the picked day as dd.mm.yyyy.
    page.click("#model_form [name=valid_from]")
    picker = page.locator(".datepicker-dropdown")
    picker.wait_for()
    assert any(day in picker.inner_text() for day in ("Mo", "Di", "Mi"))
    page.screenshot(path=str(ARTIFACTS / "german_date_picker.png"))
    picker.locator("td.day:not(.old):not(.new)", has_text="15").first.click()
    picked = page.input_value("#model_form [name=valid_from]")
    assert picked.startswith("15.") and len(picked) == 10, picked

    with page.expect_navigation():
        page.click("#model_form [type=submit]")
    assert "/voucherview/add" not in page.url, page.inner_text(".container")

    db.session.rollback()
    voucher = db.session.execute(sa.select(Voucher)).scalar_one()
    db.session.rollback()
    assert voucher.amount == Decimal("12.50") and voucher.min_order_value == Decimal("1234.56")
    assert voucher.valid_until == dt.date(2027, 12, 31)
    assert voucher.valid_from == dt.datetime.strptime(picked, "%d.%m.%Y").date()

    page.goto("/voucherview/list/")
    rows = page.inner_text("table.table-bordered > tbody")
    assert Decimal("12.50") in euros(rows) and "31.12.2027" in rows
