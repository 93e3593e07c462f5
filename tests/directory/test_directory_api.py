"""The directory's REST API: the shop reads findable partners (public data only), a partner
keeps its own services with its own token, never another partner's."""

from datetime import date

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.extensions import db
from backoffice.models import Partner, PartnerProfile, Service, ServicePackage
from tests.support.directory import category, published_partner
from tests.support.http import api_token


def _service_id(partner_id):
    first = sa.select(Service.id).where(Service.partner_id == partner_id).order_by(Service.id)
    return db.session.scalar(first)


@pytest.fixture
def world(make):
    handwerk = category("Handwerk", "Crafts")
    elektro = category("Elektro", "Electrical", parent=handwerk)
    maler = category("Maler", "Painting", parent=handwerk)
    strom = published_partner(make, "strom", elektro, "10115", radius_km=30, display_name="Strom & Söhne")
    with transaction.unit_of_work() as session:
        partner = session.get(Partner, strom.id)
        partner.notification_email = "geheim-strom@example.org"
        session.get(PartnerProfile, strom.id).away_until = date(2026, 1, 2)
        session.add(Service(partner_id=strom.id, category_id=maler.id, title="Verborgene Malerei",
                            active=False))
    weit = published_partner(make, "weit", elektro, "80331", display_name="Weit weg")  # Munich
    bund = published_partner(make, "bund", elektro, "20095", germany_wide=True, display_name="Bundesweit")
    entwurf = published_partner(make, "entwurf", elektro, "10117", published=False, display_name="Entwurf")
    still = published_partner(make, "still", elektro, "10117", service_active=False, display_name="Still")
    make.user("laden", "Shop")
    return {"elektro": elektro, "maler": maler, "handwerk": handwerk, "strom": strom, "weit": weit,
            "bund": bund, "entwurf": entwurf, "still": still}


STROM_SERVICE = {"category_id": None, "category": "Handwerk › Elektro", "title": "Leistung von strom",
                 "description": None, "price_from": "49.00", "packages": [
                     {"name": "Paket 1", "description": "Beschreibung", "price": "49.00",
                      "delivery_days": 3},
                     {"name": "Paket 2", "description": "Beschreibung", "price": "98.00",
                      "delivery_days": 6}]}


def test_the_shop_finds_partners_by_category_and_postal_code_with_services_and_packages(client, world):
    headers = api_token(client, "laden")
    answer = client.get(f"/api/v1/directory/partners?category_id={world['elektro'].id}"
                        "&postal_code=10117&radius_km=25", headers=headers)
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert [p["display_name"] for p in body["result"]] == ["Strom & Söhne", "Bundesweit"]
    assert (body["total"], body["page"], body["pages"], body["place"]) == (2, 1, 1, "Berlin")
    strom = body["result"][0]
    service_id = _service_id(world["strom"].id)
    assert strom == {
        "partner_id": world["strom"].id, "display_name": "Strom & Söhne",
        "profile_text": "Strom arbeitet sauber.", "picture_url": None, "postal_code": "10115",
        "place": "Berlin", "radius_km": 30, "germany_wide": False, "languages": ["de", "en"],
        "distance_km": strom["distance_km"],
        "services": [{**STROM_SERVICE, "id": service_id, "category_id": world["elektro"].id}]}
    assert 0 < strom["distance_km"] < 3
    # Public data only: not the notification e-mail, the away date, nor the inactive service.
    text = answer.get_data(as_text=True)
    assert "geheim-strom" not in text and "2026-01-02" not in text and "Verborgene" not in text


def test_a_top_category_finds_its_subcategories_and_english_is_asked_by_header(client, world):
    headers = {**api_token(client, "laden"), "Accept-Language": "en"}
    body = client.get(f"/api/v1/directory/partners?category_id={world['handwerk'].id}&postal_code=10117",
                      headers=headers).json
    assert [p["display_name"] for p in body["result"]] == ["Strom & Söhne", "Bundesweit"]
    assert body["result"][0]["services"][0]["category"] == "Crafts › Electrical"


def test_search_by_name_and_paging(client, world):
    headers = api_token(client, "laden")
    body = client.get("/api/v1/directory/partners?name=WEIT", headers=headers).json
    assert [p["display_name"] for p in body["result"]] == ["Bundesweit", "Weit weg"]
    assert all(p["distance_km"] is None for p in body["result"])
    second = client.get("/api/v1/directory/partners?page=2&page_size=2", headers=headers).json
    assert (second["total"], second["pages"]) == (3, 2)
    assert [p["display_name"] for p in second["result"]] == ["Weit weg"]


def test_one_partners_public_profile_and_not_found_for_the_unfindable(client, world):
    headers = api_token(client, "laden")
    answer = client.get(f"/api/v1/directory/partners/{world['strom'].id}", headers=headers)
    assert answer.status_code == 200
    assert answer.json["display_name"] == "Strom & Söhne" and answer.json["distance_km"] is None
    assert [s["title"] for s in answer.json["services"]] == ["Leistung von strom"]
    for hidden in ("entwurf", "still"):
        missing = client.get(f"/api/v1/directory/partners/{world[hidden].id}", headers=headers)
        assert missing.status_code == 404
        assert missing.json == {"error": "partner_not_found",
                                "message": "Diesen Partner gibt es im Verzeichnis nicht."}


