"""A partner watches a background task in a real browser: the bar moves by itself, the
finished page offers the file."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backoffice.extensions import db
from backoffice.models import AddressType
from backoffice.tasks import submit
from tests.support import task_kinds  # noqa: F401  (registers the test task kinds)

from .conftest import log_in

pytestmark = pytest.mark.browser


def test_task_page_follows_progress_and_offers_the_export(page, make, task_worker, app, monkeypatch,
                                                          tmp_path):
    root = make.address(last_name="Vertrieb", type=AddressType.partner)
    meier = make.partner("meier", sponsor=root, last_name="Meier")
    for i in range(3):
        make.address(last_name=f"Kunde{i}", sponsor_id=meier.address_id)
    flag = tmp_path / "go-on"
    counting = submit(db.session, "test.count", {"n": 4, "flag": str(flag)}, user_id=meier.user_id,
                      title="Zählen")
    log_in(page, "meier")

    page.goto(f"/tasks/{counting.id}")
    bar = page.locator("[data-test=task-progress]")
    expect(bar).to_have_attribute("aria-valuenow", "50")  # updated by polling, no reload
    flag.touch()
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("[data-test=task-result]")).to_be_visible()

    monkeypatch.setitem(app.config, "DOWNLINE_EXPORT_INLINE_MAX", 2)
    page.goto(f"/my/downline/export/{meier.address_id}/csv")
    page.wait_for_url("**/tasks/*")
    link = page.locator("[data-test=task-file]")
    expect(link).to_be_visible()
    with page.expect_download() as download:
        link.click()
    data = open(download.value.path(), encoding="utf-8-sig").read()
    assert "Kunde0" in data and "Kunde2" in data and "Vertrieb" not in data
