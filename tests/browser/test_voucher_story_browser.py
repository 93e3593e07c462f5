"""The voucher story in a real browser: staff creates the voucher, the partner its code, the
shop (a test client over the API) orders, staff sees the report and the invoice PDF."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Address, AddressType, Voucher
from backoffice.services.throttle import voucher_checks
from tests.support.http import api_token

from .conftest import log_in

pytestmark = pytest.mark.browser


def committed(statement):
    db.session.rollback()  # see what the live server committed
    value = db.session.execute(statement).scalar()
    db.session.rollback()
    return value


def test_voucher_story(page, app, make):
    make.user("staff", "Staff")
    make.user("shop", "Shop")
    meier = make.partner("meier")
    make.article(article_no="SHIRT", name="T-Shirt", gross_price=Decimal("19.99"), vat_rate=Decimal("19"))
    make.article(article_no="TEA", name="Tee", gross_price=Decimal("4.28"), vat_rate=Decimal("7"))
    meier_address_id = meier.address_id
    db.session.commit()

    # Staff create the permanent voucher.
    log_in(page, "staff")
    page.goto("/voucherview/add")
    page.fill("#name", "5 € für Neukunden")
    page.select_option("#kind", "permanent")
    page.fill("#amount", "5.00")
    page.select_option("#vat_mode", "proportional")
    page.check("#new_customers_only")
    page.fill("#min_order_value", "20.00")
    page.check("#released_for_partner_codes")
    page.check("#active")
    with page.expect_navigation():
        page.click("#model_form [type=submit]")
    assert committed(sa.select(sa.func.count(Voucher.id))) == 1
    page.goto("/logout/")

    # Partner Meier creates the code "vonmeier".
    log_in(page, "meier")
    page.goto("/my/codes/new")
    page.fill("#code", "vonmeier")
    with page.expect_navigation():
        page.click("[data-test=new-code-form] [type=submit]")
    assert "vonmeier" in page.content()
    page.goto("/logout/")

    # The shop: register, check "VonMeier", order.
    voucher_checks.reset()
    shop = app.test_client()
    headers = api_token(shop, "shop")
    customer = shop.post("/api/v1/shop/customers", headers=headers, json={
        "email": "nina@neu.example", "first_name": "Nina", "last_name": "Neu"}).json
    check = shop.post("/api/v1/shop/vouchers/check", headers=headers, json={
        "code": "VonMeier", "customer_id": customer["id"],
        "lines": [{"article_no": "SHIRT", "quantity": 1}, {"article_no": "TEA", "quantity": 1}]}).json
    assert check == {"valid": True, "discount": "5.00"}
    order = shop.post("/api/v1/shop/orders", headers=headers, json={
        "external_order_id": "B-1", "customer_id": customer["id"], "voucher_code": "VonMeier",
        "lines": [{"article_no": "SHIRT", "quantity": 1}, {"article_no": "TEA", "quantity": 1}]}).json
    assert order["customer"] == {"id": customer["id"], "type": "customer", "sponsor_id": meier_address_id}
    address = db.session.get(Address, customer["id"])
    db.session.refresh(address)
    assert address.type == AddressType.customer

    # Staff see the report and the invoice.
    log_in(page, "staff")
    page.goto("/voucher-reports/new_customers_per_code/")
    report = page.locator("[data-test=report]").inner_text()
    assert "vonmeier" in report and "meier" in report
    page.goto("/orderview/list/")
    assert "B-1" in page.content()
    response = page.request.get(f"/orderview/invoice/{order['id']}/invoice.pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
