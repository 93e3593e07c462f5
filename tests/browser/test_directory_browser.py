"""The public directory in a real browser: a partner publishes a service with two packages, a
visitor finds it by category and postal code with the keyboard alone, and axe-core finds no
WCAG 2.1 A/AA violation on the directory's pages in German and English.

axe-core comes bundled with the `axe-playwright-python` test dependency (from PyPI): no
network at test time.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.support.directory import category

from .conftest import TIMEOUT_MS, log_in

pytestmark = pytest.mark.browser

WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def assert_accessible(page) -> None:
    results = Axe().run(page, options=WCAG_21_AA)
    problems = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                for v in results.response["violations"]]
    assert not problems, problems


def publish_through_the_partner_area(page, elektro_id: int, username: str = "licht",
                                     password: str | None = None) -> None:
    log_in(page, username, password)
    page.goto("/my/public-profile/")
    page.fill("#display_name", "Licht & Strom Berlin")
    page.fill("#profile_text", "Elektroarbeiten in Berlin und Umgebung.")
    page.fill("#postal_code", "10115")
    page.fill("#radius_km", "40")
    page.check("input[name=languages][value=en]")
    page.check("#published")
    page.check("#listed")
    page.click("form[data-test=profile-form] [type=submit]")
    expect(page.locator(".alert-success").first).to_be_visible()
    page.click("[data-test=new-service]")
    page.select_option("#category_id", str(elektro_id))
    page.fill("#title", "Lampen und Steckdosen anschließen")
    page.fill("#price_from", "39,90")
    page.fill("#packages-0-name", "Basis")
    page.fill("#packages-0-price", "39,90")
    page.fill("#packages-0-delivery_days", "2")
    page.fill("#packages-1-name", "Komfort")
    page.fill("#packages-1-price", "89")
    page.fill("#packages-1-delivery_days", "5")
    page.click("form[data-test=service-form] [type=submit]")
    expect(page.locator("[data-test=services]")).to_contain_text("Lampen und Steckdosen")


def test_visitor_finds_a_published_partner_with_the_keyboard_alone(page, browser, live_server, make):
    handwerk = category("Handwerk", "Crafts")
    elektro = category("Elektro", "Electrical", parent=handwerk)
    make.partner("licht")
    publish_through_the_partner_area(page, elektro.id)

    visitor = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    visitor.set_default_timeout(TIMEOUT_MS)
    tab = visitor.new_page()
    try:
        tab.goto("/directory/")
        assert_accessible(tab)
        keys = tab.keyboard
        keys.press("Tab")
        expect(tab.locator("a.skip")).to_be_focused()
        keys.press("Enter")
        keys.press("Tab")  # the first field after the skip target
        expect(tab.locator("#category")).to_be_focused()
        keys.type("Handwerk › Elektro")  # a closed select picks the option typed
        expect(tab.locator("#category")).to_have_value(str(elektro.id))
        keys.press("Tab")
        expect(tab.locator("#postal_code")).to_be_focused()
        keys.type("10117")
        keys.press("Enter")
        expect(tab.locator("[data-test=result-count]")).to_contain_text("1")
        result = tab.locator("[data-test=results] a", has_text="Licht & Strom Berlin")
        for _ in range(12):  # tab on to the first result
            if result.evaluate("el => el === document.activeElement"):
                break
            keys.press("Tab")
        expect(result).to_be_focused()
        assert_accessible(tab)
        keys.press("Enter")
        expect(tab.locator("h1")).to_have_text("Licht & Strom Berlin")
        packages = tab.locator("[data-test=service] tbody tr")
        expect(packages).to_have_count(2)
        expect(packages.first).to_contain_text("Basis")
        expect(packages.nth(1)).to_contain_text("Komfort")
        assert_accessible(tab)

        tab.locator("header nav a[lang=en]").click()
        expect(tab.locator("html")).to_have_attribute("lang", "en")
        expect(tab.locator("section[data-test=service]")).to_contain_text("Crafts › Electrical")
        assert_accessible(tab)
        tab.goto(f"/directory/?category={handwerk.id}&postal_code=00000")
        expect(tab.locator("#postal_code")).to_have_attribute("aria-invalid", "true")
        assert_accessible(tab)
    finally:
        visitor.close()
