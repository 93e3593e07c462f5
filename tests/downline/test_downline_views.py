"""The downline pages in the partner area and the Desk, through HTTP."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Address, AddressType, AuditEntry, PersonalDataExport
from tests.support.http import csrf_token, login


@pytest.fixture
def network(make):
    root = make.address(last_name="Vertrieb", company="Partnerdesk GmbH", type=AddressType.partner)
    meier = make.partner("meier", sponsor=root, last_name="Meier")
    level = meier.address
    chain = []
    for i in range(1, 4):
        level = make.address(last_name=f"Stufe{i}", type=AddressType.partner, sponsor_id=level.id)
        chain.append(level.id)
    neu = make.address(last_name="Neukundin", email="neu@kunde.example", phone="+49 30 99",
                       sponsor_id=meier.address_id, consent_contact_by_sponsor=True)
    still = make.address(last_name="Stillkundin", email="still@kunde.example",
                         sponsor_id=meier.address_id, consent_contact_by_sponsor=False)
    return {"root": root.id, "meier": meier.address_id, "chain": chain, "neu": neu.id, "still": still.id}


def test_partner_steps_down_and_sees_breadcrumb(client, network):
    login(client, "meier")
    page = client.get(f"/my/downline/node/{network['chain'][1]}").get_data(as_text=True)
    assert 'data-test="breadcrumb"' in page
    assert "Meier" in page and "Stufe1" in page and "Stufe3" in page
    assert "Vertrieb" not in page


def test_partner_new_customers_page_shows_contact_with_consent_only(client, network):
    login(client, "meier")
    page = client.get("/my/downline/new-customers/").get_data(as_text=True)
    assert "Neukundin" in page and "neu@kunde.example" in page
    assert "Stillkundin" in page and "still@kunde.example" not in page
    assert "Stufe1" not in page  # a partner, not a new customer


def test_stats_and_tree_pages_render_offline_svg(client, network):
    login(client, "meier")
    stats = client.get(f"/my/downline/stats/{network['meier']}").get_data(as_text=True)
    assert 'data-test="stats-chart"' in stats and "<script src=\"http" not in stats
    assert 'aria-label="Adressen je Ebene"><title>Adressen je Ebene</title>' in stats  # named in German
    tree = client.get(f"/my/downline/tree/{network['meier']}").get_data(as_text=True)
    assert 'data-test="downline-tree"' in tree and '<script src="http' not in tree
    branch = client.get(f"/my/downline/tree/{network['meier']}/json?levels=2").get_json()
    assert [c["name"] for c in branch["node"]["children"][0]["children"]] == ["Erika Stufe2"]
    svg = client.get(f"/my/downline/tree/{network['meier']}/svg")
    assert svg.mimetype == "image/svg+xml" and b"Stufe1" in svg.data


def test_partner_export_is_logged(client, network):
    login(client, "meier")
    response = client.get(f"/my/downline/export/{network['meier']}/xlsx?level=1")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    log = db.session.execute(sa.select(PersonalDataExport)).scalars().one()
    assert (log.actor_label, log.level, log.file_format, log.row_count) == ("meier", 1, "xlsx", 3)


def test_staff_sees_upline_and_moves_with_reason(client, make, network):
    make.user("staff", "Staff")
    login(client, "staff")
    page = client.get(f"/desk/downline/node/{network['chain'][0]}").get_data(as_text=True)
    assert "Vertrieb" in page and "Meier" in page  # staff see the upline
    token = csrf_token(client, "/desk/downline/move")
    refused = client.post("/desk/downline/move", data={
        "csrf_token": token, "address_id": network["meier"], "new_sponsor_id": network["chain"][2],
        "reason": "Test"})
    text = refused.get_data(as_text=True).lower()
    assert refused.status_code == 200 and ("cycle" in text or "zyklus" in text)
    moved = client.post("/desk/downline/move", data={
        "csrf_token": token, "address_id": network["chain"][1], "new_sponsor_id": network["root"],
        "reason": "Partnerwunsch"})
    assert moved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Address, network["chain"][2]).depth == 2
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.address_id == network["chain"][1])
                               .order_by(AuditEntry.id.desc())).scalars().first()
    assert (entry.reason, entry.actor_label) == ("Partnerwunsch", "staff")


def test_staff_bulk_move_page_leads_to_the_sponsor_moves_import(client, make, network):
    make.user("staff", "Staff")
    login(client, "staff")
    response = client.get("/desk/downline/bulk-move")
    assert response.status_code == 302 and "/imports/?kind=sponsor_moves" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<option value="sponsor_moves" selected>' in page


def test_staff_visibility_setting_hides_contact_from_sponsor(client, make, network):
    make.user("staff", "Staff")
    login(client, "staff")
    token = csrf_token(client, "/desk/downline/visibility")
    response = client.post("/desk/downline/visibility", data={
        "csrf_token": token, "new_customers:registered_at": "1", "firstline:city": "1"})
    assert response.status_code == 302
    client.get("/logout/")
    login(client, "meier")
    page = client.get("/my/downline/new-customers/").get_data(as_text=True)
    assert "Neukundin" in page and "neu@kunde.example" not in page
    page = client.get(f"/my/downline/node/{network['meier']}").get_data(as_text=True)
    assert "Neukundin" in page and "neu@kunde.example" not in page
