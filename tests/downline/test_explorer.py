"""The explorable drawn downline: the branches the browser draws, cut into pages with a
summary group, and the JSON endpoint scoped like the other downline pages."""

from __future__ import annotations

import pytest

from backoffice.extensions import db
from backoffice.models import Address, AddressType
from downline import explorer
from tests.support.http import login


@pytest.fixture
def big_firstline(make):
    """Meier sponsors 45: 3 partners with a downline, then 30 customers, then 12 new customers."""
    root = make.address(last_name="Vertrieb", company="Partnerdesk GmbH", type=AddressType.partner)
    meier = make.partner("meier", sponsor=root, last_name="Meier")
    partners = []
    for i, size in enumerate((3, 1, 2)):
        p = make.address(first_name="", last_name=f"Partner{i}", type=AddressType.partner,
                         sponsor_id=meier.address_id)
        for j in range(size):
            make.address(first_name="", last_name=f"Enkel{i}-{j}", type=AddressType.customer, sponsor_id=p.id)
        partners.append(p.id)
    for i in range(30):
        make.address(first_name="", last_name=f"Kunde{i:02d}", type=AddressType.customer,
                     sponsor_id=meier.address_id)
    for i in range(12):
        make.address(first_name="", last_name=f"Neu{i:02d}", sponsor_id=meier.address_id)
    return {"root": root.id, "meier": meier.address_id, "partners": partners}


def test_branch_draws_a_page_of_the_firstline_biggest_downlines_first_and_groups_the_rest(big_firstline):
    meier = db.session.get(Address, big_firstline["meier"])
    data = explorer.branch(db.session, meier, levels=2, root_id=meier.id)
    node = data["node"]
    assert (node["firstline"], node["downline"], node["level"]) == (45, 51, 0)
    names = [c["name"] for c in node["children"]]
    assert names[:3] == ["Partner0", "Partner2", "Partner1"]  # 3, 2, 1 below them
    # Then the newest: the 12 new customers and 5 customers registered last.
    newest = [f"Neu{i:02d}" for i in range(11, -1, -1)] + [f"Kunde{i:02d}" for i in range(29, 24, -1)]
    assert names[3:] == newest
    assert node["more"] == {"count": 25, "offset": 20,
                            "by_type": {"new_customer": 0, "customer": 25, "partner": 0}}
    # The second level is loaded too (the browser expands it without asking again).
    assert [c["name"] for c in node["children"][0]["children"]] == ["Enkel0-2", "Enkel0-1", "Enkel0-0"]
    assert node["children"][0]["more"] is None and "children" not in node["children"][0]["children"][0]
    assert data["crumbs"] == [{"id": meier.id, "name": "Erika Meier"}] and data["up"] is None


def test_the_next_pages_of_a_firstline_continue_where_the_group_began(big_firstline):
    meier = db.session.get(Address, big_firstline["meier"])
    second = explorer.branch(db.session, meier, levels=1, offset=20)["node"]
    assert [c["name"] for c in second["children"]] == [f"Kunde{i:02d}" for i in range(24, 4, -1)]
    assert second["more"] == {"count": 5, "offset": 40,
                              "by_type": {"new_customer": 0, "customer": 5, "partner": 0}}
    last = explorer.branch(db.session, meier, levels=1, offset=40)["node"]
    assert [c["name"] for c in last["children"]] == [f"Kunde{i:02d}" for i in range(4, -1, -1)]
    assert last["more"] is None


def test_a_sponsor_with_a_huge_firstline_is_one_page_and_one_group(make):
    boss = make.address(first_name="", last_name="Chefin", type=AddressType.partner)
    for i in range(600):
        make.address(first_name="", last_name=f"K{i:03d}", type=AddressType.customer, sponsor_id=boss.id)
    node = explorer.branch(db.session, boss, levels=2)["node"]
    assert len(node["children"]) == explorer.FIRSTLINE_LIMIT
    assert node["more"]["count"] == 600 - explorer.FIRSTLINE_LIMIT


def test_partner_json_stays_inside_its_downline(client, make, big_firstline):
    schulz_partner = make.partner("schulz", sponsor=db.session.get(Address, big_firstline["root"]),
                                  last_name="Schulz")
    login(client, "meier")
    own = client.get(f"/my/downline/tree/{big_firstline['meier']}/json?levels=1").get_json()
    assert own["node"]["name"] == "Erika Meier" and own["up"] is None
    child = client.get(f"/my/downline/tree/{big_firstline['partners'][0]}/json").get_json()
    assert child["up"] == big_firstline["meier"]
    assert [c["name"] for c in child["crumbs"]] == ["Erika Meier", "Partner0"]
    for outside in (big_firstline["root"], schulz_partner.address_id):
        assert client.get(f"/my/downline/tree/{outside}/json").status_code == 404
        assert client.get(f"/my/downline/tree/{outside}").status_code == 404
    search = f"/my/downline/tree/{big_firstline['meier']}/json?q="
    found = client.get(search + "enkel2").get_json()["found"]
    assert [(f["name"], f["type"], f["level"]) for f in found] == [("Enkel2-0", "customer", 2),
                                                                   ("Enkel2-1", "customer", 2)]
    assert client.get(search + "Schulz").get_json() == {"found": []}
    assert client.get(search + "Vertrieb").get_json() == {"found": []}


def test_staff_json_shows_the_upline_in_the_crumbs(client, make, big_firstline):
    make.user("staff", "Staff")
    login(client, "staff")
    data = client.get(f"/desk/downline/tree/{big_firstline['meier']}/json").get_json()
    assert [c["name"] for c in data["crumbs"]] == ["Erika Vertrieb (Partnerdesk GmbH)", "Erika Meier"]
    assert data["up"] == big_firstline["root"]


@pytest.mark.parametrize("lang,words", [
    ("de", ["Legende", "Eine Ebene höher", "Namen suchen", "Diese Ansicht herunterladen (SVG)"]),
    ("en", ["Legend", "One level up", "Search a name", "Download this view (SVG)"]),
])
def test_tree_page_offers_the_explorer_with_legend_in_the_ui_language(client, big_firstline, lang, words):
    login(client, "meier")
    client.get(f"/lang/{lang}")
    page = client.get(f"/my/downline/tree/{big_firstline['meier']}").get_data(as_text=True)
    assert 'data-test="tree-explorer"' in page and "/static/partnerdesk/downline-tree.js" in page
    assert 'data-json-url="/my/downline/tree/0/json"' in page
    for word in words:
        assert word in page
