"""The downline REST API: a partner's own downline only, the visibility settings, staff moves."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Address, AddressType, AuditEntry
from downline import visibility
from tests.support.http import api_token

API = "/api/v1/downline"


@pytest.fixture
def net(make):
    """root ─ meier (partner) ─ schulz (partner) ─ enkel (consented e-mail)
                             ├ neu (new customer, consented)   └ still (customer, no consent)
            └ fremd (partner) ─ fremdkundin"""
    root = make.address(last_name="Vertrieb", company="Partnerdesk GmbH", type=AddressType.partner)
    meier = make.partner("meier", sponsor=root, last_name="Meier")
    schulz = make.partner("schulz", sponsor=meier.address, last_name="Schulz")
    neu = make.address(last_name="Neukundin", email="neu@kunde.example", phone="+49 30 1",
                       sponsor=meier.address, consent_contact_by_sponsor=True)
    still = make.address(last_name="Stillkundin", email="still@kunde.example", type=AddressType.customer,
                         sponsor=meier.address, consent_contact_by_sponsor=False)
    enkel = make.address(last_name="Enkelin", email="enkel@kunde.example", type=AddressType.customer,
                         sponsor=schulz.address, consent_contact_by_sponsor=True)
    fremd = make.partner("fremd", sponsor=root, last_name="Fremdpartner")
    kundin = make.address(last_name="Fremdkundin", email="fremd@c-kunde.example", sponsor=fremd.address,
                          consent_contact_by_sponsor=True)
    ids = dict(root=root.id, meier=meier.address_id, schulz=schulz.address_id, neu=neu.id, still=still.id,
               enkel=enkel.id, fremd=fremd.address_id, kundin=kundin.id)
    return ids


def _urls(pk):
    return [f"{API}/node/{pk}", f"{API}/node/{pk}/firstline", f"{API}/node/{pk}/firstline?sort=downline",
            f"{API}/node/{pk}/search?q=kund", f"{API}/node/{pk}/stats", f"{API}/node/{pk}/new_customers"]


def test_anonymous_gets_401(client, net):
    for url in [*_urls(net["meier"]), f"{API}/me"]:
        assert client.get(url).status_code == 401, url
    assert client.post(f"{API}/move", json={}).status_code == 401


def test_partner_cannot_read_nodes_beside_or_above_itself(client, net):
    headers = api_token(client, "meier")
    for outside in ("root", "fremd", "kundin", 999_999, 10**30):
        pk = net.get(outside, outside)
        for url in _urls(pk):
            response = client.get(url, headers=headers)
            assert response.status_code == 404, url
            assert response.json["error"] == "not_found"
            assert "Fremd" not in response.get_data(as_text=True)
    headers = api_token(client, "schulz")
    for above in ("meier", "root", "neu"):
        for url in _urls(net[above]):
            assert client.get(url, headers=headers).status_code == 404, url


def test_partner_new_customer_navigator_is_for_the_own_address_only(client, net):
    headers = api_token(client, "meier")
    assert client.get(f"{API}/node/{net['schulz']}/new_customers", headers=headers).status_code == 404
    page = client.get(f"{API}/node/{net['meier']}/new_customers", headers=headers).json
    assert [m["name"] for m in page["result"]] == ["Erika Neukundin"]
    assert page["result"][0]["email"] == "neu@kunde.example"


def test_partner_steps_down_with_breadcrumb_from_itself(client, net):
    headers = api_token(client, "meier")
    me = client.get(f"{API}/me", headers=headers).json
    assert me["node"]["id"] == net["meier"]
    assert me["breadcrumb"] == [{"id": net["meier"], "name": "Erika Meier"}]
    node = client.get(f"{API}/node/{net['enkel']}", headers=headers).json
    assert [c["id"] for c in node["breadcrumb"]] == [net["meier"], net["schulz"], net["enkel"]]
    assert node["node"]["level"] == 2
    page = client.get(f"{API}/node/{net['meier']}/firstline?sort=downline&desc=1", headers=headers).json
    assert page["total"] == 3 and page["result"][0]["name"] == "Erika Schulz"
    assert (page["result"][0]["firstline_count"], page["result"][0]["downline_count"]) == (1, 1)
    customers = client.get(f"{API}/node/{net['meier']}/firstline?type=customer", headers=headers).json
    assert [m["id"] for m in customers["result"]] == [net["still"]]


def test_hidden_fields_never_appear(client, net):
    headers = api_token(client, "meier")
    firstline = client.get(f"{API}/node/{net['meier']}/firstline", headers=headers).json
    rows = {m["id"]: m for m in firstline["result"]}
    assert rows[net["neu"]]["email"] == "neu@kunde.example"  # own firstline, consented
    assert rows[net["still"]]["email"] is None                # own firstline, no consent
    assert "street" not in rows[net["neu"]]                   # not shown by default
    deeper = client.get(f"{API}/node/{net['schulz']}/firstline", headers=headers)
    assert "enkel@kunde.example" not in deeper.get_data(as_text=True)
    assert set(deeper.json["result"][0]) == {"id", "name", "type", "level", "firstline_count",
                                             "downline_count", "registered_at", "first_order_at"}
    found = client.get(f"{API}/node/{net['meier']}/search?q=kundin", headers=headers)
    assert {m["id"] for m in found.json["result"]} == {net["neu"], net["still"]}
    assert "still@kunde.example" not in found.get_data(as_text=True)
    found = client.get(f"{API}/node/{net['meier']}/search?q=Enkel", headers=headers)
    assert "enkel@kunde.example" not in found.get_data(as_text=True)
    # Staff switch e-mail off for the firstline: the field disappears from the API.
    shown = visibility.settings(db.session)
    shown["firstline"].discard("email")
    shown["new_customers"].discard("email")
    visibility.save(db.session, shown)
    for url in [f"{API}/node/{net['meier']}/firstline", f"{API}/node/{net['meier']}/new_customers",
                f"{API}/node/{net['meier']}/search?q=kundin"]:
        response = client.get(url, headers=headers)
        assert response.status_code == 200 and "neu@kunde.example" not in response.get_data(as_text=True), url


def test_stats_count_per_level_and_type(client, net):
    headers = api_token(client, "meier")
    result = client.get(f"{API}/node/{net['meier']}/stats", headers=headers).json
    assert result["levels"] == [
        {"level": 1, "new_customer": 1, "customer": 1, "partner": 1, "total": 3},
        {"level": 2, "new_customer": 0, "customer": 1, "partner": 0, "total": 1},
    ]
    assert result["totals"]["total"] == 4


def test_bad_parameters_are_400_not_500(client, net):
    headers = api_token(client, "meier")
    for url in [f"{API}/node/{net['meier']}/firstline?sort=password",
                f"{API}/node/{net['meier']}/firstline?type=admin",
                f"{API}/node/{net['meier']}/firstline?page=-1",
                f"{API}/node/{net['meier']}/firstline?page_size=x",
                f"{API}/node/{net['meier']}/firstline?page=99999999999999999999",
                f"{API}/node/{net['meier']}/search"]:
        response = client.get(url, headers=headers)
        assert response.status_code == 400 and response.json["error"] == "invalid_parameter", url


def test_staff_reads_any_node_with_upline_and_all_fields(client, make, net):
    make.user("staff", "Staff")
    headers = api_token(client, "staff")
    node = client.get(f"{API}/node/{net['schulz']}", headers=headers).json
    assert [c["id"] for c in node["breadcrumb"]] == [net["root"], net["meier"], net["schulz"]]
    page = client.get(f"{API}/node/{net['schulz']}/firstline", headers=headers).json
    assert page["result"][0]["email"] == "enkel@kunde.example" and "street" in page["result"][0]
    assert client.get(f"{API}/me", headers=headers).status_code == 404


def test_staff_moves_and_a_cycle_is_409(client, make, net):
    make.user("staff", "Staff")
    headers = api_token(client, "staff")
    cycle = client.post(f"{API}/move", headers=headers, json={
        "address_id": net["meier"], "new_sponsor_id": net["enkel"], "reason": "Test"})
    assert cycle.status_code == 409 and cycle.json["error"] == "cycle" and cycle.json["message"]
    missing = client.post(f"{API}/move", headers=headers, json={
        "address_id": net["schulz"], "new_sponsor_id": 999_999, "reason": "Test"})
    assert missing.status_code == 422 and missing.json["error"] == "missing_sponsor"
    no_reason = client.post(f"{API}/move", headers=headers, json={
        "address_id": net["schulz"], "new_sponsor_id": net["fremd"], "reason": " "})
    assert no_reason.status_code == 422 and no_reason.json["error"] == "reason_required"
    unknown = client.post(f"{API}/move", headers=headers, json={
        "address_id": 999_999, "new_sponsor_id": net["fremd"], "reason": "Test"})
    assert unknown.status_code == 404 and unknown.json["error"] == "unknown_address"
    bad = client.post(f"{API}/move", headers=headers, json={"address_id": "x", "new_sponsor_id": 1})
    assert bad.status_code == 422
    moved = client.post(f"{API}/move", headers=headers, json={
        "address_id": net["schulz"], "new_sponsor_id": net["fremd"], "reason": "Partnerwunsch"})
    assert moved.status_code == 200 and moved.json["moved"] == 2
    db.session.expire_all()
    assert db.session.get(Address, net["enkel"]).depth == 3
    assert db.session.get(Address, net["fremd"]).downline_count == 3
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.address_id == net["schulz"],
                                                           AuditEntry.field == "sponsor_id")
                               .order_by(AuditEntry.id.desc())).scalars().first()
    assert (entry.reason, entry.actor_label) == ("Partnerwunsch", "staff")


def test_partner_cannot_move(client, net):
    headers = api_token(client, "meier")
    response = client.post(f"{API}/move", headers=headers, json={
        "address_id": net["neu"], "new_sponsor_id": net["schulz"], "reason": "Test"})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Address, net["neu"]).sponsor_id == net["meier"]


def test_documented_in_openapi(client, make):
    make.user("staff", "Staff")
    response = client.get("/api/v1/_openapi", headers=api_token(client, "staff"))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    spec = response.json
    for path in ["/downline/me", "/downline/node/{pk}", "/downline/node/{pk}/firstline",
                 "/downline/node/{pk}/new_customers", "/downline/node/{pk}/search",
                 "/downline/node/{pk}/stats", "/downline/move"]:
        assert f"/api/v1{path}" in spec["paths"], path
    assert "Error" in spec["components"]["schemas"]
