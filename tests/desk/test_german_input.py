"""German input and output in the Desk's forms, lists, filters and exports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import AddressType, Article, OutboxMail, Voucher
from tests.support.http import csrf_token, euros, login
from tests.support.vouchers import voucher_with_code


@pytest.fixture
def staff(client, make):
    make.user("staff", "Staff")
    return login(client, "staff")


def _voucher_form(**overrides):
    data = {"name": "Zehn Euro", "kind": "permanent", "amount": "10,00", "vat_mode": "proportional",
            "fixed_vat_rate": "", "min_order_value": "", "active": "y"}
    data.update(overrides)
    return data


def _post(client, url, data):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def _voucher():
    return db.session.execute(sa.select(Voucher)).scalar_one()


@pytest.mark.parametrize("typed,amount", [
    ("10,00", Decimal("10.00")), ("1.234,56", Decimal("1234.56")), ("10.00", Decimal("10.00")),
    ("7,5", Decimal("7.50")), (" 12 ", Decimal("12.00")),
])
def test_money_typed_the_german_or_english_way_is_the_same_amount(staff, typed, amount):
    response = _post(staff, "/voucherview/add", _voucher_form(amount=typed, min_order_value=typed))
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    voucher = _voucher()
    assert voucher.amount == amount and voucher.min_order_value == amount


def test_article_price_in_german_is_saved_and_shown_in_german(staff):
    response = _post(staff, "/articleview/add", {
        "article_no": "ROSE-50", "name": "Rosenöl", "gross_price": "1.234,56", "vat_rate": "19,00",
        "discountable_by_absolute_vouchers": "y", "active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    article = db.session.execute(sa.select(Article)).scalar_one()
    assert article.gross_price == Decimal("1234.56") and article.vat_rate == Decimal("19")
    listing = staff.get("/articleview/list/").get_data(as_text=True)
    assert euros(listing) == [Decimal("1234.56")]
    edit = staff.get(f"/articleview/edit/{article.id}").get_data(as_text=True)
    assert 'value="1.234,56"' in edit


@pytest.mark.parametrize("field,typed,message", [
    ("amount", "12,34,56", "Keine Zahl"), ("amount", "zehn", "Keine Zahl"),
    ("amount", "10 Euro", "Keine Zahl"), ("amount", "1,2.3", "Keine Zahl"),
    ("valid_from", "31.02.2027", "Kein Datum"), ("valid_from", "12/31/2027", "Kein Datum"),
    ("valid_from", "31.12.27", "Kein Datum"), ("valid_from", "morgen", "Kein Datum"),
])
def test_a_value_that_is_none_is_refused_at_its_field_not_turned_into_another(staff, field, typed, message):
    response = _post(staff, "/voucherview/add", _voucher_form(**{field: typed}))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(Voucher.id))).scalar() == 0


def test_dates_typed_in_german_or_iso_are_the_same_day(staff):
    response = _post(staff, "/voucherview/add", _voucher_form(
        valid_from="01.02.2027", valid_until="2027-12-31", valid_on=""))
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    voucher = _voucher()
    assert voucher.valid_from == dt.date(2027, 2, 1) and voucher.valid_until == dt.date(2027, 12, 31)

    edit = staff.get(f"/voucherview/edit/{voucher.id}").get_data(as_text=True)
    assert 'value="01.02.2027"' in edit and 'value="31.12.2027"' in edit
    assert 'data-local-format="dd.mm.yyyy"' in edit
    assert "01.02.2027" in staff.get("/voucherview/list/").get_data(as_text=True)

    staff.get("/lang/en")
    edit = staff.get(f"/voucherview/edit/{voucher.id}").get_data(as_text=True)
    assert 'value="2027-02-01"' in edit and 'data-local-format="yyyy-mm-dd"' in edit
    assert 'value="10.00"' in edit


def test_search_filters_read_german_dates_and_amounts(staff):
    for name, day, amount in (("Februar", dt.date(2027, 2, 1), "5.00"),
                              ("Januar", dt.date(2027, 1, 2), "1234.56")):
        db.session.add(Voucher(name=name, kind="permanent", amount=Decimal(amount), valid_from=day))
    db.session.commit()
    # Filter 0 of a date column is "equal to": 01.02.2027 is the 1st of February, not the 2nd of January.
    page = staff.get("/voucherview/list/?_flt_0_valid_from=01.02.2027").get_data(as_text=True)
    assert "Februar" in page and "Januar" not in page
    page = staff.get("/voucherview/list/?_flt_1_valid_from=15.01.2027").get_data(as_text=True)
    assert "Februar" in page and "Januar" not in page


def test_countries_and_fab_strings_are_german(staff, make):
    address = make.address(country="AT")
    show = staff.get(f"/addressview/show/{address.id}").get_data(as_text=True)
    assert "Österreich" in show
    listing = staff.get("/addressview/list/").get_data(as_text=True)
    assert "Are you sure" not in listing and "Möchten Sie diesen Eintrag wirklich löschen?" in listing
    assert "Not In" not in listing and "Nicht in" in listing


def test_email_reasons_are_german(staff):
    response = _post(staff, "/addressview/add", {
        "type": "new_customer", "last_name": "Muster", "email": "erika@@example.org",
        "postal_code": "10115", "city": "Berlin", "country": "DE", "language": "de",
        "registration_source": "desk"})
    html = response.get_data(as_text=True)
    assert "Keine gültige E-Mail-Adresse" in html
    assert "The email address" not in html and "@-sign" not in html


def _template_header(client):
    template = client.get("/imports/templates/addresses.csv").get_data(as_text=True)
    return template.splitlines()[0].lstrip("\ufeff").split(";")


def test_export_file_names_and_import_templates_follow_the_ui_language(staff):
    export = staff.get("/voucherview/export/csv")
    assert 'filename="gutscheine.csv"' in export.headers["Content-Disposition"]
    assert _template_header(staff)[:3] == ["Externer Schlüssel", "Anrede", "Vorname"]
    staff.get("/lang/en")
    assert 'filename="vouchers.csv"' in staff.get("/voucherview/export/csv").headers["Content-Disposition"]
    assert _template_header(staff)[:3] == ["external_key", "salutation", "first_name"]


def test_moments_show_a_four_digit_year_in_german_and_english(staff):
    db.session.add(OutboxMail(message_id="<jahreswechsel@partnerdesk.test>", kind="customer_sign_in",
                              recipient="kundin@example.org", subject="Anmeldelink", body_text="Hallo",
                              created_at=dt.datetime(2027, 12, 31, 13, 5, tzinfo=dt.UTC)))
    db.session.commit()
    listing = staff.get("/desk/outbox/list/").get_data(as_text=True)
    assert "31.12.2027, 14:05" in listing and "31.12.27" not in listing
    staff.get("/lang/en")
    listing = staff.get("/desk/outbox/list/").get_data(as_text=True)
    assert "Dec 31, 2027, 2:05\u202fPM" in listing and "12/31/27" not in listing


def test_a_voucher_named_in_a_list_shows_its_amount_in_the_ui_language(staff):
    voucher_with_code("MESSE-1", name="Messegutschein", amount=Decimal("1234.50"))
    codes = staff.get("/vouchercodeview/list/").get_data(as_text=True)
    assert "Messegutschein (1.234,50\xa0€)" in codes and "1234.50" not in codes
    staff.get("/lang/en")
    codes = staff.get("/vouchercodeview/list/").get_data(as_text=True)
    assert "Messegutschein (€1,234.50)" in codes


def test_address_types_in_the_downline_speak_the_ui_language(staff, make):
    top = make.address(last_name="Spitze")
    make.address(last_name="Neu", type=AddressType.new_customer, sponsor=top)
    for url in (f"/desk/downline/node/{top.id}", f"/desk/downline/stats/{top.id}"):
        html = staff.get(url).get_data(as_text=True)
        assert "Neukunde" in html and "New customer" not in html, url
    staff.get("/lang/en")
    assert "New customer" in staff.get(f"/desk/downline/node/{top.id}").get_data(as_text=True)


def test_the_user_form_explains_its_fields_in_german(client, make):
    # FAB's own catalog lacks these two descriptions; ours adds them.
    make.user("chefin", "Admin")
    login(client, "chefin")
    html = client.get("/users/add").get_data(as_text=True)
    assert "Das Passwort des Benutzers für die Anmeldung" in html
    assert "The user's password for authentication" not in html and "The user group on" not in html


@pytest.mark.parametrize("language,blank", [("de", "— keine Auswahl —"), ("en", "— none —")])
def test_an_optional_relation_offers_a_named_empty_choice(staff, language, blank):
    """wtforms shows an empty choice's label as its value: the partner form offered "__None"."""
    staff.get(f"/lang/{language}")
    page = staff.get("/partnerview/add").get_data(as_text=True)
    assert f'<option selected value="__None">{blank}</option>' in page
    assert ">__None<" not in page
