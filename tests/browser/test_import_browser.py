"""Staff upload a file in the Desk, read the dry-run report, import it and open the result page."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from backoffice.extensions import db
from backoffice.models import Address

from .conftest import log_in

pytestmark = pytest.mark.browser

FILE = Path(__file__).resolve().parents[1] / "imports" / "files" / "addresses_forward_sponsor.csv"


def test_staff_checks_then_imports_an_address_file(page, make, task_worker):
    make.user("stella", "Staff")
    log_in(page, "stella")
    page.goto("/imports/")
    page.select_option("[data-test=import-kind]", "addresses")
    page.set_input_files("[data-test=import-file]", str(FILE))
    page.click("[data-test=import-check]")
    page.wait_for_url("**/tasks/*")
    page.click("[data-test=task-result]", timeout=30_000)  # appears when the worker is done
    page.wait_for_url("**/imports/*")
    expect(page.locator("[data-test=count-created]")).to_have_text("3")
    expect(page.locator("[data-test=import-preview]")).to_contain_text("clara@example.org")
    assert db.session.execute(sa.select(sa.func.count()).select_from(Address)).scalar() == 0

    page.click("[data-test=import-commit] button")
    page.wait_for_url("**/tasks/*")
    page.click("[data-test=task-result]", timeout=30_000)
    expect(page.locator("[data-test=import-done]")).to_be_visible()
    expect(page.locator("[data-test=count-created]")).to_have_text("3")
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(Address)).scalar() == 3
    page.goto("/imports/")
    expect(page.locator("[data-test=import-history]")).to_contain_text("addresses_forward_sponsor.csv")
