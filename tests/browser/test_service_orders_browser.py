"""In the browser, in German and English, at a fixed clock: a partner in New York (the company
is in Berlin) switches on request to order for nights only (22:00–3:00, wrapping midnight,
and 4:00–6:00) and new customers only; a new customer at 23:30 New York time must send a
request, gets a custom offer with an expiry, accepts it, and the order exists; an existing
customer orders directly; an offer that expires before the click is refused; a declined
request leaves the cancellation rate unchanged. Every portal page passes axe-core."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.extensions import db
from backoffice.models import (
    AddressType,
    Offer,
    OrderRequest,
    Partner,
    Party,
    RequestState,
    Service,
    ServiceOrder,
)
from backoffice.services import customer_portal
from backoffice.services import service_orders as so
from tests.support.directory import category, published_partner

from .conftest import TIMEOUT_MS, log_in
from .test_teams_portal_browser import _accessible

pytestmark = pytest.mark.browser

# 2026-11-05 04:30 UTC: 23:30 on Wednesday in New York, 05:30 on Thursday in Berlin.
NIGHT_IN_NEW_YORK = datetime(2026, 11, 5, 4, 30, tzinfo=UTC)

TEXT = {
    "de": {
        "must_request": "prüft der Partner Anfragen",
        "order_now": "Jetzt bestellen",
        "send_request": "Anfrage senden",
        "accept": "Angebot annehmen",
        "send_offer": "Angebot senden",
        "expired": "abgelaufen und kann nicht mehr angenommen werden",
        "save": "Speichern",
        "decline": "Ablehnen",
        "direct_placed": "Ihr Auftrag ist erteilt",
    },
    "en": {
        "must_request": "the partner reviews requests",
        "order_now": "Order now",
        "send_request": "Send the request",
        "accept": "Accept the offer",
        "send_offer": "Send the offer",
        "expired": "expired on",
        "save": "Save",
        "decline": "Decline",
        "direct_placed": "Your order is placed",
    },
}


def _context(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _customer_page(browser, live_server, address_id: int, language: str):
    """A customer's own browser, signed in through a link the shop asked for."""
    with transaction.unit_of_work(db.session):
        link = customer_portal.shop_link(db.session, f"{live_server}/c", address_id=address_id)
    context = _context(browser, live_server)
    page = context.new_page()
    page.goto(link.url[link.url.index("/c/sign-in/") :])
    page.click("[data-test=use-link-form] button[type=submit]")
    page.wait_for_url(re.compile(r".*/c/$"))
    page.goto(f"/c/language/{language}")
    return context, page


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("language", ["de", "en"])
def test_request_to_order_at_night_offer_accept_direct_order_expiry_and_decline(
    page, browser, live_server, make, monkeypatch, language
):
    words = TEXT[language]
    clock = {"now": NIGHT_IN_NEW_YORK}
    monkeypatch.setattr(so, "current_time", lambda: clock["now"])
    partner = published_partner(make, "schulz", category("Design", "Design"))
    db.session.get(Partner, partner.id).time_zone = "America/New_York"
    db.session.commit()
    service = db.session.scalars(sa.select(Service).where(Service.partner_id == partner.id)).one()
    first, second = service.packages
    first_id, service_id = first.id, service.id
    new = make.address(type=AddressType.new_customer, first_name="Nina", last_name="Neu")
    regular = make.address(type=AddressType.customer, first_name="Stefan", last_name="Stamm")
    decliner = make.address(type=AddressType.new_customer, first_name="Dora", last_name="Drei")
    # The regular customer ordered before; one earlier order was cancelled: the rate is 50 %.
    with transaction.unit_of_work(db.session):
        so.place_order(db.session, regular.id, second.id, now=NIGHT_IN_NEW_YORK - timedelta(days=10))
        gone = so.place_order(db.session, regular.id, second.id, now=NIGHT_IN_NEW_YORK - timedelta(days=9))
        so.move_order(
            db.session,
            gone.id,
            "cancel",
            Party.customer,
            customer_id=regular.id,
            reason="Zu spät",
            now=NIGHT_IN_NEW_YORK - timedelta(days=9),
        )

    # The partner switches request to order on: nights, new customers, the first package.
    log_in(page, "schulz")
    page.goto(f"/lang/{language}")
    page.goto(f"/my/service-orders/services/{service_id}/request-to-order")
    assert "America/New_York" in page.content()
    page.check("input[name=enabled]")
    page.check("input[name=audience][value=new_customers]")
    page.check(f"input[name=package_ids][value='{first_id}']")
    for day in range(7):
        page.check(f"input[name=weekdays][value='{day}']")
    page.fill("#start_0", "22:00")
    page.fill("#end_0", "3:00")
    page.fill("#start_1", "4:00")
    page.fill("#end_1", "6:00")
    page.click(f"[data-test=request-settings] button:has-text('{words['save']}')")
    page.wait_for_selector("[data-test=request-settings]")
    saved = {(page.input_value(f"#start_{n}"), page.input_value(f"#end_{n}")) for n in range(2)}
    assert saved == {("22:00", "3:00"), ("4:00", "6:00")}

    # 23:30 in New York: the new customer must send a request.
    context, customer = _customer_page(browser, live_server, new.id, language)
    try:
        customer.goto(f"/c/packages/{first_id}/order")
        assert words["must_request"] in customer.inner_text("[data-test=request-needed]")
        assert words["order_now"] not in customer.content()
        _accessible(customer)
        customer.fill("#needs", "Ein Logo für den Nachtladen")
        customer.fill("#wished_start", "10.11.2026")
        customer.click(f"[data-test=request-form] button:has-text('{words['send_request']}')")
        customer.wait_for_url(re.compile(r".*/c/service-orders/$"))
        _accessible(customer)
        found = db.session.scalars(sa.select(OrderRequest).where(OrderRequest.customer_id == new.id)).one()

        # The partner answers with a custom offer that expires.
        page.goto("/my/service-orders/")
        assert "Ein Logo für den Nachtladen" in page.inner_text("[data-test=order-requests]")
        page.click(f"[data-request='{found.id}'] a.btn")
        page.fill("#scope", "Logo für den Nachtladen, zwei Entwürfe")
        page.fill("#price", "120,00")
        page.fill("#delivery_days", "4")
        page.fill("#expires_on", "07.11.2026")
        page.fill("#expires_time", "18:00")
        page.click(f"[data-test=offer-form] button:has-text('{words['send_offer']}')")
        page.wait_for_selector("[data-test=offers]")
        offer = db.session.scalars(sa.select(Offer).where(Offer.request_id == found.id)).one()
        assert offer.expires_at == datetime(2026, 11, 7, 23, 0, tzinfo=UTC)  # 18:00 in New York

        # The customer accepts: exactly one order.
        customer.goto("/c/service-orders/")
        assert "Logo für den Nachtladen, zwei Entwürfe" in customer.inner_text("[data-test=offers]")
        _accessible(customer)
        customer.click(f"[data-offer='{offer.id}'] button:has-text('{words['accept']}')")
        customer.wait_for_selector("[data-test=service-order]")
        _accessible(customer)
        orders = db.session.scalars(sa.select(ServiceOrder).where(ServiceOrder.offer_id == offer.id)).all()
        assert [(o.customer_id, o.gross, o.delivery_days) for o in orders] == [(new.id, Decimal("120.00"), 4)]
        db.session.expire_all()
        assert db.session.get(OrderRequest, found.id).state is RequestState.accepted

        # An offer that expires between showing it and the click is refused.
        with transaction.unit_of_work(db.session):
            late = so.send_offer(
                db.session,
                partner.id,
                found.conversation_id,
                scope="Noch ein Logo",
                price=Decimal("80.00"),
                delivery_days=2,
                expires_at=NIGHT_IN_NEW_YORK + timedelta(minutes=1),
            )
        customer.goto("/c/service-orders/")
        clock["now"] = NIGHT_IN_NEW_YORK + timedelta(minutes=2)
        customer.click(f"[data-offer='{late.id}'] button:has-text('{words['accept']}')")
        customer.wait_for_selector("[role=status]")
        assert words["expired"] in customer.inner_text("[role=status]")
        assert _count(ServiceOrder, ServiceOrder.offer_id == late.id) == 0
        _accessible(customer)
    finally:
        context.close()

    # The existing customer orders directly, in the same night.
    context, customer = _customer_page(browser, live_server, regular.id, language)
    try:
        customer.goto(f"/c/packages/{first_id}/order")
        assert customer.query_selector("[data-test=request-needed]") is None
        _accessible(customer)
        customer.click(f"[data-test=order-form] button:has-text('{words['order_now']}')")
        customer.wait_for_selector("[data-test=service-order]")
        assert words["direct_placed"] in customer.inner_text("[role=status]")
        _accessible(customer)
        assert (
            _count(ServiceOrder, ServiceOrder.customer_id == regular.id, ServiceOrder.package_id == first_id)
            == 1
        )
    finally:
        context.close()

    # A declined request leaves the cancellation rate unchanged.
    with transaction.unit_of_work(db.session):
        declined = so.send_request(
            db.session, decliner.id, first_id, needs="Nur eine Frage", wished_start=None
        )
    page.goto("/my/service-orders/")
    before = page.inner_text("[data-test=cancellation-rate]")
    assert before.startswith("25")  # one of four orders
    page.fill(f"#decline-{declined.id}", "Dafür bin ich nicht die Richtige.")
    page.click(f"[data-request='{declined.id}'] button:has-text('{words['decline']}')")
    page.wait_for_selector("[data-test=metrics]")
    db.session.expire_all()
    assert db.session.get(OrderRequest, declined.id).state is RequestState.declined
    assert page.inner_text("[data-test=cancellation-rate]") == before