@pytest.mark.parametrize(("query", "status", "field"), [
    ("page_size=0", 400, "page_size"), ("page_size=51", 400, "page_size"),
    ("radius_km=abc", 400, "radius_km"),
    ("radius_km=501", 400, "radius_km"), ("page=-1", 400, "page"), ("category_id=1.5", 400, "category_id"),
    ("postal_code=00000", 422, "postal_code"), ("postal_code=abc", 422, "postal_code"),
    ("category_id=987654", 422, "category_id"),
])
def test_bad_search_parameters_are_refused_at_their_field(client, world, query, status, field):
    answer = client.get(f"/api/v1/directory/partners?{query}",
                        headers={**api_token(client, "laden"), "Accept-Language": "en"})
    assert answer.status_code == status, answer.json
    assert list(answer.json["fields"]) == [field]


def test_an_inactive_category_is_refused(client, world):
    with transaction.unit_of_work() as session:
        session.execute(sa.update(type(world["maler"])).where(type(world["maler"]).id == world["maler"].id)
                        .values(active=False))
    answer = client.get(f"/api/v1/directory/partners?category_id={world['maler'].id}",
                        headers={**api_token(client, "laden"), "Accept-Language": "en"})
    assert answer.status_code == 422
    assert answer.json["fields"] == {"category_id": ["Choose a category from the list."]}


def test_categories_in_the_answer_language(client, world):
    body = client.get("/api/v1/directory/categories",
                      headers={**api_token(client, "laden"), "Accept-Language": "en"}).json
    handwerk = world["handwerk"].id
    assert body["result"] == [
        {"id": handwerk, "name": "Crafts", "parent_id": None},
        {"id": world["elektro"].id, "name": "Crafts › Electrical", "parent_id": handwerk},
        {"id": world["maler"].id, "name": "Crafts › Painting", "parent_id": handwerk}]


# --- A partner's own services ----------------------------------------------------------------

NEW_SERVICE = {"category_id": None, "title": "Wallbox montieren", "description": "Mit Anmeldung",
               "price_from": "499.00", "active": True,
               "packages": [{"name": "Basis", "description": "11 kW", "price": "499.00", "delivery_days": 14},
                            {"name": "Komfort", "description": None, "price": "899.50", "delivery_days": 21}]}


@pytest.fixture(params=["strom", "kollege"], ids=["owner", "team member"])
def strom_headers(request, client, make, world):
    if request.param == "kollege":
        make.team_member(world["strom"], "kollege")
    return api_token(client, request.param)


def test_a_partner_adds_replaces_and_deletes_its_services(client, world, strom_headers):
    strom_id = world["strom"].id
    body = {**NEW_SERVICE, "category_id": world["elektro"].id}
    created = client.post("/api/v1/my_services/", json=body, headers=strom_headers)
    assert created.status_code == 201, created.json
    new_id = created.json["id"]
    assert created.json == {**body, "id": new_id}
    listing = client.get("/api/v1/my_services/", headers=strom_headers).json["result"]
    assert [s["title"] for s in listing] == ["Leistung von strom", "Verborgene Malerei", "Wallbox montieren"]
    assert [s["active"] for s in listing] == [True, False, True]

    found = client.get(f"/api/v1/directory/partners/{strom_id}", headers=strom_headers).json
    assert [s["title"] for s in found["services"]] == ["Leistung von strom", "Wallbox montieren"]
    assert [p["price"] for p in found["services"][1]["packages"]] == ["499.00", "899.50"]

    replaced = client.put(f"/api/v1/my_services/{new_id}", headers=strom_headers, json={
        "category_id": world["maler"].id, "title": "Wände streichen", "active": False,
        "packages": [{"name": "Ein Zimmer", "price": "250", "delivery_days": 2}]})
    assert replaced.status_code == 200, replaced.json
    assert replaced.json == {"id": new_id, "category_id": world["maler"].id, "title": "Wände streichen",
                             "description": None, "price_from": None, "active": False,
                             "packages": [{"name": "Ein Zimmer", "description": None, "price": "250.00",
                                           "delivery_days": 2}]}
    assert client.get(f"/api/v1/my_services/{new_id}", headers=strom_headers).json == replaced.json
    assert client.delete(f"/api/v1/my_services/{new_id}", headers=strom_headers).json == {"id": new_id}
    assert client.get(f"/api/v1/my_services/{new_id}", headers=strom_headers).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServicePackage)
                             .where(ServicePackage.service_id == new_id)) == 0


