"""The customer portal: passwordless sign-in by mailed link or shop link, and customers see
their own data only."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import AddressType, CustomerSignIn, Order, OrderLine
from backoffice.models.types import utcnow
from backoffice.tasks.mail import deliver
from tests.portal.test_walk import order_for
from tests.support.http import api_token, csrf_token
from tests.support.smtp import parts

LINK_RE = re.compile(r"https?://\S+/c/sign-in/[\w.\-]+")


@pytest.fixture
def anna(make):
    customer = make.address(first_name="Anna", last_name="Kundin", email="anna@example.org",
                            type=AddressType.customer)
    order_for(customer, "SHOP-1001", "Zahnpasta")
    return customer


def _request_link(client, email):
    token = csrf_token(client, "/c/sign-in")
    return client.post("/c/sign-in", data={"email": email, "csrf_token": token})


def _use(client, link):
    path = link[link.index("/c/sign-in/"):]
    token = csrf_token(client, path)
    return client.post(path, data={"csrf_token": token})


def test_a_customer_signs_in_through_the_mailed_link_once(client, anna, smtp_server):
    assert client.get("/c/").status_code == 302  # not signed in
    page = _request_link(client, "Anna@Example.org")
    assert page.status_code == 200 and "anna@example.org".lower() in page.get_data(as_text=True).lower()
    deliver(db.session)
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "anna@example.org" and "Anmeldelink" in message["Subject"]
    link = LINK_RE.search(parts(message)["text/plain"]).group(0)
    assert link in parts(message)["text/html"]
    path = link[link.index("/c/sign-in/"):]
    assert "Jetzt anmelden" in client.get(path).get_data(as_text=True)  # a GET does not use it up
    assert _use(client, link).headers["Location"].endswith("/c/")
    overview = client.get("/c/").get_data(as_text=True)
    assert "Anna Kundin" in overview and "SHOP-1001" in overview
    again = _use(client.application.test_client(), link)
    assert again.status_code == 410


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, make):
    make.address(last_name="Partnerin", email="partnerin@example.org", type=AddressType.partner)
    for email in ("niemand@example.org", "partnerin@example.org", "kein-email"):
        response = _request_link(client, email)
        assert response.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerSignIn)) == 0


def test_an_expired_or_forged_link_does_not_sign_in(app, client, anna, smtp_server):
    _request_link(client, "anna@example.org")
    deliver(db.session)
    link = LINK_RE.search(parts(smtp_server.wait_for(1)[0])["text/plain"]).group(0)
    db.session.execute(sa.update(CustomerSignIn).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert _use(app.test_client(), link).status_code == 410
    assert _use(app.test_client(), link[:-3] + "abc").status_code == 404
    assert app.test_client().get("/c/").status_code == 302


def test_a_link_older_than_fifteen_minutes_is_refused_by_its_signature(app, anna):
    import time

    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    from backoffice.services import customer_portal

    class SixteenMinutesAgo(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 16 * 60

    with app.test_request_context():
        link = customer_portal.shop_link(db.session, "http://x/c", address_id=anna.id)
        db.session.commit()
    token = link.url.rsplit("/", 1)[1]
    nonce = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=customer_portal.SALT).loads(token)["n"]
    stale = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=customer_portal.SALT,
                                   signer=SixteenMinutesAgo).dumps({"n": nonce})
    assert _use(app.test_client(), "http://x/c/sign-in/" + stale).status_code == 410
    assert _use(app.test_client(), link.url).status_code == 302  # the fresh one still works


def test_the_shop_obtains_a_sign_in_link_for_its_customer(app, client, make, anna):
    make.user("shop", "Shop")
    headers = api_token(client, "shop")
    response = client.post("/api/v1/customer_links/", json={"email": "anna@example.org"}, headers=headers)
    assert response.status_code == 201, response.json
    browser = app.test_client()
    assert _use(browser, response.json["url"]).status_code == 302
    assert "SHOP-1001" in browser.get("/c/").get_data(as_text=True)
    by_id = client.post("/api/v1/customer_links/", json={"address_id": anna.id}, headers=headers)
    assert by_id.status_code == 201
    unknown = client.post("/api/v1/customer_links/", json={"email": "niemand@example.org"}, headers=headers)
    assert unknown.status_code == 404 and unknown.json["error"] == "no_customer"
    assert client.post("/api/v1/customer_links/", json={}, headers=headers).status_code == 422
    assert client.post("/api/v1/customer_links/", data="x", headers=headers).status_code == 400
    partner = make.partner("meier")
    assert client.post("/api/v1/customer_links/", json={"address_id": partner.address_id},
                       headers=headers).status_code == 404
    as_partner = client.post("/api/v1/customer_links/", json={"email": "anna@example.org"},
                             headers=api_token(client, "meier"))
    assert (as_partner.status_code, as_partner.json["error"]) == (403, "forbidden")



@pytest.mark.parametrize(("body", "fields"), [
    ({"address_id": "12"}, {"address_id": ["address_id muss eine Zahl sein."]}),
    ({"address_id": True}, {"address_id": ["address_id muss eine Zahl sein."]}),
    ({"email": 5}, {"email": ["Senden Sie Text."]}),
    ({"email": ["anna@example.org"]}, {"email": ["Senden Sie Text."]}),
])
def test_a_customer_link_for_a_value_of_the_wrong_type_is_refused_naming_the_field(client, make, anna, body,
                                                                                  fields):
    make.user("shop", "Shop")
    response = client.post("/api/v1/customer_links/", json=body, headers=api_token(client, "shop"))
    assert response.status_code == 422
    assert response.json["error"] == "invalid_fields" and response.json["fields"] == fields


def test_the_customer_keeps_store_details_and_switches_to_english(app, anna):
    from tests.portal.test_walk import signed_in

    client = signed_in(app, anna)
    token = csrf_token(client, "/c/store")
    bad = client.post("/c/store", data={"store_name": "Annas Laden", "store_url": "kein url",
                                        "csrf_token": token})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    good = client.post("/c/store", data={"store_name": "Annas Laden", "store_url": "annas-laden.example",
                                         "csrf_token": token})
    assert good.status_code == 302
    page = client.get("/c/").get_data(as_text=True)
    assert "Annas Laden" in page and "https://annas-laden.example" in page
    client.get("/c/language/en?next=/c/")
    english = client.get("/c/").get_data(as_text=True)
    assert '<html lang="en">' in english and "Your orders" in english


def test_signing_out_ends_the_portal_session(app, anna):
    from tests.portal.test_walk import signed_in

    client = signed_in(app, anna)
    token = csrf_token(client, "/c/")
    assert client.post("/c/sign-out", data={"csrf_token": token}).status_code == 302
    assert client.get("/c/").status_code == 302


def test_order_lines_show_on_the_order_page(app, anna):
    from tests.portal.test_walk import signed_in

    order = db.session.scalar(sa.select(Order).where(Order.address_id == anna.id))
    page = signed_in(app, anna).get(f"/c/orders/{order.id}").get_data(as_text=True)
    assert "Zahnpasta" in page and "SHOP-1001" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderLine)) == 1
    assert Decimal("0") <= order.total_gross


def test_the_form_sends_no_more_than_five_links_in_fifteen_minutes(client, anna):
    from backoffice.models.mail import OutboxMail

    for _ in range(7):
        assert _request_link(client, "anna@example.org").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 5


def test_an_erased_customer_is_signed_out_and_its_unused_links_no_longer_work(app, anna):
    from backoffice import transaction
    from backoffice.services import customer_portal, privacy
    from tests.portal.test_walk import signed_in

    client = signed_in(app, anna)
    assert "SHOP-1001" in client.get("/c/").get_data(as_text=True)
    with app.test_request_context():
        unused = customer_portal.shop_link(db.session, "http://localhost/c", address_id=anna.id)
        with transaction.unit_of_work(db.session):
            privacy.erase(db.session, anna.id, reason="Art. 17", actor_user_id=None, actor_label="staff")
        assert db.session.scalar(sa.select(sa.func.count(CustomerSignIn.id))
                                 .where(CustomerSignIn.used_at.is_(None))) == 0
    assert client.get("/c/").status_code == 302  # the open session ends
    later = app.test_client()
    assert _use(later, unused.url).status_code in (404, 410)
    assert later.get("/c/").status_code == 302
