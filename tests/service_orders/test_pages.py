"""The partner's *My service orders*, the customer's portal pages and the shop's API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import (
    AddressType,
    Offer,
    OfferState,
    OrderRequest,
    Partner,
    RequestState,
    RequestToOrder,
    ServiceOrder,
    ServiceOrderStatus,
)
from backoffice.services import service_orders as so
from tests.portal.test_walk import signed_in
from tests.support.directory import category, published_partner
from tests.support.http import api_token, csrf_token, euros, login

NIGHT = datetime(2026, 11, 4, 22, 30, tzinfo=UTC)  # 23:30 in Berlin


@pytest.fixture
def night(monkeypatch):
    monkeypatch.setattr(so, "current_time", lambda: NIGHT)
    return NIGHT


@pytest.fixture
def shop(ctx, make):
    partner = published_partner(make, "schulz", category("Design", "Design"))
    ctx.get(Partner, partner.id).time_zone = "Europe/Berlin"
    ctx.commit()
    service = ctx.scalars(sa.select(so.Service).where(so.Service.partner_id == partner.id)).one()
    packages = list(service.packages)
    new = make.address(type=AddressType.new_customer, first_name="Nina", last_name="Neu")
    return {"partner": partner, "service": service, "packages": packages, "new": new}


def post(client, url, form_url, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, form_url), **data})


def test_the_partner_switches_on_request_to_order_for_the_night(client, ctx, shop):
    login(client, "schulz")
    sid, first = shop["service"].id, shop["packages"][0]
    url = f"/my/service-orders/services/{sid}/request-to-order"
    page = client.get(url).get_data(as_text=True)
    assert "Anfrage zum Auftrag für „Leistung von schulz“" in page and "Europe/Berlin" in page
    refused = post(
        client,
        url,
        url,
        enabled="1",
        audience="new_customers",
        weekdays=["0"],
        start_0="21:00",
        end_0="21:00",
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Wählen Sie mindestens ein Paket." in text
    assert "Ein Zeitfenster darf nicht zur selben Zeit beginnen und enden." in text
    saved = post(
        client,
        url,
        url,
        enabled="1",
        audience="new_customers",
        package_ids=[str(first.id)],
        weekdays=[str(d) for d in range(7)],
        start_0="0:00",
        end_0="6:00",
        start_1="21:00",
        end_1="0:00",
    )
    assert saved.status_code == 302
    ctx.expire_all()
    row = ctx.get(RequestToOrder, sid)
    assert (row.enabled, row.audience.value, row.weekdays) == (True, "new_customers", 127)
    assert [(w.start_minute, w.end_minute) for w in row.windows] == [(0, 360), (1260, 1440)]
    assert [p.package_id for p in row.packages] == [first.id]
    again = client.get(url).get_data(as_text=True)
    assert 'value="21:00"' in again and 'value="0:00"' in again and 'value="6:00"' in again


def test_the_customer_requests_gets_an_offer_accepts_and_the_partner_works_it_off(
    app, client, ctx, shop, night
):
    first = shop["packages"][0]
    with transaction.unit_of_work(ctx):
        so.save_request_setting(
            ctx,
            shop["partner"].id,
            shop["service"].id,
            enabled=True,
            audience="all_customers",
            package_ids=[first.id],
            weekdays=list(range(7)),
            windows=[("21:00", "0:00")],
        )
    customer = signed_in(app, shop["new"])
    url = f"/c/packages/{first.id}/order"
    page = customer.get(url).get_data(as_text=True)
    assert "prüft der Partner Anfragen vor einem Auftrag" in page and "Jetzt bestellen" not in page
    refused = post(customer, url, url, kind="order")
    assert refused.status_code == 409
    assert (
        "Dieser Partner möchte zu dieser Zeit vor einem Auftrag eine Anfrage: Senden Sie bitte eine Anfrage."
        in refused.get_data(as_text=True)
    )
    assert ctx.scalar(sa.select(sa.func.count()).select_from(ServiceOrder)) == 0
    empty = post(customer, url, url, kind="request", needs=" ", wished_start="32.13.2026")
    assert empty.status_code == 422 and "Schreiben Sie das Datum als 31.12.2026." in empty.get_data(
        as_text=True
    )
    sent = post(customer, url, url, kind="request", needs="Logo in Grün", wished_start="10.11.2026")
    assert sent.status_code == 302
    found = ctx.scalars(sa.select(OrderRequest)).one()
    login(client, "schulz")
    listing = client.get("/my/service-orders/").get_data(as_text=True)
    assert "Logo in Grün" in listing and "Nina Neu" in listing and "10.11.2026" in listing
    offer_url = f"/my/service-orders/conversations/{found.conversation_id}/offer?request_id={found.id}"
    form = client.get(offer_url).get_data(as_text=True)
    assert 'value="49,00"' in form
    made = post(
        client,
        offer_url,
        offer_url,
        request_id=str(found.id),
        scope="Logo, zwei Entwürfe",
        price="1.249,50",
        delivery_days="4",
        expires_on="06.11.2026",
        expires_time="18:00",
        package_id=str(first.id),
    )
    assert made.status_code == 302, made.get_data(as_text=True)
    offer = ctx.scalars(sa.select(Offer)).one()
    assert (offer.price, offer.delivery_days, offer.expires_at, offer.request_id) == (
        Decimal("1249.50"),
        4,
        datetime(2026, 11, 6, 17, 0, tzinfo=UTC),
        found.id,
    )
    mine = customer.get("/c/service-orders/").get_data(as_text=True)
    assert "Logo, zwei Entwürfe" in mine and euros(mine) == [Decimal("1249.50")]
    accepted = post(customer, f"/c/offers/{offer.id}/accept", "/c/service-orders/")
    order = ctx.scalars(sa.select(ServiceOrder)).one()
    assert accepted.headers["Location"].endswith(f"/c/service-orders/{order.id}")
    twice = post(customer, f"/c/offers/{offer.id}/accept", "/c/service-orders/")
    assert twice.headers["Location"].endswith(f"/c/service-orders/{order.id}")
    assert ctx.scalar(sa.select(sa.func.count()).select_from(ServiceOrder)) == 1
    for action in ("accept", "deliver"):
        assert (
            post(client, f"/my/service-orders/orders/{order.id}/{action}", "/my/service-orders/").status_code
            == 302
        )
    illegal = post(client, f"/my/service-orders/orders/{order.id}/accept", "/my/service-orders/")
    assert illegal.status_code == 302
    flashed = client.get("/my/service-orders/").get_data(as_text=True)
    assert "„Annehmen“ ist nicht möglich, solange der Auftrag „Geliefert“ ist." in flashed
    detail_url = f"/c/service-orders/{order.id}"
    assert "Lieferung bestätigen" in customer.get(detail_url).get_data(as_text=True)
    post(customer, f"{detail_url}/confirm", detail_url)
    ctx.expire_all()
    assert ctx.get(ServiceOrder, order.id).status is ServiceOrderStatus.completed
    assert ctx.get(OrderRequest, found.id).state is RequestState.accepted


def test_an_expired_offer_is_refused_in_the_portal(app, ctx, shop, night, make):
    with transaction.unit_of_work(ctx):
        found = so.send_request(
            ctx,
            shop["new"].id,
            shop["packages"][0].id,
            needs="Logo",
            wished_start=None,
            now=NIGHT - timedelta(days=1),
        )
        offer = so.send_offer(
            ctx,
            shop["partner"].id,
            found.conversation_id,
            scope="Logo",
            price=Decimal("10.00"),
            delivery_days=1,
            expires_at=NIGHT - timedelta(hours=1),
            request_id=found.id,
            now=NIGHT - timedelta(days=1),
        )
    customer = signed_in(app, shop["new"])
    page = customer.get("/c/service-orders/").get_data(as_text=True)
    assert "Abgelaufen" in page and f"/c/offers/{offer.id}/accept" not in page
    post(customer, f"/c/offers/{offer.id}/accept", "/c/service-orders/")
    text = customer.get("/c/service-orders/").get_data(as_text=True)
    assert "Dieses Angebot ist am 04.11.2026, 22:30 abgelaufen und kann nicht mehr angenommen werden." in text
    assert ctx.scalar(sa.select(sa.func.count()).select_from(ServiceOrder)) == 0
    # Another customer's offer: not found.
    other = signed_in(app, make.address(type=AddressType.customer, last_name="Fremd"))
    assert post(other, f"/c/offers/{offer.id}/accept", "/c/service-orders/").status_code == 404
    ctx.expire_all()
    assert ctx.get(Offer, offer.id).state is OfferState.open


def test_the_shop_api(client, ctx, make, shop, night):
    make.user("shop", "Shop")
    headers = api_token(client, "shop")
    first, second = shop["packages"]
    with transaction.unit_of_work(ctx):
        so.save_request_setting(
            ctx,
            shop["partner"].id,
            shop["service"].id,
            enabled=True,
            audience="new_customers",
            package_ids=[first.id],
            weekdays=list(range(7)),
            windows=[("22:00", "6:00")],
        )
    cid = shop["new"].id
    answer = client.get(
        f"/api/v1/service_orders/may_order?package_id={first.id}&customer_id={cid}", headers=headers
    )
    assert answer.json == {"direct": False}
    refused = client.post(
        "/api/v1/service_orders/", json={"customer_id": cid, "package_id": first.id}, headers=headers
    )
    assert refused.status_code == 409 and refused.json["error"] == "request_required"
    placed = client.post(
        "/api/v1/service_orders/", json={"customer_id": cid, "package_id": second.id}, headers=headers
    )
    assert placed.status_code == 201
    assert {k: placed.json[k] for k in ("status", "gross", "net", "vat", "delivery_days")} == {
        "status": "ordered",
        "gross": "98.00",
        "net": "82.35",
        "vat": "15.65",
        "delivery_days": 6,
    }
    # Now an existing customer: the audience is new customers only.
    answer = client.get(
        f"/api/v1/service_orders/may_order?package_id={first.id}&customer_id={cid}", headers=headers
    )
    assert answer.json == {"direct": True}
    shown = client.get(f"/api/v1/service_orders/{placed.json['id']}?customer_id={cid}", headers=headers)
    assert shown.json["id"] == placed.json["id"]
    assert (
        client.get(
            f"/api/v1/service_orders/{placed.json['id']}?customer_id={cid + 1}", headers=headers
        ).status_code
        == 404
    )
    bad = client.post(
        "/api/v1/service_orders/requests", json={"customer_id": cid, "package_id": "x"}, headers=headers
    )
    assert bad.status_code == 422 and bad.json["fields"] == {
        "package_id": ["package_id muss eine Zahl sein."]
    }
    made = client.post(
        "/api/v1/service_orders/requests",
        json={"customer_id": cid, "package_id": first.id, "needs": "Logo", "wished_start": "2026-11-20"},
        headers=headers,
    )
    assert made.status_code == 201 and made.json["state"] == "pending"
    with transaction.unit_of_work(ctx):
        offer_id = so.send_offer(
            ctx,
            shop["partner"].id,
            ctx.get(OrderRequest, made.json["id"]).conversation_id,
            scope="Logo",
            price=Decimal("70.00"),
            delivery_days=2,
        ).id
    first_accept = client.post(
        f"/api/v1/service_orders/offers/{offer_id}/accept", json={"customer_id": cid}, headers=headers
    )
    second_accept = client.post(
        f"/api/v1/service_orders/offers/{offer_id}/accept", json={"customer_id": cid}, headers=headers
    )
    assert (first_accept.status_code, second_accept.status_code) == (201, 200)
    assert first_accept.json["id"] == second_accept.json["id"] and first_accept.json["gross"] == "70.00"
    nobody = client.post(
        "/api/v1/service_orders/",
        json={"customer_id": shop["partner"].address_id, "package_id": second.id},
        headers=headers,
    )
    assert nobody.status_code == 404 and nobody.json["error"] == "customer_not_found"


def test_the_partners_response_time_reads_as_a_german_number(client, shop, monkeypatch):
    monkeypatch.setattr(so, "metrics", lambda session, partner_id: so.Metrics(
        Decimal("66.7"), Decimal("26.3"), Decimal("0"), 3, 2, 0))
    login(client, "schulz")
    page = client.get("/my/service-orders/").get_data(as_text=True)
    assert "26,3 Stunden" in page and "26.3" not in page
