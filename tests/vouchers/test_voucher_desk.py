"""Desk pages for vouchers, codes, redemptions, orders, reports; the partner's own codes."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import current_app
from openpyxl import load_workbook

from backoffice.extensions import db
from backoffice.models import Redemption, Voucher, VoucherCode
from backoffice.services.vouchers import create_partner_code
from tests.support.http import csrf_token, login
from tests.support.vouchers import checkout, new_customer_voucher

GERMAN_MONTHS = ("Januar Februar März April Mai Juni Juli August September Oktober November "
                 "Dezember").split()


@pytest.fixture
def two_code_owners(make):
    voucher = new_customer_voucher()
    meier, schulz = make.partner("meier"), make.partner("schulz")
    own = create_partner_code(db.session, meier, voucher.id, "vonmeier")
    foreign = create_partner_code(db.session, schulz, voucher.id, "geheimcode")
    db.session.commit()
    make.article(article_no="SHIRT", gross_price=Decimal("25.00"))
    checkout(db.session, "o-1", make.address(last_name="Kundin").id,
                [{"article_no": "SHIRT", "quantity": 1}], "geheimcode")
    return {"voucher": voucher, "meier": meier, "schulz": schulz, "own": own, "foreign": foreign}


def test_staff_creates_a_voucher_and_generates_codes_for_printing(client, make):
    make.user("staff", "Staff")
    login(client, "staff")
    token = csrf_token(client, "/voucherview/add")
    response = client.post("/voucherview/add", data={
        "csrf_token": token, "name": "5 € für Neukunden", "kind": "permanent", "amount": "5.00",
        "vat_mode": "proportional", "fixed_vat_rate": "", "new_customers_only": "y",
        "min_order_value": "20.00", "released_for_partner_codes": "y", "active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    voucher = db.session.execute(sa.select(Voucher)).scalar_one()
    assert voucher.new_customers_only and voucher.min_order_value == Decimal("20.00")

    token = csrf_token(client, f"/voucherview/codes/{voucher.id}")
    response = client.post(f"/voucherview/codes/{voucher.id}", data={
        "csrf_token": token, "pattern": "GS-####-####", "count": "25"})
    assert response.status_code == 302
    assert db.session.execute(sa.select(sa.func.count(VoucherCode.id))).scalar() == 25
    export = client.get("/vouchercodeview/export/xlsx")
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 26 and all(r[0].startswith("GS-") for r in rows[1:])
    assert "GS-" in client.get("/vouchercodeview/export/csv").get_data(as_text=True)


def test_fixed_vat_mode_needs_a_rate(client, make):
    make.user("staff", "Staff")
    login(client, "staff")
    token = csrf_token(client, "/voucherview/add")
    response = client.post("/voucherview/add", follow_redirects=True, data={
        "csrf_token": token, "name": "Fix", "kind": "permanent", "amount": "5.00", "vat_mode": "fixed",
        "fixed_vat_rate": "", "active": "y"})
    # The Desk speaks German by default.
    assert "Bei festem MwSt.-Satz muss ein MwSt.-Satz angegeben werden." in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(Voucher.id))).scalar() == 0


def test_staff_sees_redemptions_orders_reports_and_the_pdf(client, make, two_code_owners):
    make.user("staff", "Staff")
    login(client, "staff")
    assert "geheimcode" in client.get("/redemptionview/list/").get_data(as_text=True)
    orders = client.get("/orderview/list/").get_data(as_text=True)
    assert "o-1" in orders and 'data-test="invoice-pdf"' in orders and "RE-" in orders
    report = client.get("/voucher-reports/per_partner/").get_data(as_text=True)
    assert "schulz" in report
    for name in ("per_voucher", "per_code", "per_partner", "cost_per_month", "new_customers_per_code"):
        page = client.get(f"/voucher-reports/{name}/")
        assert page.status_code == 200, name
        sheet = load_workbook(io.BytesIO(client.get(f"/voucher-reports/{name}/xlsx").data)).active
        assert sheet.max_row == 2, name
    # The page speaks German: 5,00 € and the month's name; the Excel keeps numbers and 2026-11.
    def cells(name):
        return re.findall(r"<td>([^<]*)</td>", client.get(f"/voucher-reports/{name}/").get_data(as_text=True))

    assert cells("per_code") == ["geheimcode", "5 € für Neukunden", "schulz", "1", "5,00\xa0€"]
    redeemed = db.session.execute(sa.select(Redemption.redeemed_at)).scalar_one().astimezone(
        ZoneInfo(current_app.config["COMPANY_TIME_ZONE"]))
    month = f"{GERMAN_MONTHS[redeemed.month - 1]} {redeemed.year}"
    assert cells("cost_per_month") == [month, "1", "5,00\xa0€"]
    per_code = load_workbook(io.BytesIO(client.get("/voucher-reports/per_code/xlsx").data)).active
    first = list(per_code.iter_rows(values_only=True))[1]
    assert first[:4] == ("geheimcode", "5 € für Neukunden", "schulz", 1)
    order_id = db.session.execute(sa.text("SELECT id FROM shop_order")).scalar()
    pdf = client.get(f"/orderview/invoice/{order_id}/invoice.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    # The order's page lists its lines, the voucher's discount among them, in German money.
    shown = client.get(f"/orderview/show/{order_id}").get_data(as_text=True)
    lines = re.findall(r'<tr data-test="order-line">(.*?)</tr>', shown)
    assert len(lines) == len(db.session.execute(sa.text(
        "SELECT id FROM order_line WHERE order_id = :o"), {"o": order_id}).all()) >= 2
    assert "Einzelpreis (brutto)" in shown and "-5,00\xa0€" in shown and "19 %" in shown


def test_partner_creates_and_lists_only_own_codes(client, two_code_owners):
    login(client, "meier")
    page = client.get("/my/codes/list/").get_data(as_text=True)
    assert "vonmeier" in page and "geheimcode" not in page
    token = csrf_token(client, "/my/codes/new")
    voucher_id = two_code_owners["voucher"].id
    for code in ("5EurovonMaria", "GEHEIMCODE"):  # the second is taken (case-insensitively)
        client.post("/my/codes/new", data={"csrf_token": token, "voucher_id": voucher_id, "code": code})
    codes = db.session.execute(sa.select(VoucherCode.code).where(
        VoucherCode.owner_partner_id == two_code_owners["meier"].id)).scalars().all()
    assert sorted(codes) == ["5EurovonMaria", "vonmeier"]


def test_partner_cannot_see_another_partners_codes_or_redemptions(client, two_code_owners):
    login(client, "meier")
    foreign = two_code_owners["foreign"]
    redemption_id = db.session.execute(sa.text("SELECT id FROM redemption")).scalar()
    expected = {"/my/codes/list/": 200, f"/my/codes/show/{foreign.id}": 404, "/my/redemptions/list/": 200,
                f"/my/redemptions/show/{redemption_id}": 404, "/my/redemptions/export/csv": 200,
                "/my/codes/list/?_flt_0_code=geheim": 200,
                # the staff's pages
                "/vouchercodeview/list/": 403, "/redemptionview/list/": 403,
                "/voucher-reports/per_code/": 403, "/orderview/list/": 403}
    for url, status in expected.items():
        response = client.get(url)
        assert response.status_code == status, url
        assert "geheimcode" not in response.get_data(as_text=True), url
    assert "vonmeier" in client.get("/my/codes/list/").get_data(as_text=True)   # the own code is listed


def test_partner_sees_redemptions_of_own_codes(client, make, two_code_owners):
    login(client, "schulz")
    page = client.get("/my/redemptions/list/").get_data(as_text=True)
    assert "geheimcode" in page and "Kundin" not in page


def test_staff_create_vouchers_and_codes_over_the_api(client, make):
    from tests.support.http import api_token

    make.user("staff", "Staff")
    headers = api_token(client, "staff")
    created = client.post("/api/v1/voucher/", headers=headers, json={
        "name": "Druckgutschein", "kind": "single", "amount": "10.00", "vat_mode": "proportional"})
    assert created.status_code == 201, created.json
    voucher_id = created.json["id"]
    codes = client.post(f"/api/v1/voucher/{voucher_id}/codes", headers=headers,
                        json={"pattern": "DR-######", "count": 5})
    assert codes.status_code == 201 and len(codes.json["codes"]) == 5
    bad = client.post("/api/v1/voucher/", headers=headers, json={
        "name": "Fix", "amount": "5.00", "vat_mode": "fixed"})
    assert bad.status_code == 422 and bad.json["error"] == "invalid_voucher"
    taken = client.post(f"/api/v1/voucher/{voucher_id}/codes", headers=headers,
                        json={"code": codes.json["codes"][0].lower()})
    assert taken.status_code == 422 and taken.json["error"] in ("code_taken", "single_has_code")


def test_a_voucher_is_saved_with_its_boxes_unticked(client, make):
    make.user("staff", "Staff")
    login(client, "staff")
    token = csrf_token(client, "/voucherview/add")
    client.post("/voucherview/add", data={
        "csrf_token": token, "name": "Ohne Haken", "kind": "permanent", "amount": "5.00",
        "vat_mode": "proportional"})
    voucher = db.session.execute(sa.select(Voucher)).scalar_one()
    assert (voucher.name, voucher.new_customers_only, voucher.active) == ("Ohne Haken", False, False)
