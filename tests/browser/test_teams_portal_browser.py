"""In the browser: an owner invites a colleague whose mailed link works; a customer signs in
through a mailed link on a phone-sized screen, and every portal page passes axe-core's
WCAG 2.1 A/AA rules (axe-core bundled by the axe-playwright-python package, offline); and the
whole story in one: the invited colleague publishes a service with two packages, a visitor
finds the partner in the directory and signs in to the portal through the mailed link."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from backoffice.extensions import db
from backoffice.models import AddressType
from backoffice.tasks.mail import deliver
from tests.portal.test_walk import order_for
from tests.support.directory import category
from tests.support.smtp import parts

from .conftest import TIMEOUT_MS, log_in
from .test_directory_browser import publish_through_the_partner_area

pytestmark = pytest.mark.browser

WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
              "resultTypes": ["violations"]}
PHONE = {"width": 375, "height": 740}


def _mailed_link(smtp_server, count: int, pattern: str) -> str:
    deliver(db.session)
    message = smtp_server.wait_for(count)[count - 1]
    return re.search(pattern, parts(message)["text/plain"]).group(0)


def _accessible(page) -> None:
    results = Axe().run(page, options=WCAG_21_AA)
    violations = results.response["violations"]
    assert not violations, f"{page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in violations)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), \
        f"{page.url} scrolls sideways on a phone"


def test_an_owner_invites_a_colleague_who_joins_through_the_mailed_link(page, browser, live_server, make,
                                                                       smtp_server):
    meier = make.partner("meier", last_name="Meier")
    make.address(last_name="Alphakunde", sponsor=meier.address)
    log_in(page, "meier")
    page.goto("/my/team/")
    page.fill("#invite-email", "kim@example.org")
    page.select_option("#invite-language", "en")
    page.click("[data-test=invite-form] button[type=submit]")
    page.wait_for_selector("[data-test=team-invitations]")
    link = _mailed_link(smtp_server, 1, r"https?://\S+/team/join/[\w-]+")

    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    colleague = context.new_page()
    try:
        colleague.goto(link)
        colleague.fill("#first_name", "Kim")
        colleague.fill("#last_name", "Kollegin")
        colleague.fill("#password", "kollegin-geheim-1")
        colleague.fill("#password_repeat", "kollegin-geheim-1")
        colleague.click("[data-test=join-form] button[type=submit]")
        colleague.wait_for_url(re.compile(r".*/login/.*"))
        log_in(colleague, "kim@example.org", "kollegin-geheim-1")
        colleague.goto("/my/downline/")
        assert "Alphakunde" in colleague.content()
        assert colleague.goto("/my/team/").status == 403
    finally:
        context.close()
    page.goto("/my/team/")
    assert "kim@example.org" in page.inner_text("[data-test=team-members]")


def test_a_customer_signs_in_by_mailed_link_on_a_phone_and_the_portal_is_accessible(page, make, smtp_server):
    anna = make.address(first_name="Anna", last_name="Kundin", email="anna@example.org",
                        type=AddressType.customer)
    order_for(anna, "SHOP-1001", "Zahnpasta")
    page.set_viewport_size(PHONE)
    page.goto("/c/sign-in")
    _accessible(page)
    page.fill("#email", "anna@example.org")
    page.click("[data-test=sign-in-form] button[type=submit]")
    page.wait_for_selector("[data-test=link-sent]")
    _accessible(page)
    link = _mailed_link(smtp_server, 1, r"https?://\S+/c/sign-in/[\w.\-]+")
    page.goto(link)
    _accessible(page)
    page.click("[data-test=use-link-form] button[type=submit]")
    page.wait_for_selector("[data-test=orders]")
    assert "SHOP-1001" in page.inner_text("[data-test=orders]")
    _accessible(page)
    page.click("text=SHOP-1001")
    page.wait_for_selector("[data-test=order-lines]")
    _accessible(page)
    page.goto("/c/store")
    page.fill("#store_url", "kein url")
    page.click("[data-test=store-form] button[type=submit]")
    page.wait_for_selector("#store_url_error")
    _accessible(page)
    page.click("text=English")
    page.wait_for_selector("html[lang=en]")
    assert "My store" in page.content()
    _accessible(page)


def _join_team(browser, live_server, link: str, password: str):
    """The invited colleague sets a password through the mailed link; its browser tab."""
    context = browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.goto(link)
    tab.fill("#first_name", "Kim")
    tab.fill("#last_name", "Kollegin")
    tab.fill("#password", password)
    tab.fill("#password_repeat", password)
    tab.click("[data-test=join-form] button[type=submit]")
    tab.wait_for_url(re.compile(r".*/login/.*"))
    return context, tab


def test_the_invited_colleague_publishes_and_a_visitor_finds_the_partner_and_signs_in(
        page, browser, live_server, make, smtp_server):
    handwerk = category("Handwerk", "Crafts")
    elektro = category("Elektro", "Electrical", parent=handwerk)
    make.partner("licht", last_name="Licht")
    make.address(first_name="Vera", last_name="Besucherin", email="vera@example.org",
                 type=AddressType.new_customer)
    log_in(page, "licht")
    page.goto("/my/team/")
    page.fill("#invite-email", "kim@example.org")
    page.click("[data-test=invite-form] button[type=submit]")
    page.wait_for_selector("[data-test=team-invitations]")
    invitation = _mailed_link(smtp_server, 1, r"https?://\S+/team/join/[\w-]+")

    context, colleague = _join_team(browser, live_server, invitation, "kollegin-geheim-1")
    try:
        publish_through_the_partner_area(colleague, elektro.id, "kim@example.org", "kollegin-geheim-1")
    finally:
        context.close()

    visitor = browser.new_context(base_url=live_server)
    visitor.set_default_timeout(TIMEOUT_MS)
    tab = visitor.new_page()
    try:
        tab.goto("/directory/")
        tab.select_option("#category", str(handwerk.id))
        tab.fill("#postal_code", "10117")
        tab.press("#postal_code", "Enter")
        tab.wait_for_selector("[data-test=results]")
        tab.click("[data-test=results] a:has-text('Licht & Strom Berlin')")
        packages = tab.locator("[data-test=service] tbody tr")
        assert packages.count() == 2
        assert "Basis" in packages.first.inner_text() and "Komfort" in packages.nth(1).inner_text()

        tab.goto("/c/sign-in")
        tab.fill("#email", "vera@example.org")
        tab.click("[data-test=sign-in-form] button[type=submit]")
        tab.wait_for_selector("[data-test=link-sent]")
        sign_in = _mailed_link(smtp_server, 2, r"https?://\S+/c/sign-in/[\w.\-]+")
        tab.goto(sign_in)
        tab.click("[data-test=use-link-form] button[type=submit]")
        tab.wait_for_url(re.compile(r".*/c/$"))
        assert "Vera" in tab.content()
        _accessible(tab)
    finally:
        visitor.close()
