"""Each role's start page and the error page in Chromium, German and English; the
screenshots (tests/artifacts/start_<role>_<language>.png, error_404_<language>.png) show them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from backoffice.extensions import db
from backoffice.services.vouchers import create_partner_code
from tests.support.vouchers import checkout, new_customer_voucher

from .conftest import ARTIFACTS, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def story(make):
    voucher = new_customer_voucher()
    meier = make.partner("meier")
    create_partner_code(db.session, meier, voucher.id, "vonmeier")
    db.session.commit()
    make.article(article_no="SHIRT", gross_price=Decimal("25.00"))
    now = dt.datetime.now(dt.UTC)
    for n in range(12):
        customer = make.address(last_name=f"Kunde{n}", sponsor=meier.address,
                                registered_at=now - dt.timedelta(days=n * 2))
        if n % 3 == 0:
            checkout(db.session, f"o-{n}", customer.id, [{"article_no": "SHIRT", "quantity": 1}],
                     "vonmeier" if n < 6 else None)
    make.user("staff", "Staff")
    make.user("fiona", "Finance")


# Bars drawn (height > 0) per page for the story: staff, registrations on 12 days (every
# second day, Meier's today) and first orders all today; the partner, 12 firstline customers
# on 12 days; finance, voucher cost in this month only.
BARS = {"start-staff": 12 + 1, "start-partner": 12, "start-finance": 1}


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("user,section", [("staff", "start-staff"), ("meier", "start-partner"),
                                          ("fiona", "start-finance")])
def test_each_role_lands_on_its_start_page(page, story, user, section, language):
    log_in(page, user)
    page.goto(f"/lang/{language}")
    page.goto("/")
    assert page.locator(f"[data-test={section}]").count() == 1
    bars = page.locator(f"[data-test={section}] svg rect").evaluate_all(
        "rects => rects.filter(r => parseFloat(r.getAttribute('height')) > 0).length")
    assert bars == BARS[section]
    page.screenshot(path=str(ARTIFACTS / f"start_{user}_{language}.png"), full_page=True)
    # Every figure that is a link leads to a page, not to an error.
    for href in page.locator(f"[data-test={section}] .desk-figure a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"):
        response = page.request.get(href)
        assert response.ok, href


@pytest.mark.parametrize("language", ["de", "en"])
def test_a_missing_page_is_the_desks_own(page, make, language):
    make.user("staff", "Staff")
    log_in(page, "staff")
    page.goto(f"/lang/{language}")
    response = page.goto("/addressview/nowhere/")
    assert response.status == 404
    assert page.locator("[data-test=error-page]").count() == 1
    page.screenshot(path=str(ARTIFACTS / f"error_404_{language}.png"), full_page=True)
