"""A partner sees its own profile and the addresses it sponsors, never another partner's.

Partner B's records carry markers; partner A (its owner, and again a member of its team)
walks every GET route of the app with B's ids substituted, plus the write routes, and no
response may show a marker.
"""

from datetime import date

import pytest

from backoffice.extensions import db
from backoffice.models import Partner
from tests.support.conversations import conversation_with_file
from tests.support.http import api_token, csrf_token, login
from tests.support.route_families import PARTNER_FAMILIES, PartnerA
from tests.support.service_orders import (
    plain_service,
    service_orders_between,
    states,
    write_routes,
    write_urls,
)
from tests.support.walk import (
    Walk,
    family_of,
    get_routes,
    text,
    urls,
)

# Partner B (schulz) sits in A's firstline, so A may see B's name; never B's own data.
B_MARKERS = ["Geheimkunde", "geheim@b-kunde.example", "schulzgeheim", "DE89370400440532013000",
             "M-SCHULZ-1", "Geheimbedarf", "Geheimumfang", "Geheimauftrag"]


@pytest.fixture
def two_partners(make):
    root = make.address(last_name="Vertrieb", company="Partnerdesk GmbH")
    meier = make.partner("meier", sponsor=root, last_name="Meier")
    schulz = make.partner("schulz", sponsor=meier.address, last_name="Zweitgeheim",
                          subdomain="schulzgeheim", iban="DE89370400440532013000",
                          mandate_reference="M-SCHULZ-1", mandate_date=date(2026, 1, 15))
    own = make.address(last_name="Alphakunde", email="alpha@a-kunde.example",
                       sponsor=meier.address, consent_contact_by_sponsor=True)
    foreign = make.address(last_name="Geheimkunde", email="geheim@b-kunde.example",
                           sponsor=schulz.address, consent_contact_by_sponsor=True)
    return {"meier": meier, "schulz": schulz, "own": own, "foreign": foreign, "root": root}


@pytest.fixture(params=["meier", "kollegin"], ids=["owner", "team member"])
def meier_login(request, make, two_partners) -> str:
    """Who works for partner A: its owner, and a member of its team, who must see the same."""
    if request.param == "kollegin":
        make.team_member(two_partners["meier"], "kollegin")
    return request.param


def _text(response) -> str:
    return text(response)


def _leaks(response, allowed=()) -> list[str]:
    shown = text(response)
    return [m for m in B_MARKERS if m in shown and m not in allowed]


# Geheimkunde sits two levels below meier (under schulz): the downline pages show its name
# (D2; deeper levels show name, type and dates by default, A8), never its contact data.
IN_MEIERS_DOWNLINE = {"Geheimkunde"}


def _get_routes(app):
    return get_routes(app)


def _urls(rule, ids):
    return (url for url, _ in urls(rule, ids))


def partner_a(two_partners, who, **extra) -> PartnerA:
    meier, schulz = two_partners["meier"], two_partners["schulz"]
    return PartnerA(member=who == "kollegin", own_node=meier.address_id,
                    downline=frozenset({meier.address_id, schulz.address_id, two_partners["own"].id,
                                        two_partners["foreign"].id}), **extra)


WHERE = "PARTNER_FAMILIES in tests/support/route_families.py"


def test_partner_sees_own_firstline_only(client, two_partners, meier_login):
    login(client, meier_login)
    # The firstline is the downline navigator's first page; the former list's URL leads there.
    moved = client.get("/my/addresses/list/")
    assert (moved.status_code, moved.headers["Location"]) == (301, "/my/downline/")
    page = client.get("/my/addresses/list/", follow_redirects=True).get_data(as_text=True)
    assert 'data-test="firstline"' in page
    assert "Alphakunde" in page
    assert "alpha@a-kunde.example" in page  # consented contact data of own customer
    assert "Geheimkunde" not in page


def test_no_get_route_shows_another_partners_data(app, client, two_partners, meier_login):
    """Every GET route with each of B's ids answers exactly what its family says (another
    owner's record: 404); no page answered 200 shows B's data; A's own pages show A's."""
    login(client, meier_login)
    theirs = conversation_with_file(two_partners["schulz"].id, two_partners["foreign"].id,
                                    contact="Geheimkunde", body="Nachricht an schulzgeheim")
    orders = service_orders_between(two_partners["schulz"].id, two_partners["foreign"].id,
                                    theirs["conversation"], marker="Geheim")
    ids = [two_partners["foreign"].id, two_partners["schulz"].id, two_partners["schulz"].address_id,
           theirs["conversation"], theirs["file"], theirs["tag"], *orders.values()]
    walk = Walk(PARTNER_FAMILIES, WHERE, B_MARKERS,
                allowed=lambda url: IN_MEIERS_DOWNLINE if url.startswith("/my/downline") else ())
    statuses = walk.run(app, client, ids, partner_a(two_partners, meier_login))
    assert statuses[404] > 200 and statuses[200] > 30, statuses
    # The same pages with A's own ids show A's data: the walk's 404s are not "nothing works".
    meier = two_partners["meier"]
    assert "Alphakunde" in client.get(f"/my/downline/node/{meier.address_id}").get_data(as_text=True)
    assert "meier" in client.get(f"/my/profile/show/{meier.id}").get_data(as_text=True)


