"""A customer sees the own data only: customer A walks every GET route of the app with
customer B's ids (address, order, customer account, request) substituted, and no page may
show B's data; A's own orders and store details are there."""

from __future__ import annotations

from decimal import Decimal

from backoffice.extensions import db
from backoffice.models import AddressType, CustomerAccount, LeadRequest, Order, OrderLine, OrderStatus
from backoffice.services import customer_portal, marketplace
from tests.support.conversations import conversation_with_file
from tests.support.directory import category
from tests.support.http import csrf_token
from tests.support.route_families import CUSTOMER_FAMILIES, CustomerA
from tests.support.service_orders import service_orders_between, states, write_routes, write_urls
from tests.support.walk import Walk

B_MARKERS = ["Geheimkundin", "geheim@b-kundin.example", "SHOP-GEHEIM-9", "Geheimsalbe", "Geheimladen",
             "geheimladen.example", "Geheimer Auftrag im Keller", "Geheimbedarf", "Geheimumfang",
             "Geheimauftrag"]


def order_for(address, number: str, article: str) -> Order:
    order = Order(external_order_id=number, address_id=address.id, status=OrderStatus.completed,
                  subtotal_gross=Decimal("11.90"), discount=Decimal("0.00"), total_gross=Decimal("11.90"),
                  total_net=Decimal("10.00"), total_vat=Decimal("1.90"))
    order.lines = [OrderLine(position=1, article_no="A-1", name=article, quantity=1,
                             unit_gross=Decimal("11.90"), vat_rate=Decimal("19"),
                             line_gross=Decimal("11.90"))]
    db.session.add(order)
    db.session.commit()
    return order


def signed_in(app, address):
    """A browser session of `address` in the portal, signed in through a shop link."""
    with app.test_request_context():
        link = customer_portal.shop_link(db.session, "http://localhost/c", address_id=address.id)
        db.session.commit()
    client = app.test_client()
    path = link.url[link.url.index("/c/sign-in/"):]
    response = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def test_no_get_route_shows_another_customers_data(app, make):
    anna = make.address(first_name="Anna", last_name="Kundin", email="anna@example.org",
                        type=AddressType.customer)
    order_for(anna, "SHOP-1001", "Zahnpasta")
    bea = make.address(first_name="Bea", last_name="Geheimkundin", email="geheim@b-kundin.example",
                       type=AddressType.new_customer)
    foreign = order_for(bea, "SHOP-GEHEIM-9", "Geheimsalbe")
    accounts = [CustomerAccount(address_id=anna.id, store_name="Annas Laden",
                                store_url="https://annas.example"),
                CustomerAccount(address_id=bea.id, store_name="Geheimladen",
                                store_url="https://geheimladen.example")]
    db.session.add_all(accounts)
    maler = category("Maler", "Painting")
    foreign_request = LeadRequest(category_id=maler.id, description="Geheimer Auftrag im Keller",
                                  postal_code="10115", latitude=52.53, longitude=13.38, customer_name="Bea",
                                  email="geheim@b-kundin.example", address_id=bea.id)
    db.session.add(foreign_request)
    db.session.commit()
    partner = make.partner("walkpartner")
    theirs = conversation_with_file(partner.id, bea.id, contact="Bea Geheimkundin", body="Geheimsalbe bitte")
    orders = service_orders_between(partner.id, bea.id, theirs["conversation"], marker="Geheim")
    client = signed_in(app, anna)
    start = client.get("/c/").get_data(as_text=True)
    assert "SHOP-1001" in start and "Annas Laden" in start
    assert "Annas Laden" in client.get("/c/store").get_data(as_text=True)
    # B's request by its own link only: A's session does not open it by id.
    assert "Geheimer Auftrag im Keller" in app.test_client().get(
        f"/c/requests/{marketplace.view_token(foreign_request.id)}").get_data(as_text=True)
    who = CustomerA(orderable=frozenset({orders["package"]}))
    statuses = Walk(CUSTOMER_FAMILIES, "CUSTOMER_FAMILIES in tests/support/route_families.py", B_MARKERS).run(
        app, client, [bea.id, foreign.id, accounts[1].id, foreign_request.id, theirs["conversation"],
                      theirs["file"], *orders.values()], who)
    assert statuses[404] > 100 and statuses[200] > 10, statuses
    # Every write route on the customer's service orders and offers, with each of B's ids:
    # refused, B's request, offer and order stay as they were.
    before = states(orders)
    form = {"csrf_token": csrf_token(client, "/c/service-orders/"), "reason": "x"}
    rules = list(write_routes(app, ("/c/service-orders/", "/c/offers/")))
    assert len(rules) >= 2
    for rule in rules:
        for url in write_urls(rule, [foreign.id, theirs["conversation"], *orders.values()]):
            response = client.post(url, data=form)
            assert response.status_code == 404, f"{url} answered {response.status_code}"
    assert states(orders) == before
    # The portal session is no Desk login.
    for url in ["/addressview/list/", "/my/downline/", "/desk/outbox/list/"]:
        response = client.get(url)
        assert (response.status_code, response.headers["Location"]) == (
            302, f"/login/?next=http://localhost{url}"), url
