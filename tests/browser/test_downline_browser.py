"""A partner walks its downline in a real browser: three levels down, back up by the
breadcrumb, the new-customer navigator, and the drawn tree."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from backoffice.models import AddressType

from .conftest import ARTIFACTS, log_in

pytestmark = pytest.mark.browser


def test_partner_steps_down_three_levels_and_back_and_sees_the_drawn_tree(page, make):
    root = make.address(last_name="Vertrieb", company="Partnerdesk GmbH", type=AddressType.partner)
    meier = make.partner("meier", sponsor=root, last_name="Meier")
    level, ids = meier.address, []
    for i in range(1, 4):
        level = make.address(last_name=f"Stufe{i}", type=AddressType.partner, sponsor_id=level.id)
        ids.append(level.id)
        make.address(last_name=f"Kunde{i}", type=AddressType.customer, sponsor_id=level.id)
    make.address(last_name="Neukundin", email="neu@kunde.example", sponsor_id=meier.address_id,
                 consent_contact_by_sponsor=True)

    log_in(page, "meier")
    page.goto("/my/downline/")
    expect(page.locator("[data-test=firstline]")).to_contain_text("Stufe1")
    for i, pk in enumerate(ids, start=1):
        page.click(f"[data-test=firstline] tr[data-id='{pk}'] [data-test=step-down]")
        page.wait_for_url(f"**/my/downline/node/{pk}")
        expect(page.locator("[data-test=breadcrumb] li.active")).to_contain_text(f"Stufe{i}")
    expect(page.locator("[data-test=firstline]")).to_contain_text("Kunde3")
    expect(page.locator("[data-test=breadcrumb]")).not_to_contain_text("Vertrieb")

    page.click(f"[data-test=breadcrumb] a[data-id='{meier.address_id}']")
    page.wait_for_url(f"**/my/downline/node/{meier.address_id}")
    expect(page.locator("[data-test=firstline]")).to_contain_text("Neukundin")

    page.click("[data-test=new-customers-link]")
    page.wait_for_url("**/my/downline/new-customers/")
    expect(page.locator("[data-test=new-customers]")).to_contain_text("neu@kunde.example")
    expect(page.locator("[data-test=new-customers]")).not_to_contain_text("Stufe1")

    page.goto(f"/my/downline/tree/{meier.address_id}?levels=4")
    tree = page.locator("svg[data-test=downline-tree]")
    expect(tree).to_be_visible()
    expect(tree.locator("g.node")).to_have_count(8)  # meier, 3 partners in a chain, 3 customers, 1 new
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tree.screenshot(path=str(ARTIFACTS / "downline_tree.png"))