def test_no_write_route_touches_another_partners_service_orders(app, client, two_partners, meier_login):
    """Every POST route of the partner's service orders (from the URL map), with each of B's
    ids: refused, and B's request, offer and order stay as they were."""
    theirs = conversation_with_file(two_partners["schulz"].id, two_partners["foreign"].id,
                                    contact="Geheimkunde", body="Hallo")
    orders = service_orders_between(two_partners["schulz"].id, two_partners["foreign"].id,
                                    theirs["conversation"], marker="Geheim")
    before = states(orders)
    login(client, meier_login)
    own = plain_service(two_partners["meier"].id)
    token = csrf_token(client, f"/my/service-orders/services/{own}/request-to-order")
    form = {"csrf_token": token, "message": "x", "reason": "x", "scope": "x", "price": "1,00",
            "delivery_days": "1", "enabled": "y", "audience": "all_customers"}
    rules = list(write_routes(app, ("/my/service-orders/",)))
    assert len(rules) >= 5
    for rule in rules:
        for url in write_urls(rule, [theirs["conversation"], *orders.values()]):
            response = client.post(url, data=form)
            # Refused: 404, or the Desk's answer to a domain error (a message and back to the start),
            # never the success redirect to the service-orders page.
            refused = (response.status_code, response.headers.get("Location")) in ((404, None), (302, "/"))
            assert refused, f"{url} answered {response.status_code} {response.headers.get('Location')}"
            assert not _leaks(response), url
    assert states(orders) == before


def test_downline_partner_sees_nothing_above_itself(client, two_partners):
    login(client, "schulz")
    for url in ["/my/addresses/list/", "/my/addresses/export/csv", "/my/profile/list/",
                f"/my/addresses/show/{two_partners['own'].id}",
                f"/my/addresses/show/{two_partners['meier'].address_id}",
                f"/my/profile/show/{two_partners['meier'].id}"]:
        text = _text(client.get(url, follow_redirects=True))
        assert "Alphakunde" not in text and "Vertrieb" not in text, url
        assert "alpha@a-kunde.example" not in text, url
    assert "Geheimkunde" in client.get("/my/addresses/list/", follow_redirects=True).get_data(as_text=True)


def test_search_filter_cannot_reach_outside_own_rows(client, two_partners, meier_login):
    login(client, meier_login)
    # Search for a prefix: the page echoes the search term, the rows must not match.
    for url in ["/my/addresses/list/?_flt_0_last_name=Geheim",
                "/my/addresses/export/csv?_flt_0_last_name=Geheim",
                "/my/addresses/export/xlsx?_flt_0_last_name=Geheim",
                f"/my/addresses/list/?_flt_0_sponsor={two_partners['schulz'].address_id}",
                f"/my/downline/node/{two_partners['meier'].address_id}?name=Geheim",
                "/my/downline/new-customers/?name=Geheim"]:
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200
        # The navigator's search names matches deeper in meier's downline (names only).
        assert not _leaks(response, IN_MEIERS_DOWNLINE if "/my/downline/node/" in url else ()), url


def test_partner_forms_offer_no_dropdown_of_other_records(client, two_partners, meier_login):
    login(client, meier_login)
    for url in ["/my/profile/list/", "/my/addresses/list/",
                f"/my/profile/edit/{two_partners['meier'].id}"]:
        text = client.get(url, follow_redirects=True).get_data(as_text=True)
        assert "Vertrieb" not in text and "Geheimkunde" not in text, url


def test_partner_cannot_edit_another_partners_profile(app, client, two_partners):
    login(client, "meier")
    schulz_id = two_partners["schulz"].id
    token = csrf_token(client, f"/my/profile/edit/{two_partners['meier'].id}")
    response = client.post(f"/my/profile/edit/{schulz_id}", data={
        "csrf_token": token, "profile_text": "gehackt", "time_zone": "Europe/Berlin"})
    assert response.status_code in (302, 404)
    db.session.expire_all()
    assert db.session.get(Partner, schulz_id).profile_text != "gehackt"


