"""What the shop and the model APIs store is what was meant: consents only from JSON
booleans, order lines linked to their article (which then cannot be deleted), one order per
external id and basket, bounded baskets and bodies, answers in the customer's language."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Address, Article, LineKind, OrderLine
from backoffice.services.throttle import voucher_checks
from tests.support.http import api_token, csrf_token, login

NOT_BOOLEANS = ["false", "no", "0", "true", "yes", "", 0, 1, 5, [], {}]


@pytest.fixture
def shop(client, make):
    make.user("shop", "Shop")
    make.article(article_no="SHIRT", name="T-Shirt", gross_price=Decimal("19.99"), vat_rate=Decimal("19"))
    voucher_checks.reset()
    return api_token(client, "shop")


@pytest.fixture
def staff(client, make):
    make.user("chefin", "Admin")
    return api_token(client, "chefin")


def addresses(ctx) -> int:
    return ctx.execute(sa.select(sa.func.count(Address.id))).scalar()


@pytest.mark.parametrize("field", ["consent_marketing", "consent_contact_by_sponsor"])
def test_registration_consents_are_json_booleans_only(client, ctx, shop, field):
    for n, value in enumerate(NOT_BOOLEANS):
        response = client.post("/api/v1/shop/customers", headers=shop, json={
            "email": f"k{n}@example.org", "last_name": "Kundin", field: value})
        assert response.status_code == 422, (value, response.json)
        assert set(response.json["fields"]) == {field}
    assert addresses(ctx) == 0
    for n, value in enumerate([True, False]):
        response = client.post("/api/v1/shop/customers", headers=shop, json={
            "email": f"ok{n}@example.org", "last_name": "Kundin", field: value})
        assert response.status_code == 201
        assert getattr(db.session.get(Address, response.json["id"]), field) is value


def test_registration_refuses_wrong_types_unknown_choices_and_long_text_per_field(client, ctx, shop):
    bad = {"salutation": "king", "language": "fr", "last_name": "x" * 101, "street": "s" * 201,
           "city": ["Berlin"], "phone": 1234, "company": {"name": "x"}, "first_name": True}
    response = client.post("/api/v1/shop/customers", headers=shop,
                           json={"email": "k@example.org", **bad})
    assert response.status_code == 422 and response.json["error"] == "invalid_fields"
    text = ["Senden Sie Text."]
    assert response.json["fields"] == {
        "city": text, "company": text, "first_name": text, "phone": text,
        "language": ["Einer von: de, en."], "salutation": ["Einer von: mr, ms, diverse, company."]}
    response = client.post("/api/v1/shop/customers", headers=shop,
                           json={"email": "k@example.org", "last_name": "x" * 101, "street": "s" * 201})
    assert response.status_code == 422 and set(response.json["fields"]) == {"last_name", "street"}
    assert addresses(ctx) == 0


def test_every_boolean_of_the_model_apis_takes_json_booleans_only(client, ctx, make, staff):
    make.partner("meier")
    partner = api_token(client, "meier")  # the partner's own APIs refuse other logins first
    before = addresses(ctx)
    spec = client.get("/api/v1/_openapi", headers=staff).json
    walked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            ref = (operation.get("requestBody") or {}).get("content", {}).get("application/json", {}) \
                .get("schema", {}).get("$ref")
            if not ref:
                continue
            schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
            for name, prop in schema["properties"].items():
                if prop.get("type") != "boolean":
                    continue
                for value in ("false", "no", "0", 0, 5):
                    url = path.replace("{pk}", "1")
                    headers = partner if path.startswith("/api/v1/my_") else staff
                    response = client.open(url, method=method.upper(), headers=headers,
                                           json={"last_name": "X", name: value})
                    assert response.status_code in (400, 404, 422), (method, url, name, value)
                    if response.status_code != 404:
                        assert name in response.json.get("fields", {}), (method, url, name, response.json)
                walked += 1
    assert walked >= 6
    assert addresses(ctx) == before


def test_order_lines_point_at_their_article_which_can_then_only_be_deactivated(client, ctx, make, shop,
                                                                               staff):
    customer = make.address()
    shirt = ctx.execute(sa.select(Article).where(Article.article_no == "SHIRT")).scalar_one()
    response = client.post("/api/v1/shop/orders", headers=shop, json={
        "external_order_id": "o-1", "customer_id": customer.id,
        "lines": [{"article_no": "SHIRT", "quantity": 2}]})
    assert response.status_code == 201
    line = ctx.execute(sa.select(OrderLine)).scalar_one()
    assert line.kind == LineKind.article and line.article_id == shirt.id
    refused = client.delete(f"/api/v1/article/{shirt.id}", headers=staff)
    assert refused.status_code == 409 and refused.json["error"] == "in_use"
    assert "deactivate" in refused.json["message"] or "deaktivieren" in refused.json["message"]
    # The Desk says the same, as a message.
    login(client, "chefin")
    token = csrf_token(client, "/articleview/list/")
    page = client.post(f"/articleview/delete/{shirt.id}", data={"csrf_token": token}, follow_redirects=True)
    assert page.status_code == 200 and "deaktivieren" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Article, shirt.id) is not None
    changed = client.put(f"/api/v1/article/{shirt.id}", headers=staff, json={"active": False})
    assert changed.status_code == 200
    unused = make.article(article_no="UNUSED")
    assert client.delete(f"/api/v1/article/{unused.id}", headers=staff).status_code == 200


def test_the_same_external_id_with_another_basket_is_409(client, ctx, make, shop):
    customer = make.address()
    order = {"external_order_id": "o-2", "customer_id": customer.id,
             "lines": [{"article_no": "SHIRT", "quantity": 1}]}
    first = client.post("/api/v1/shop/orders", headers=shop, json=order)
    again = client.post("/api/v1/shop/orders", headers=shop, json=order)
    assert (first.status_code, again.status_code) == (201, 200) and again.json["id"] == first.json["id"]
    changed = client.post("/api/v1/shop/orders", headers=shop, json={
        **order, "lines": [{"article_no": "SHIRT", "quantity": 3}]})
    assert changed.status_code == 409 and changed.json["error"] == "idempotency_conflict"
    assert changed.json["id"] == first.json["id"]


def test_an_order_has_at_most_the_configured_number_of_lines(app, client, make, shop):
    customer = make.address()
    most = app.config["ORDER_MAX_LINES"]
    lines = [{"article_no": "SHIRT", "quantity": 1}] * (most + 1)
    for url in ("/api/v1/shop/orders", "/api/v1/shop/vouchers/check"):
        response = client.post(url, headers=shop, json={
            "external_order_id": "o-3", "customer_id": customer.id, "code": "X", "lines": lines})
        assert response.status_code == 422 and response.json["error"] == "too_many_lines", url


def test_an_oversized_upload_is_refused_before_anything_is_stored(app, client, staff, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 10_000)
    folder = Path(app.config["IMPORTS_DIR"])
    before = set(folder.iterdir()) if folder.exists() else set()
    data = {"file": (io.BytesIO(b"last_name\n" + b"Muster\n" * 5000), "big.csv")}
    response = client.post("/api/v1/imports/addresses", headers=staff, data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 413 and response.json["error"] == "too_large"
    assert (set(folder.iterdir()) if folder.exists() else set()) == before
    small = {"file": (io.BytesIO(b"last_name\nMuster\n"), "small.csv")}
    accepted = client.post("/api/v1/imports/addresses", headers=staff, data=small,
                           content_type="multipart/form-data")
    assert (accepted.status_code, accepted.json["error"], accepted.json["problem"]) == (
        422, "invalid_rows", "Die Datei braucht eine dieser Spalten, damit Zeilen bei einem erneuten "
                             "Import zugeordnet werden können: external_key, email.")


def test_answers_follow_accept_language_else_the_customers_language(client, make, shop):
    english = make.address(language="en")
    german = make.address()
    order = {"external_order_id": "o-4", "lines": [{"article_no": "NOPE", "quantity": 1}]}

    def message(customer, **headers):
        response = client.post("/api/v1/shop/orders", headers={**shop, **headers},
                               json={**order, "customer_id": customer.id})
        assert response.status_code == 422 and response.json["error"] == "unknown_article"
        return response.json["message"]

    assert message(german) == "Unbekannter Artikel NOPE."
    assert message(english) == "Unknown article NOPE."
    assert message(german, **{"Accept-Language": "en-GB,en;q=0.8"}) == "Unknown article NOPE."
    assert message(english, **{"Accept-Language": "de"}) == "Unbekannter Artikel NOPE."
    registered = client.post("/api/v1/shop/customers", headers=shop,
                             json={"email": "x@example.org", "language": "en", "salutation": "king",
                                   "last_name": "K"})
    assert "One of" in registered.json["fields"]["salutation"][0]
