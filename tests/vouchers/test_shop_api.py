"""The shop's contract: the story over the REST API (test client), errors, throttling, PDF."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Address, AddressType
from backoffice.services.throttle import voucher_checks
from backoffice.services.vouchers import create_partner_code
from tests.support.http import api_token
from tests.support.pdf import amounts, pdf_text, vat_table
from tests.support.vouchers import new_customer_voucher


@pytest.fixture
def shop(client, make):
    make.user("shop", "Shop")
    make.article(article_no="SHIRT", name="T-Shirt", gross_price=Decimal("19.99"), vat_rate=Decimal("19"))
    make.article(article_no="TEA", name="Kräutertee", gross_price=Decimal("4.28"), vat_rate=Decimal("7"))
    voucher_checks.reset()
    return api_token(client, "shop")


BASKET = [{"article_no": "SHIRT", "quantity": 1}, {"article_no": "TEA", "quantity": 1}]


def test_story_over_the_shop_api(client, make, shop, ctx):
    voucher = new_customer_voucher()
    meier = make.partner("meier")
    make.partner("schulz")
    create_partner_code(ctx, meier, voucher.id, "vonmeier")
    ctx.commit()

    registered = client.post("/api/v1/shop/customers", headers=shop, json={
        "email": "Neu@Kunde.example", "first_name": "Nina", "last_name": "Neu", "street": "Weg 1",
        "postal_code": "10115", "city": "Berlin", "partner_subdomain": "schulz"})
    assert registered.status_code == 201, registered.json
    customer = registered.json
    assert customer["type"] == "new_customer" and customer["sponsor_id"] is not None
    again = client.post("/api/v1/shop/customers", headers=shop,
                        json={"email": "neu@kunde.example", "last_name": "Neu"})
    assert again.status_code == 409 and again.json["id"] == customer["id"]
    assert again.json["error"] == "email_taken"

    checked = client.post("/api/v1/shop/vouchers/check", headers=shop, json={
        "code": "VonMeier", "customer_id": customer["id"], "lines": BASKET})
    assert checked.status_code == 200 and checked.json == {"valid": True, "discount": "5.00"}

    placed = client.post("/api/v1/shop/orders", headers=shop, json={
        "external_order_id": "A-1", "customer_id": customer["id"], "lines": BASKET,
        "voucher_code": "VonMeier"})
    assert placed.status_code == 201, placed.json
    order = placed.json
    assert order["total_gross"] == "19.27" and order["discount"] == "5.00"
    assert order["customer"] == {"id": customer["id"], "type": "customer", "sponsor_id": meier.address_id}
    assert order["vat"] == [
        {"rate": "19.00", "net": "13.34", "vat": "2.53", "gross": "15.87"},
        {"rate": "7.00", "net": "3.18", "vat": "0.22", "gross": "3.40"},
    ]
    assert (order["subtotal"], order["total_net"], order["total_vat"]) == ("24.27", "16.52", "2.75")
    assert order["invoice_number"].startswith("RE-")

    repeated = client.post("/api/v1/shop/orders", headers=shop, json={
        "external_order_id": "A-1", "customer_id": customer["id"], "lines": BASKET,
        "voucher_code": "VonMeier"})
    assert repeated.status_code == 200 and repeated.json["id"] == order["id"]

    refused = client.post("/api/v1/shop/orders", headers=shop, json={
        "external_order_id": "A-2", "customer_id": customer["id"], "lines": BASKET,
        "voucher_code": "vonmeier"})
    assert refused.status_code == 409
    assert refused.json == {"error": "not_new_customer",
                            "message": "Dieser Gutschein gilt nur für Neukunden."}

    pdf = client.get(f"/api/v1/shop/orders/{order['id']}/invoice.pdf", headers=shop)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    for expected in (order["invoice_number"], "Partnerdesk GmbH", "Nina Neu", "Gutschein vonmeier",
                     "USt-IdNr.", "Lieferdatum"):
        assert expected in text, expected
    assert amounts(text)[:8] == [Decimal(a) for a in ("19.99", "19.99", "4.28", "4.28",
                                                       "-4.12", "-4.12", "-0.88", "-0.88")]
    assert vat_table(text) == (
        [("19 %", Decimal("13.34"), Decimal("2.53"), Decimal("15.87")),
         ("7 %", Decimal("3.18"), Decimal("0.22"), Decimal("3.40"))],
        (Decimal("16.52"), Decimal("2.75"), Decimal("19.27")), Decimal("19.27"))

    cancelled = client.post(f"/api/v1/shop/orders/{order['id']}/cancel", headers=shop)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert cancelled.json["cancellation_invoice_number"]
    twice = client.post(f"/api/v1/shop/orders/{order['id']}/cancel", headers=shop)
    assert twice.status_code == 200 and twice.json["repeated"] is True
    storno = client.get(f"/api/v1/shop/orders/{order['id']}/invoice.pdf?kind=cancellation", headers=shop)
    storno_text = pdf_text(storno.data)
    assert "Stornorechnung" in storno_text
    assert vat_table(storno_text) == (
        [("19 %", Decimal("-13.34"), Decimal("-2.53"), Decimal("-15.87")),
         ("7 %", Decimal("-3.18"), Decimal("-0.22"), Decimal("-3.40"))],
        (Decimal("-16.52"), Decimal("-2.75"), Decimal("-19.27")), Decimal("-19.27"))
    db.session.expire_all()
    assert db.session.get(Address, customer["id"]).type == AddressType.customer


def test_without_a_counter_row_the_series_starts_at_one(client, make, shop, ctx):
    """The counter row is created by the first number taken (PostgreSQL numbers and writes an
    invoice in one statement while the row exists, and falls back to this when it does not)."""
    ctx.execute(sa.text("DELETE FROM invoice_counter"))
    ctx.commit()
    customer = make.address(type=AddressType.new_customer)
    placed = client.post("/api/v1/shop/orders", headers=shop, json={
        "external_order_id": "erste", "customer_id": customer.id, "lines": BASKET})
    assert placed.status_code == 201, placed.json
    assert placed.json["invoice_number"] == "RE-000001"
    cancelled = client.post(f"/api/v1/shop/orders/{placed.json['id']}/cancel", headers=shop)
    assert cancelled.json["cancellation_invoice_number"] == "RE-000002"
    assert ctx.execute(sa.text("SELECT series, last_number FROM invoice_counter")).all() == [("invoice", 2)]


def test_errors_are_json_with_a_machine_code(client, shop):
    assert client.post("/api/v1/shop/orders", headers=shop, json={
        "external_order_id": "x", "customer_id": 999999, "lines": BASKET}).json["error"] == "unknown_customer"
    response = client.post("/api/v1/shop/vouchers/check", headers=shop,
                           json={"code": "NOPE", "lines": BASKET})
    assert response.json == {"valid": False, "discount": "0.00", "reason": "unknown",
                             "message": "Diesen Gutscheincode gibt es nicht."}
    bad = client.post("/api/v1/shop/vouchers/check", headers=shop,
                      json={"code": "NOPE", "lines": [{"article_no": "NOPE", "quantity": 1}]})
    assert bad.status_code == 422 and bad.json["error"] == "unknown_article"
    assert client.post("/api/v1/shop/orders/999999/cancel", headers=shop).status_code == 404
    assert client.get("/api/v1/shop/orders/999999/invoice.pdf", headers=shop).json["error"] == "unknown_order"


def test_only_the_shop_role_may_call(client, make, shop):
    make.user("staff", "Staff")
    staff = api_token(client, "staff")
    assert client.post("/api/v1/shop/vouchers/check", headers=staff,
                       json={"code": "x", "lines": BASKET}).status_code == 403
    assert client.post("/api/v1/shop/vouchers/check", json={"code": "x", "lines": BASKET}).status_code == 401


def test_guessing_codes_is_throttled(app, client, make, shop):
    customer = make.address()
    app.config["VOUCHER_CHECKS_PER_CUSTOMER"] = 3
    try:
        answers = [client.post("/api/v1/shop/vouchers/check", headers=shop, json={
            "code": f"GUESS{i}", "customer_id": customer.id, "lines": BASKET}) for i in range(4)]
    finally:
        app.config["VOUCHER_CHECKS_PER_CUSTOMER"] = 20
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].json["error"] == "too_many_checks" and "Retry-After" in answers[-1].headers


def test_shop_api_is_in_the_openapi_spec(client, make, shop):
    spec = client.get("/api/v1/_openapi", headers=shop).json
    for path in ("/shop/customers", "/shop/vouchers/check", "/shop/orders", "/shop/orders/{pk}/cancel",
                 "/shop/orders/{pk}/invoice.pdf"):
        assert f"/api/v1{path}" in spec["paths"], path
    check = spec["paths"]["/api/v1/shop/vouchers/check"]["post"]
    assert "requestBody" in check and "429" in check["responses"]


EMPTY = {"error": "empty_basket",
         "message": "Die Bestellung braucht Positionen: eine Liste aus article_no und quantity."}


@pytest.mark.parametrize(("body", "answer"), [
    ({"external_order_id": "m-1", "customer_id": "x", "lines": BASKET},
     {"error": "invalid_customer_id", "message": "customer_id muss eine Zahl sein.",
      "fields": {"customer_id": ["customer_id muss eine Zahl sein."]}}),
    ({"external_order_id": "m-2", "customer_id": 1, "lines": "SHIRT"}, EMPTY),
    ({"external_order_id": "m-3", "customer_id": 1, "lines": ["SHIRT"]}, EMPTY),
    ({"external_order_id": "", "customer_id": 1, "lines": BASKET},
     {"error": "invalid_external_order_id", "message": "external_order_id muss 1 bis 64 Zeichen lang sein.",
      "fields": {"external_order_id": ["external_order_id muss 1 bis 64 Zeichen lang sein."]}}),
    ({"external_order_id": "m-4", "customer_id": 1, "lines": [{"article_no": "SHIRT", "quantity": "2"}]},
     {"error": "invalid_quantity", "article_no": "SHIRT",
      "message": "Die Menge von SHIRT muss eine ganze Zahl von 1 bis 9999 sein."}),
])
def test_malformed_orders_answer_422_with_the_exact_error(client, make, shop, body, answer):
    customer = make.address()
    if body["customer_id"] == 1:
        body = dict(body, customer_id=customer.id)
    response = client.post("/api/v1/shop/orders", headers=shop, json=body)
    assert (response.status_code, response.json) == (422, answer)