def test_partner_edits_own_profile(client, two_partners):
    login(client, "meier")
    meier_id = two_partners["meier"].id
    token = csrf_token(client, f"/my/profile/edit/{meier_id}")
    response = client.post(f"/my/profile/edit/{meier_id}", data={
        "csrf_token": token, "profile_text": "Naturkosmetik aus Berlin",
        "time_zone": "Europe/Berlin", "available": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Partner, meier_id).profile_text == "Naturkosmetik aus Berlin"


def test_partner_api_is_scoped(client, two_partners, meier_login):
    headers = api_token(client, meier_login)
    listing = client.get("/api/v1/my_addresses/", headers=headers)
    assert listing.status_code == 200
    names = {row["last_name"] for row in listing.json["result"]}
    assert names == {"Alphakunde", "Zweitgeheim"}  # own customer and own firstline partner
    foreign_id = two_partners["foreign"].id
    assert client.get(f"/api/v1/my_addresses/{foreign_id}", headers=headers).status_code == 404
    schulz_id = two_partners["schulz"].id
    assert client.get(f"/api/v1/my_profile/{schulz_id}", headers=headers).status_code == 404
    put = client.put(f"/api/v1/my_profile/{schulz_id}", json={"profile_text": "gehackt"}, headers=headers)
    assert put.status_code == 404
    db.session.expire_all()
    assert db.session.get(Partner, schulz_id).profile_text != "gehackt"
    own = client.get("/api/v1/my_profile/", headers=headers).json["result"]
    assert [p["subdomain"] for p in own] == ["meier"]


def test_partner_cannot_use_staff_apis_or_pages(client, two_partners):
    headers = api_token(client, "meier")
    for url in ["/api/v1/address/", f"/api/v1/address/{two_partners['foreign'].id}", "/api/v1/partner/",
                "/api/v1/article/"]:
        assert client.get(url, headers=headers).status_code == 403, url
    response = client.post("/api/v1/address/", json={"last_name": "X"}, headers=headers)
    assert response.status_code == 403
    login(client, "meier")
    for url in ["/addressview/list/", "/partnerview/list/", "/addressview/export/csv",
                "/neverorderedview/list/", "/auditentryview/list/"]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert not _leaks(response)


def test_contact_data_hidden_without_consent(client, make, two_partners):
    make.address(last_name="Ohnezustimmung", email="nein@example.org", phone="+49 30 111",
                 sponsor=two_partners["meier"].address, consent_contact_by_sponsor=False)
    login(client, "meier")
    page = client.get("/my/addresses/list/", follow_redirects=True).get_data(as_text=True)
    assert "Ohnezustimmung" in page
    assert "nein@example.org" not in page
    export = client.get("/my/addresses/export/csv", follow_redirects=True).get_data(as_text=True)
    assert "Ohnezustimmung" in export and "nein@example.org" not in export and "+49 30 111" not in export


def test_shop_role_has_no_desk_pages(client, make):
    make.user("shop", "Shop")
    make.address(last_name="Geheimkunde")
    token = csrf_token(client, "/login/")
    refused = client.post("/login/", data={"username": "shop", "password": "shop", "csrf_token": token},
                          follow_redirects=True)
    assert "nur für die Shop-API" in refused.get_data(as_text=True)
    for url in ["/addressview/list/", "/my/downline/", "/partnerview/list/"]:
        response = client.get(url)
        # The refused login left no session: the sign-in page, like for anyone signed out.
        assert (response.status_code, response.headers["Location"]) == (302, f"/login/?next=http://localhost{url}")
        assert "Geheimkunde" not in response.get_data(as_text=True)
    headers = api_token(client, "shop")
    assert client.get("/api/v1/article/", headers=headers).status_code == 200
    assert client.get("/api/v1/address/", headers=headers).status_code == 403


def test_finance_reads_but_cannot_change_addresses(client, make):
    make.user("finance", "Finance")
    address = make.address(last_name="Lesbar")
    login(client, "finance")
    assert "Lesbar" in client.get("/addressview/list/").get_data(as_text=True)
    assert client.get(f"/addressview/edit/{address.id}").status_code == 403
    headers = api_token(client, "finance")
    assert client.get(f"/api/v1/address/{address.id}", headers=headers).status_code == 200
    put = client.put(f"/api/v1/address/{address.id}", json={"last_name": "Geändert"}, headers=headers)
    assert put.status_code == 403


# --- The downline pages: a partner's own downline only, never above or beside it ---------

OUTSIDER_MARKERS = ["Fremdpartner", "Fremdkundin", "fremd@c-kunde.example"]


@pytest.fixture
def outsider(make, two_partners):
    """Partner C beside meier (also under the company root) with a customer of its own."""
    fremd = make.partner("fremd", sponsor=two_partners["root"], last_name="Fremdpartner")
    kundin = make.address(last_name="Fremdkundin", email="fremd@c-kunde.example",
                          sponsor=fremd.address, consent_contact_by_sponsor=True)
    return {"fremd": fremd, "kundin": kundin}


def test_no_get_route_shows_a_partner_outside_the_own_downline(app, client, two_partners, outsider,
                                                               meier_login):
    login(client, meier_login)
    ids = [outsider["kundin"].id, outsider["fremd"].address_id, two_partners["root"].id]
    statuses = Walk(PARTNER_FAMILIES, WHERE, OUTSIDER_MARKERS).run(
        app, client, ids, partner_a(two_partners, meier_login))
    assert statuses[404] > 100 and statuses[200] > 30, statuses
    assert "Alphakunde" in client.get(f"/my/downline/node/{two_partners['meier'].address_id}").get_data(
        as_text=True)


def test_downline_urls_refuse_nodes_above_and_beside_the_partner(client, two_partners, outsider):
    login(client, "schulz")
    schulz = two_partners["schulz"].address_id
    above = [two_partners["meier"].address_id, two_partners["root"].id, two_partners["own"].id,
             outsider["fremd"].address_id, outsider["kundin"].id]
    for pk in above:
        for url in [f"/my/downline/node/{pk}", f"/my/downline/stats/{pk}", f"/my/downline/tree/{pk}",
                    f"/my/downline/tree/{pk}/svg", f"/my/downline/export/{pk}/csv",
                    f"/my/downline/export/{pk}/xlsx?level=1"]:
            assert client.get(url).status_code == 404, url
    page = client.get(f"/my/downline/node/{schulz}").get_data(as_text=True)
    assert "Geheimkunde" in page and "geheim@b-kunde.example" in page  # own firstline, consented
    assert "Meier" not in page and "Vertrieb" not in page  # breadcrumb starts at schulz
    assert client.get("/my/downline/").headers["Location"].endswith(f"/my/downline/node/{schulz}")


def test_deeper_levels_never_show_contact_data(client, two_partners, meier_login):
    login(client, meier_login)
    schulz = two_partners["schulz"].address_id
    page = client.get(f"/my/downline/node/{schulz}").get_data(as_text=True)
    assert "Geheimkunde" in page and "geheim@b-kunde.example" not in page
    export = client.get(f"/my/downline/export/{two_partners['meier'].address_id}/csv").get_data(as_text=True)
    assert "Geheimkunde" in export and "geheim@b-kunde.example" not in export
    assert "alpha@a-kunde.example" in export  # own firstline, consented


def test_staff_downline_pages_are_closed_to_partners(client, two_partners):
    login(client, "meier")
    for url in ["/desk/downline/", f"/desk/downline/node/{two_partners['root'].id}", "/desk/downline/move",
                "/desk/downline/visibility", "/desk/downline/bulk-move"]:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Vertrieb" not in response.get_data(as_text=True)


# --- Public profile and services: the partner area's pages and the services API -----------

# Partner B's service that is not public (inactive), its package and its notification e-mail:
# no page or API of partner A may show them. B's active service is public (the directory).
SERVICE_MARKERS = ["Schulzgeheimdienst", "Geheimpaket", "geheim-schulz@b.example"]


@pytest.fixture
def services_of_two(make, two_partners):
    from backoffice import transaction
    from backoffice.services import profiles
    from tests.support.directory import category

    maler = category("Maler", "Painting")

    def publish(partner, name, email, title, package, active):
        with transaction.unit_of_work() as session:
            profiles.save_profile(session, partner.id, {
                "display_name": name, "postal_code": "10115", "languages": ["de"], "published": True,
                "listed": True, "available": True, "notification_email": email})
            profiles.save_service(session, partner.id, {"category_id": maler.id, "title": f"{name} sichtbar",
                                                        "active": True}, [])
            service = profiles.save_service(session, partner.id, {"category_id": maler.id, "title": title,
                                                                  "active": active},
                                            [profiles.PackageInput(package, None, "10", 1)])
            return service.id, service.packages[0].id

    meier_service, meier_package = publish(two_partners["meier"], "Meier Malerei", "meier-info@a.example",
                                           "Meiers Entwurfsdienst", "Meierpaket", False)
    schulz_service, schulz_package = publish(two_partners["schulz"], "Schulz Malerei",
                                             "geheim-schulz@b.example", "Schulzgeheimdienst", "Geheimpaket",
                                             False)
    db.session.expire_all()
    return {"meier": meier_service, "schulz": schulz_service, "schulz_package": schulz_package,
            "meier_package": meier_package, "category": maler}


def _service_leaks(response) -> list[str]:
    text = _text(response)
    return [m for m in SERVICE_MARKERS if m in text]


def test_no_route_shows_another_partners_services_with_their_ids(app, client, two_partners, services_of_two,
                                                                 meier_login):
    """Every GET route, as a session and (under /api/) with a token, with B's service, package
    and partner ids; and A's own profile, services and packages are there."""
    login(client, meier_login)
    page = client.get("/my/public-profile/").get_data(as_text=True)
    assert "Meier Malerei" in page and "Meiers Entwurfsdienst" in page and "meier-info@a.example" in page
    own = client.get(f"/my/public-profile/services/{services_of_two['meier']}").get_data(as_text=True)
    assert "Meierpaket" in own
    headers = api_token(app.test_client(), meier_login)
    ids = [services_of_two["schulz"], services_of_two["schulz_package"], two_partners["schulz"].id]
    who = partner_a(two_partners, meier_login, token=True, public=frozenset({two_partners["schulz"].id}))
    statuses = Walk(PARTNER_FAMILIES, WHERE, SERVICE_MARKERS).run(
        app, client, ids, who, headers=lambda url: headers if url.startswith("/api/") else None)
    assert statuses[404] > 100 and statuses[200] > 30, statuses
    listing = client.get("/api/v1/my_services/", headers=headers).json["result"]
    assert [s["title"] for s in listing] == ["Meier Malerei sichtbar", "Meiers Entwurfsdienst"]
    assert listing[1]["packages"][0]["name"] == "Meierpaket"


def test_partner_cannot_change_or_delete_another_partners_service(app, client, two_partners, services_of_two,
                                                                 meier_login):
    from backoffice.models import Service

    login(client, meier_login)
    foreign = services_of_two["schulz"]
    token = csrf_token(client, "/my/public-profile/services/new")
    form = {"csrf_token": token, "category_id": str(services_of_two["category"].id), "title": "gehackt",
            "active": "y"}
    assert client.post(f"/my/public-profile/services/{foreign}", data=form).status_code == 404
    assert client.post(f"/my/public-profile/services/{foreign}/delete",
                       data={"csrf_token": token}).status_code == 404
    headers = api_token(app.test_client(), meier_login)
    body = {"category_id": services_of_two["category"].id, "title": "gehackt"}
    assert client.put(f"/api/v1/my_services/{foreign}", json=body, headers=headers).status_code == 404
    assert client.delete(f"/api/v1/my_services/{foreign}", headers=headers).status_code == 404
    db.session.expire_all()
    service = db.session.get(Service, foreign)
    assert (service.title, service.partner_id, [p.name for p in service.packages]) == \
        ("Schulzgeheimdienst", two_partners["schulz"].id, ["Geheimpaket"])
def test_downline_partner_cannot_draw_or_search_above_itself(client, two_partners):
    """The explorer's JSON answers like the pages: 404 above the own address, and the search
    finds nothing outside the own downline."""
    login(client, "schulz")
    for pk in (two_partners["meier"].address_id, two_partners["own"].id, two_partners["root"].id):
        assert client.get(f"/my/downline/tree/{pk}/json").status_code == 404
        assert client.get(f"/my/downline/tree/{pk}/json?q=Alpha").status_code == 404
    own = two_partners["schulz"].address_id
    branch = client.get(f"/my/downline/tree/{own}/json").get_json()
    assert [c["name"] for c in branch["crumbs"]] == [two_partners["schulz"].address.name]
    assert branch["up"] is None
    assert client.get(f"/my/downline/tree/{own}/json?q=Alphakunde").get_json() == {"found": []}
    assert [f["name"] for f in client.get(f"/my/downline/tree/{own}/json?q=geheim").get_json()["found"]] \
        == ["Erika Geheimkunde"]


def test_a_route_of_no_family_fails_the_walk_with_what_to_do():
    with pytest.raises(AssertionError) as refused:
        family_of(PARTNER_FAMILIES, "/reports/<int:pk>", WHERE)
    assert str(refused.value) == (
        "The route /reports/<int:pk> belongs to no route family of this walk. Classify it: add a Family "
        "(pattern, expected status) for it to PARTNER_FAMILIES in tests/support/route_families.py, "
        "saying what this caller must get.")
