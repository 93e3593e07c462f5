"""The Desk's lists at 1280 px: no table wider than the page, a pager with "Previous" and
"Next" in words (German and English), and one search form per list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backoffice.models import AddressType

from .conftest import ARTIFACTS, log_in

pytestmark = pytest.mark.browser

STAFF_LISTS = ["/addressview/list/", "/neverorderedview/list/", "/partnerview/list/", "/auditentryview/list/",
               "/voucherview/list/", "/orderview/list/", "/articleview/list/"]
FITS = """() => document.documentElement.scrollWidth <= window.innerWidth &&
  [...document.querySelectorAll('.table-responsive, table')].every(e => e.scrollWidth <= e.clientWidth + 1)"""


@pytest.fixture
def many(make):
    make.user("staff", "Staff")
    root = make.address(last_name="Vertrieb", company="Partnerdesk GmbH", type=AddressType.partner)
    meier = make.partner("meier", sponsor=root, last_name="Meier")
    for i in range(60):
        make.address(last_name=f"Langername-Doppelname{i:02d}",
                     company="Sehr lange Firmenbezeichnung GmbH & Co. KG",
                     email=f"eine.sehr.lange.adresse.{i}@kundendomain-mit-langem-namen.example",
                     city="Mönchengladbach-Rheydt", sponsor_id=meier.address_id)
    return meier


def test_staff_lists_fit_1280_pixels_and_page_with_words(page, many):
    log_in(page, "staff")
    page.goto("/lang/de")
    for url in STAFF_LISTS:
        page.goto(url)
        assert page.evaluate(FITS), f"{url} is wider than 1280 px"
        assert page.locator("form#filter_form").count() == 1, url
    page.goto("/addressview/list/")
    pager = page.locator("[data-test=list-pager]")
    expect(pager).to_contain_text("Zurück")
    expect(pager).to_contain_text("Weiter")
    page.screenshot(path=str(ARTIFACTS / "desk_list_1280_de.png"))
    pager.locator("[data-test=page-next]").click()
    expect(pager.locator("li.active")).to_have_text("2")
    pager.locator("[data-test=page-prev]").click()
    expect(pager.locator("li.active")).to_have_text("1")
    expect(pager.locator("li.disabled").first).to_contain_text("Zurück")

    page.goto("/lang/en")
    page.goto("/addressview/list/")
    expect(pager).to_contain_text("Previous")
    expect(pager).to_contain_text("Next")
    assert page.evaluate(FITS)


def test_partner_firstline_and_new_customers_fit_and_have_one_search_box(page, many):
    log_in(page, "meier")
    page.goto("/my/addresses/list/")
    page.wait_for_url(f"**/my/downline/node/{many.address_id}")
    assert page.evaluate(FITS)
    assert page.locator("form[role=search]").count() == 1
    expect(page.locator("[data-test=pager] [data-test=page-next]")).to_be_visible()
    page.goto("/my/downline/new-customers/")
    assert page.evaluate(FITS)
    assert page.locator("form[role=search]").count() == 1
    page.click("[data-test=sort-name]")
    expect(page.locator("[data-test=new-customers] tbody tr").first).to_contain_text("Doppelname00")
    page.click("[data-test=sort-name]")
    expect(page.locator("[data-test=new-customers] tbody tr").first).to_contain_text("Doppelname59")
    page.screenshot(path=str(ARTIFACTS / "partner_new_customers_sorted.png"))
