"""Bad input in the Desk: the error shows next to the field and nothing is saved."""

import re

import pytest
from sqlalchemy import func, select

from backoffice.extensions import db
from backoffice.models import Address, Article, Partner
from tests.support.http import csrf_token, login


@pytest.fixture
def staff(client, make):
    make.user("staff", "Staff")
    return login(client, "staff")


def _address_form(**overrides):
    data = {"type": "new_customer", "salutation": "ms", "first_name": "Erika", "last_name": "Mustermann",
            "email": "erika@example.org", "postal_code": "10115", "city": "Berlin", "country": "DE",
            "language": "de", "registration_source": "desk"}
    data.update(overrides)
    return data


def _count(model):
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def _field_errors(html: str) -> dict[str, str]:
    """Map of form field name → the error text FAB renders right under it."""
    errors = {}
    for match in re.finditer(r'name="(?P<name>[a-z_]+)"(?P<rest>.*?)</tr>', html, re.S):
        block = match.group("rest")
        found = re.search(r'class="alert alert-danger">(.*?)</div>', block, re.S)
        if found and found.group(1).strip():
            errors[match.group("name")] = found.group(1).strip()
    return errors


def _post(client, url, data):
    data = {"csrf_token": csrf_token(client, url), **data}
    return client.post(url, data=data)


def test_valid_address_is_saved_normalised(staff, make):
    response = _post(staff, "/addressview/add", _address_form(email=" Erika@Example.ORG "))
    assert response.status_code == 302
    address = db.session.execute(select(Address)).scalar_one()
    assert address.email == "erika@example.org"
    assert address.registered_at.tzinfo is not None


@pytest.mark.parametrize("field,value", [
    ("email", "erika(at)example.org"),
    ("postal_code", "ABCDE"),
    ("country", "ZZ"),
    ("sponsor_id", "424242"),
])
def test_bad_address_input_shows_error_at_field_and_saves_nothing(staff, field, value):
    response = _post(staff, "/addressview/add", _address_form(**{field: value}))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert field in _field_errors(html), f"no error next to {field}"
    assert _count(Address) == 0


def test_duplicate_external_key_and_email_are_refused(staff, make):
    make.address(email="erika@example.org", external_key="ALT-1")
    response = _post(staff, "/addressview/add", _address_form(external_key="ALT-1"))
    errors = _field_errors(response.get_data(as_text=True))
    assert {"email", "external_key"} <= set(errors)
    assert _count(Address) == 1


def test_sponsor_creating_a_cycle_is_refused_in_the_form(staff, make):
    top = make.address(last_name="Oben")
    middle = make.address(last_name="Mitte", sponsor=top)
    bottom = make.address(last_name="Unten", sponsor=middle)
    response = _post(staff, f"/addressview/edit/{top.id}",
                     _address_form(last_name="Oben", email=top.email, sponsor_id=str(bottom.id)))
    assert response.status_code == 200
    assert "sponsor_id" in _field_errors(response.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Address, top.id).sponsor_id is None


def test_duplicate_subdomain_and_bad_iban_are_refused(staff, make):
    make.partner("meier")
    address = make.address()
    response = _post(staff, "/partnerview/add", {
        "address_id": str(address.id), "subdomain": "Meier", "time_zone": "Europe/Berlin",
        "iban": "DE00123456781234567890", "mandate_reference": "M-9", "mandate_date": "2026-01-01"})
    assert response.status_code == 200
    errors = _field_errors(response.get_data(as_text=True))
    assert {"subdomain", "iban"} <= set(errors)
    assert _count(Partner) == 1


def test_article_with_bad_price_is_refused(staff):
    response = _post(staff, "/articleview/add", {"article_no": "A-1", "name": "Tee", "gross_price": "-1",
                                                 "vat_rate": "7"})
    assert response.status_code == 200
    assert "gross_price" in _field_errors(response.get_data(as_text=True))
    assert _count(Article) == 0
    response = _post(staff, "/articleview/add", {"article_no": "A-1", "name": "Tee", "gross_price": "4.95",
                                                 "vat_rate": "7", "active": "y"})
    assert response.status_code == 302
    assert str(db.session.execute(select(Article.vat_rate)).scalar_one()) in ("7", "7.00")


def test_form_without_csrf_token_is_rejected(staff):
    response = staff.post("/addressview/add", data=_address_form())
    assert response.status_code in (200, 400)
    assert _count(Address) == 0


def test_search_finds_address_and_export_follows_the_filter(staff, make):
    make.address(last_name="Zeppelin", city="Friedrichshafen")
    make.address(last_name="Zander", city="Berlin")
    page = staff.get("/addressview/list/?_flt_0_last_name=Zep").get_data(as_text=True)
    assert "Zeppelin" in page and "Zander" not in page
    export = staff.get("/addressview/export/csv?_flt_0_last_name=Zep").get_data(as_text=True)
    assert "Zeppelin" in export and "Zander" not in export


def test_never_ordered_selection_lists_only_new_customers(staff, make):
    from datetime import UTC, datetime

    from backoffice.models import AddressType

    make.address(last_name="NieBestellt")
    make.address(last_name="Stammkunde", type=AddressType.customer, first_order_at=datetime.now(UTC))
    page = staff.get("/neverorderedview/list/").get_data(as_text=True)
    assert "NieBestellt" in page and "Stammkunde" not in page
    export = staff.get("/neverorderedview/export/csv").get_data(as_text=True)
    assert "NieBestellt" in export and "Stammkunde" not in export


def test_times_show_in_the_viewers_time_zone(app, client, make):
    from datetime import UTC, datetime

    make.user("staff", "Staff")
    meier = make.partner("meier", time_zone="America/New_York")
    make.address(last_name="Zeitzone", sponsor=meier.address,
                 registered_at=datetime(2026, 6, 1, 10, 0, tzinfo=UTC))
    login(client, "staff")
    assert "12:00" in client.get("/addressview/list/?_flt_0_last_name=Zeitzone").get_data(as_text=True)
    partner_client = login(app.test_client(), "meier")
    page = partner_client.get("/my/downline/", follow_redirects=True).get_data(as_text=True)
    assert "06:00" in page and "12:00" not in page


def test_database_conflict_gives_a_plain_message_not_sql(ctx, make):
    """A unique value taken between validation and commit (a race) must not show raw SQL."""
    from backoffice.datamodel import Interface
    from backoffice.errors import Conflict

    make.address(email="erika@example.org")
    with pytest.raises(Conflict) as info:
        Interface(Address, ctx).add(Address(last_name="Zweite", email="erika@example.org"))
    assert "INSERT" not in str(info.value) and "erika@example.org" not in str(info.value)
    assert _count(Address) == 1