def test_another_partners_service_is_not_found_and_stays_unchanged(client, world, strom_headers):
    foreign = _service_id(world["weit"].id)
    body = {**NEW_SERVICE, "category_id": world["elektro"].id, "title": "gehackt"}
    for answer in (client.get(f"/api/v1/my_services/{foreign}", headers=strom_headers),
                   client.put(f"/api/v1/my_services/{foreign}", json=body, headers=strom_headers),
                   client.delete(f"/api/v1/my_services/{foreign}", headers=strom_headers)):
        assert answer.status_code == 404 and answer.json["error"] == "service_not_found"
    listing = client.get("/api/v1/my_services/", headers=strom_headers).json["result"]
    assert "Leistung von weit" not in str(listing)
    db.session.expire_all()
    service = db.session.get(Service, foreign)
    assert (service.title, service.partner_id, len(service.packages)) == \
        ("Leistung von weit", world["weit"].id, 2)


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"category_id": ["Enter a whole number."], "title": ["This field is required."]}),
    ({"category_id": "1", "title": 5, "active": "yes"},
     {"category_id": ["Enter a whole number."], "title": ["Send text."], "active": ["Send true or false."]}),
    ({"title": "x", "price_from": 49.9}, {"price_from": ["Enter an amount such as 49.90."]}),
    # the Desk's German amounts are no API amounts: a machine's "1.234" is not 1234
    ({"title": "x", "price_from": "1.234,56"}, {"price_from": ["Enter an amount such as 49.90."]}),
    ({"title": "x", "price_from": "abc"}, {"price_from": ["Enter an amount such as 49.90."]}),
    ({"title": "x", "price_from": "-1"}, {"price_from": ["Enter an amount of 0 or more."]}),
    ({"title": "x" * 201}, {"title": ["At most 200 characters."]}),
    ({"title": "x", "category_id": 987654}, {"category_id": ["Choose a category from the list."]}),
    ({"title": "x", "packages": "Basis"}, {"packages": ["Send a list of packages."]}),
    ({"title": "x", "packages": [{"name": "A", "price": "1", "delivery_days": 1}] * 6},
     {"packages": ["At most 5 packages."]}),
    ({"title": "x", "packages": ["Basis", {"name": 5, "price": 10, "delivery_days": "3"}]},
     {"packages-0": ["Send a JSON object."], "packages-1-name": ["Send text."],
      "packages-1-price": ["Enter an amount such as 49.90."],
      "packages-1-delivery_days": ["Enter a whole number."]}),
    ({"title": "x", "packages": [{"name": "A", "price": "1", "delivery_days": 1},
                                 {"name": " ", "price": "-5", "delivery_days": 400}]},
     {"packages-1-name": ["This field is required."], "packages-1-price": ["Enter an amount of 0 or more."],
      "packages-1-delivery_days": ["Enter a number from 0 to 365."]}),
])
def test_bad_service_bodies_are_refused_per_field_and_write_nothing(client, world, body, fields):
    headers = {**api_token(client, "strom"), "Accept-Language": "en"}
    if body.get("category_id") is None and "category_id" not in fields:
        body = {**body, "category_id": world["elektro"].id}
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Service))
    answer = client.post("/api/v1/my_services/", json=body, headers=headers)
    assert answer.status_code == 422, answer.json
    assert answer.json["error"] == "invalid_fields" and answer.json["fields"] == fields
    service_id = _service_id(world["strom"].id)
    replaced = client.put(f"/api/v1/my_services/{service_id}", json=body, headers=headers)
    assert replaced.status_code == 422 and replaced.json["fields"] == fields
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Service)) == before
    assert db.session.get(Service, service_id).title == "Leistung von strom"


def test_who_may_use_which_api(client, make, world):
    shop = api_token(client, "laden")
    assert client.get("/api/v1/my_services/", headers=shop).status_code == 403
    assert client.post("/api/v1/my_services/", json=NEW_SERVICE, headers=shop).status_code == 403
    make.user("chefin", "Admin")
    admin = {**api_token(client, "chefin"), "Accept-Language": "en"}
    assert client.get("/api/v1/my_services/", headers=admin).json == {"result": []}
    refused = client.post("/api/v1/my_services/", json={**NEW_SERVICE, "category_id": world["elektro"].id},
                          headers=admin)
    assert refused.status_code == 403
    assert refused.json == {"error": "no_partner", "message": "This login works for no partner."}
    partner = api_token(client, "weit")
    assert client.get("/api/v1/directory/categories", headers=partner).status_code == 200
    assert client.get("/api/v1/directory/partners").status_code == 401


def test_a_removed_team_member_loses_the_services_api_at_once(client, make, world):
    from backoffice.services import teams

    member = make.team_member(world["strom"], "kollege")
    headers = api_token(client, "kollege")
    assert client.get("/api/v1/my_services/", headers=headers).status_code == 200
    with transaction.unit_of_work() as session:
        teams.remove(session, session.get(Partner, world["strom"].id), member.id)
    answer = client.post("/api/v1/my_services/", json={**NEW_SERVICE, "category_id": world["elektro"].id},
                         headers=headers)
    assert answer.status_code == 401
    assert client.get("/api/v1/my_services/", headers=headers).status_code == 401
