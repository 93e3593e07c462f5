"""The REST API: token login, CRUD, 4xx with a JSON message on bad input, OpenAPI."""

from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import Address, Partner
from tests.support.http import api_token


def _count(model):
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def test_login_without_valid_password_gets_401(client, make):
    make.user("staff", "Staff")
    response = client.post("/api/v1/security/login", json={"username": "staff", "password": "falsch",
                                                           "provider": "db"})
    assert response.status_code == 401
    assert client.get("/api/v1/address/").status_code == 401


def test_create_read_update_address(client, make):
    make.user("staff", "Staff")
    headers = api_token(client, "staff")
    sponsor = make.address(last_name="Sponsorin")
    created = client.post("/api/v1/address/", headers=headers, json={
        "last_name": "Neukundin", "email": "Neu@Example.org", "postal_code": "80331",
        "sponsor_id": sponsor.id})
    assert created.status_code == 201, created.json
    result = created.json["result"]
    assert result["type"] == "new_customer" and result["registration_source"] == "api"
    assert result["email"] == "neu@example.org" and result["sponsor_id"] == sponsor.id
    address_id = created.json["id"]
    shown = client.get(f"/api/v1/address/{address_id}", headers=headers).json["result"]
    assert shown["registered_at"].endswith("+00:00")
    updated = client.put(f"/api/v1/address/{address_id}", headers=headers, json={"city": "München"})
    assert updated.status_code == 200 and updated.json["result"]["city"] == "München"
    found = client.get("/api/v1/address/?q=(filters:!((col:last_name,opr:sw,value:Neu)))", headers=headers)
    assert [row["last_name"] for row in found.json["result"]] == ["Neukundin"]


def test_bad_input_gets_422_with_field_messages_and_saves_nothing(client, make):
    make.user("staff", "Staff")
    headers = api_token(client, "staff")
    response = client.post("/api/v1/address/", headers=headers, json={
        "last_name": "X", "email": "kein-at", "postal_code": "1", "sponsor_id": 999})
    assert response.status_code == 422
    assert set(response.json["fields"]) == {"email", "postal_code", "sponsor_id"}
    assert _count(Address) == 0


def test_cycle_through_api_is_refused(client, make):
    make.user("staff", "Staff")
    headers = api_token(client, "staff")
    top = make.address()
    child = make.address(sponsor=top)
    response = client.put(f"/api/v1/address/{top.id}", headers=headers, json={"sponsor_id": child.id})
    assert (response.status_code, response.json["fields"]) == (422, {"sponsor_id": [
        "Dieser Sponsor steht in der eigenen Downline der Adresse: "
        "Die Verschiebung würde einen Zyklus erzeugen."]})
    db.session.expire_all()
    assert db.session.get(Address, top.id).sponsor_id is None


def test_duplicate_subdomain_and_iban_via_api(client, make):
    make.user("staff", "Staff")
    headers = api_token(client, "staff")
    make.partner("meier")
    address = make.address()
    response = client.post("/api/v1/partner/", headers=headers, json={
        "address_id": address.id, "subdomain": "MEIER", "iban": "DE00"})
    assert response.status_code == 422
    mandate = ["Ein SEPA-Mandat erfordert IBAN, Mandatsreferenz und Mandatsdatum."]
    assert response.json["fields"] == {
        "subdomain": ["Diese Subdomain ist bereits vergeben."],
        "iban": ["Keine gültige IBAN: Invalid characters in IBAN DE00"],
        "mandate_reference": mandate, "mandate_date": mandate}
    assert _count(Partner) == 1


def test_wrong_types_are_refused_field_by_field(client, make):
    make.user("staff", "Staff")
    headers = api_token(client, "staff")
    for body, fields in [
        ({"last_name": 5, "sponsor_id": "abc"},
         {"last_name": ["Kein gültiger Text."], "sponsor_id": ["Keine gültige ganze Zahl."]}),
        ({"type": "kaiser", "last_name": "X"},
         {"type": ["Muss einer dieser Werte sein: new_customer, customer, partner."]}),
    ]:
        response = client.post("/api/v1/address/", headers=headers, json=body)
        assert (response.status_code, response.json) == (422, {
            "error": "invalid_fields", "fields": fields, "message": "Einige Felder sind ungültig."}), body
    for body in ([], "x"):  # a body that is no JSON object: the API contract's one answer
        response = client.post("/api/v1/address/", headers=headers, json=body)
        assert (response.status_code, response.json) == (400, {
            "error": "invalid_json", "message": "Senden Sie ein JSON-Objekt."}), body
    assert client.post("/api/v1/address/", headers=headers, data="nicht json").status_code == 400
    assert client.get("/api/v1/address/999999", headers=headers).status_code == 404


def test_article_api_keeps_money_exact(client, make):
    make.user("staff", "Staff")
    headers = api_token(client, "staff")
    response = client.post("/api/v1/article/", headers=headers, json={
        "article_no": "A-7", "name": "Tee", "gross_price": "4.95", "vat_rate": "7"})
    assert response.status_code == 201
    assert response.json["result"]["gross_price"] == "4.95"
    bad = client.post("/api/v1/article/", headers=headers, json={
        "article_no": "A-8", "name": "Tee", "gross_price": "4.95", "vat_rate": "16"})
    assert bad.status_code == 422 and "vat_rate" in bad.json["fields"]


def test_openapi_documents_our_resources(client, make):
    make.user("shop", "Shop")
    headers = api_token(client, "shop")
    spec = client.get("/api/v1/_openapi", headers=headers)
    assert spec.status_code == 200
    paths = spec.json["paths"]
    for path in ["/api/v1/address/", "/api/v1/partner/", "/api/v1/article/", "/api/v1/my_addresses/"]:
        assert path in paths
