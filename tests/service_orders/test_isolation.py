"""Isolation walks over service orders: partner A, and customer A, walk every GET route of the
app with B's ids (service, package, conversation, request, offer, order) and see none of B's
data; A's writes on B's ids answer 404 and change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import AddressType, Offer, OfferState, OrderRequest, ServiceOrder, ServiceOrderStatus
from backoffice.services import service_orders as so
from tests.portal.test_walk import signed_in
from tests.support.directory import category, published_partner
from tests.support.http import csrf_token, login
from tests.system.test_partner_isolation import _get_routes, _text, _urls

MARKERS = ["Geheimbedarf-B", "Geheimumfang-B", "Geheimkundin-B"]


@pytest.fixture
def two_sides(ctx, make):
    design = category("Design", "Design")
    meier = published_partner(make, "meier", design)
    schulz = published_partner(make, "schulz", design)
    own_customer = make.address(type=AddressType.customer, last_name="Alpha")
    foreign_customer = make.address(type=AddressType.customer, last_name="Geheimkundin-B")
    package = ctx.scalars(
        sa.select(so.ServicePackage).join(so.Service).where(so.Service.partner_id == schulz.id)
    ).first()
    with transaction.unit_of_work(ctx):
        found = so.send_request(
            ctx, foreign_customer.id, package.id, needs="Geheimbedarf-B", wished_start=None
        )
        offer = so.send_offer(
            ctx,
            schulz.id,
            found.conversation_id,
            scope="Geheimumfang-B",
            price=Decimal("5.00"),
            delivery_days=1,
            request_id=found.id,
        )
        order = so.place_order(ctx, foreign_customer.id, package.id)
    meier_service = ctx.scalar(sa.select(so.Service.id).where(so.Service.partner_id == meier.id))
    ids = [package.service_id, package.id, found.conversation_id, found.id, offer.id, order.id]
    return {
        "meier": meier,
        "schulz": schulz,
        "own": own_customer,
        "foreign": foreign_customer,
        "ids": ids,
        "offer": offer.id,
        "order": order.id,
        "request": found.id,
        "service": package.service_id,
        "meier_service": meier_service,
    }


def _walk(app, client, ids, allowed_prefixes=()):
    checked = 0
    for rule in _get_routes(app):
        for url in _urls(rule, ids):
            response = client.get(url)
            assert response.status_code < 500, f"{url} answered {response.status_code}"
            text = _text(response)
            leaks = [m for m in MARKERS if m in text]
            assert not leaks or url.startswith(allowed_prefixes), f"{url} shows B's data: {leaks}"
            checked += 1
    assert checked > 30


def test_partner_a_sees_nothing_of_partner_bs_orders(app, client, two_sides):
    login(client, "meier")
    _walk(app, client, two_sides["ids"])
    base = "/my/service-orders/"
    own_service = two_sides["meier_service"]
    form = f"{base}services/{own_service}/request-to-order"
    for url in [
        f"{base}orders/{two_sides['order']}/accept",
        f"{base}offers/{two_sides['offer']}/withdraw",
        f"{base}requests/{two_sides['request']}/decline",
    ]:
        response = client.post(url, data={"csrf_token": csrf_token(client, form), "message": "x"})
        assert response.status_code in (302, 404), url
    assert client.get(f"{base}services/{two_sides['service']}/request-to-order").status_code == 404
    conversation = two_sides["ids"][2]
    assert client.get(f"{base}conversations/{conversation}/offer").status_code == 404


def test_customer_a_sees_nothing_of_customer_bs_orders(app, ctx, two_sides):
    client = signed_in(app, two_sides["own"])
    # The package page itself is public information; the walk only looks for B's own data.
    _walk(app, client, two_sides["ids"])
    assert client.get(f"/c/service-orders/{two_sides['order']}").status_code == 404
    for url in [f"/c/offers/{two_sides['offer']}/accept", f"/c/service-orders/{two_sides['order']}/cancel"]:
        response = client.post(
            url, data={"csrf_token": csrf_token(client, "/c/service-orders/"), "reason": "x"}
        )
        assert response.status_code == 404, url
    ctx.expire_all()
    assert ctx.get(Offer, two_sides["offer"]).state is OfferState.open
    assert ctx.get(ServiceOrder, two_sides["order"]).status is ServiceOrderStatus.ordered
    assert ctx.get(OrderRequest, two_sides["request"]) is not None
