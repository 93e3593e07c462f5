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

    page.goto(f"/my/downline/node/{meier.address_id}")
    page.click("[data-test=tree-link]")
    page.wait_for_url(f"**/my/downline/tree/{meier.address_id}")
    expect(page.locator(f"svg[data-test=downline-tree] g.node[data-id='{meier.address_id}']")).to_be_visible()


def _box(page, pk):
    return page.locator(f"svg[data-test=downline-tree] g.node[data-id='{pk}']")


def test_partner_explores_the_drawn_tree_zoom_expand_recentre_search(page, make):
    """Meier has a firstline of 30 (one page of 20 drawn, a group for the rest); under
    Stufe1 hang two levels more. The upline (Vertrieb) never shows."""
    root = make.address(last_name="Vertrieb", company="Partnerdesk GmbH", type=AddressType.partner)
    meier = make.partner("meier", sponsor=root, last_name="Meier")
    stufe1 = make.address(last_name="Stufe1", type=AddressType.partner, sponsor_id=meier.address_id)
    stufe2 = make.address(last_name="Stufe2", type=AddressType.partner, sponsor_id=stufe1.id)
    for i in range(3):
        make.address(last_name=f"Kunde{i}", type=AddressType.customer, sponsor_id=stufe1.id)
    tief = make.address(last_name="Tiefkundin", type=AddressType.customer, sponsor_id=stufe2.id)
    for i in range(29):
        make.address(last_name=f"Erste{i:02d}", sponsor_id=meier.address_id)

    log_in(page, "meier")
    page.goto("/lang/de")
    page.goto(f"/my/downline/tree/{meier.address_id}")
    svg = page.locator("svg[data-test=downline-tree]")
    expect(svg).to_have_attribute("data-centre", str(meier.address_id))
    # The viewer's own box is on screen at the start, with its firstline drawn below.
    me = _box(page, meier.address_id)
    expect(me).to_be_in_viewport()
    expect(svg.locator("g.node[data-id]")).to_have_count(21)
    group = svg.locator("g.node-more")
    expect(group).to_contain_text("10 weitere")
    expect(page.locator("[data-test=tree-legend]")).to_contain_text("Legende")
    expect(page.locator("[data-test=tree-crumbs]")).not_to_contain_text("Vertrieb")
    page.screenshot(path=str(ARTIFACTS / "downline_explorer_start_de.png"))

    # Zoom: the buttons and the wheel change the scale.
    start = float(svg.get_attribute("data-zoom"))
    page.click("[data-action=zoom-in]")
    expect(svg).not_to_have_attribute("data-zoom", f"{start:.3f}")
    zoomed = float(svg.get_attribute("data-zoom"))
    assert zoomed == pytest.approx(start * 1.25, rel=0.01)
    box = svg.bounding_box()
    page.mouse.move(box["x"] + 300, box["y"] + 200)
    page.mouse.wheel(0, 300)
    expect(svg).not_to_have_attribute("data-zoom", f"{zoomed:.3f}")
    assert float(svg.get_attribute("data-zoom")) < zoomed

    # Drag pans the drawing.
    before = svg.get_attribute("data-pan")
    page.mouse.move(box["x"] + 600, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + 400, box["y"] + 250, steps=5)
    page.mouse.up()
    x0, y0 = (int(v) for v in before.split(","))
    x1, y1 = (int(v) for v in svg.get_attribute("data-pan").split(","))
    assert (x1 - x0, y1 - y0) == (-200, -50)

    # The group (at the right end, brought into view by "Fit") loads the next page.
    page.click("[data-action=fit]")
    group.click()
    expect(svg.locator("g.node[data-id]")).to_have_count(31)
    expect(svg.locator("g.node-more")).to_have_count(0)

    # Expand Stufe1 in place: its members appear, the centre stays.
    page.click("[data-action=fit]")
    _box(page, stufe1.id).locator(".toggle").click()
    expect(_box(page, stufe2.id)).to_have_count(1)
    expect(svg.locator("g.node[data-id]")).to_have_count(35)
    expect(svg).to_have_attribute("data-centre", str(meier.address_id))
    page.screenshot(path=str(ARTIFACTS / "downline_explorer_expanded_de.png"))
    _box(page, stufe1.id).locator(".toggle").click()
    expect(_box(page, stufe2.id)).to_have_count(0)

    # Re-centre on Stufe1: its firstline is loaded, the breadcrumb leads back.
    _box(page, stufe1.id).locator("rect").first.click()
    expect(svg).to_have_attribute("data-centre", str(stufe1.id))
    expect(_box(page, stufe2.id)).to_be_visible()
    expect(page.locator("[data-test=tree-crumbs]")).to_contain_text("Meier")
    _box(page, stufe2.id).locator(".toggle").click()
    expect(_box(page, tief.id)).to_have_count(1)
    page.click("[data-test=tree-up]")
    expect(svg).to_have_attribute("data-centre", str(meier.address_id))

    # Search a name and jump to it; a name outside the downline is not found.
    page.fill("input[name=q]", "Vertrieb")
    page.press("input[name=q]", "Enter")
    expect(page.locator("[data-test=tree-found]")).to_contain_text("Kein Name in dieser Downline")
    page.fill("input[name=q]", "tiefk")
    page.press("input[name=q]", "Enter")
    expect(svg).to_have_attribute("data-centre", str(tief.id))
    expect(_box(page, tief.id)).to_have_class("node node-customer found")
    expect(_box(page, tief.id)).to_be_in_viewport()
    expect(page.locator("[data-test=tree-crumbs]")).to_contain_text("Stufe2")
    page.screenshot(path=str(ARTIFACTS / "downline_explorer_search_de.png"))

    # The view downloads as a self-contained SVG.
    with page.expect_download() as download:
        page.click("[data-test=svg-view-download]")
    data = open(download.value.path(), encoding="utf-8").read()
    assert data.startswith("<svg") and "Tiefkundin" in data and "Vertrieb" not in data


def test_staff_explores_in_english_from_a_searched_name(page, make):
    make.user("staff", "Staff")
    root = make.address(last_name="Vertrieb", company="Partnerdesk GmbH", type=AddressType.partner)
    meier = make.address(last_name="Meier", type=AddressType.partner, sponsor_id=root.id)
    make.address(last_name="Kundin", type=AddressType.customer, sponsor_id=meier.id)
    log_in(page, "staff")
    page.goto("/lang/en")
    page.goto(f"/desk/downline/tree/{meier.id}")
    svg = page.locator("svg[data-test=downline-tree]")
    expect(svg).to_have_attribute("data-centre", str(meier.id))
    expect(page.locator("[data-test=tree-legend]")).to_contain_text("Legend")
    expect(page.locator("[data-test=tree-crumbs]")).to_contain_text("Vertrieb")
    page.click("[data-test=tree-up]")
    expect(svg).to_have_attribute("data-centre", str(root.id))
    page.screenshot(path=str(ARTIFACTS / "downline_explorer_staff_en.png"))
