"""What staff and partners see in a real browser: forms, search, export, scope, language.

Elements are found by name, id, data-test attribute or URL, never by their label, because
labels change with the language (German by default) and with the compiled translations.
"""

from __future__ import annotations

import openpyxl
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from backoffice.extensions import db
from backoffice.models import Address

from .conftest import log_in

pytestmark = pytest.mark.browser


def address_count() -> int:
    db.session.rollback()  # end the test's own transaction: see what the live server committed
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Address))
    db.session.rollback()
    return count


def field_errors(page, field: str) -> list[str]:
    """The messages the form shows in the cell of one field."""
    return [text.strip() for text in page.locator(f"td:has(> #{field}) .alert-danger").all_inner_texts()]


def list_rows(page) -> str:
    """The text of the rows of a FAB list (not of the search widget's filter table)."""
    return "\n".join(page.locator("table.table-bordered > tbody > tr").all_inner_texts())


def shown_record(page) -> str:
    """The text of the field table of a FAB show page."""
    return "\n".join(page.locator("table.table-bordered td").all_inner_texts())


def fill_address_form(page, **values) -> None:
    for name, value in values.items():
        page.fill(f"#model_form [name={name}]", value)


def submit_address_form(page) -> None:
    """Save, and wait for the answer page (the same URL when the form comes back with errors)."""
    with page.expect_navigation():
        page.click("#model_form [type=submit]")


def test_staff_creates_address_finds_it_and_exports_the_filtered_list(page, make, tmp_path):
    make.user("staff", "Staff")
    make.address(last_name="Brombeerhecke", first_name="Hanna", city="Hamburg", postal_code="20095")
    make.address(last_name="Holunder-Brombeer", city="Bonn", postal_code="53111")

    log_in(page, "staff")
    # Two addresses through the form, both with the optional fields (external key, consents) left
    # empty: the second must not collide with the first on a blank unique field.
    for values in ({"first_name": "Erika", "last_name": "Brombeerstrauch", "email": "erika.b@example.org",
                    "street": "Unter den Linden 1", "postal_code": "10117", "city": "Berlin"},
                   {"last_name": "Kirschbaum", "postal_code": "50667", "city": "Köln"}):
        page.goto("/addressview/add")
        assert page.input_value("#model_form [name=country]") == "DE"
        fill_address_form(page, **values)
        submit_address_form(page)
        assert "/addressview/add" not in page.url
        assert page.locator(".alert-success").count() == 1
        assert page.locator(".alert-danger").count() == 0
    assert address_count() == 4

    # The list's search widget: open the panel, add a "last name" filter, type, search.
    page.goto("/addressview/list/")
    page.click("a.accordion-toggle[href='#accordion1_href']")
    page.click("#filter_form button.dropdown-toggle")
    page.click("#filter_form a.filter[name=last_name]")
    page.fill("#filter_form [name=_flt_0_last_name]", "Brombeer")  # first operator: starts with
    page.click("#filter_form [type=submit]")
    page.wait_for_url("**/addressview/list/?*_flt_0_last_name=Brombeer*")

    listed = list_rows(page)
    assert "Brombeerstrauch" in listed and "Brombeerhecke" in listed
    assert "Kirschbaum" not in listed and "Holunder-Brombeer" not in listed

    export = page.locator("a[data-test=export-xlsx]")
    assert "_flt_0_last_name=Brombeer" in export.get_attribute("href")
    with page.expect_download() as download_info:
        export.click()
    download = download_info.value
    assert download.suggested_filename == "adressen.xlsx"  # the list title in the UI language
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    sheet = openpyxl.load_workbook(path, read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    last_name = 1  # export columns: id, last_name, first_name, company, type, postal_code, city, email …
    assert len(header) > last_name + 6
    assert sorted(row[last_name] for row in rows) == ["Brombeerhecke", "Brombeerstrauch"]
    new = next(row for row in rows if row[last_name] == "Brombeerstrauch")
    assert new[2] == "Erika" and new[5] == "10117" and new[6] == "Berlin"
    assert new[7] == "erika.b@example.org"


def test_bad_email_and_postal_code_are_shown_at_their_fields_and_nothing_is_saved(page, make):
    make.user("staff", "Staff")
    make.address(last_name="Bestand")
    assert address_count() == 1

    log_in(page, "staff")
    page.goto("/addressview/add")
    fill_address_form(page, last_name="Fehlerhaft", email="erika@@example", postal_code="1234", city="Berlin")
    submit_address_form(page)

    assert field_errors(page, "email"), "no message next to the e-mail field"
    assert field_errors(page, "postal_code"), "no message next to the postal code field"
    assert field_errors(page, "last_name") == [] and field_errors(page, "city") == []
    assert page.locator(".alert-success").count() == 0
    # What was typed is still there to be corrected.
    assert page.input_value("#model_form [name=email]") == "erika@@example"
    assert page.input_value("#model_form [name=postal_code]") == "1234"
    assert address_count() == 1

    # Correct the e-mail only: the postal code still stops the save.
    fill_address_form(page, email="erika@example.org")
    submit_address_form(page)
    assert field_errors(page, "email") == []
    assert field_errors(page, "postal_code")
    assert address_count() == 1

    # Both corrected: saved.
    fill_address_form(page, postal_code="10115")
    submit_address_form(page)
    assert "/addressview/add" not in page.url
    assert page.locator(".alert-success").count() == 1
    assert address_count() == 2


def test_partner_sees_only_own_customers_and_nothing_of_the_desk(page, make):
    meier = make.partner("meier")
    schulz = make.partner("schulz")
    make.address(last_name="Alphakunde", sponsor=meier.address)
    make.address(last_name="Betakunde", sponsor=schulz.address)
    meier_id, schulz_id = meier.id, schulz.id

    log_in(page, "meier")
    page.goto("/my/downline/")
    listed = list_rows(page)
    assert "Alphakunde" in listed
    assert "Betakunde" not in listed
    assert "Betakunde" not in page.content()

    response = page.goto("/addressview/list/")
    assert response.status == 403
    body = page.content()
    assert "Alphakunde" not in body and "Betakunde" not in body

    response = page.goto(f"/my/profile/show/{meier_id}")
    assert response.status == 200
    own = shown_record(page)
    assert "meier" in own and "Meier" in own  # subdomain, address

    response = page.goto(f"/my/profile/show/{schulz_id}")
    assert response.status == 404
    assert shown_record(page) == ""
    body = page.content()
    assert "Schulz" not in body and "schulz" not in body and "Betakunde" not in body


def test_language_menu_switches_between_german_and_english(page, make):
    make.user("staff", "Staff")

    page.goto("/login/")
    submit = page.locator("form[name=login] [type=submit]")
    expect(submit).to_have_attribute("value", "Anmelden")
    expect(page.locator("label[for=username]")).to_have_text("Benutzername:")

    page.click("a.dropdown-toggle:has(i.flag)")
    with page.expect_navigation():
        page.click("a[href='/lang/en']")
    page.goto("/login/")
    expect(submit).to_have_attribute("value", "Sign In")
    expect(page.locator("label[for=username]")).to_have_text("Username:")

    log_in(page, "staff")
    page.goto("/addressview/list/")
    search = page.locator("a.accordion-toggle[href='#accordion1_href']")
    logout = page.locator("a[href='/logout/']")
    expect(search).to_have_text("Search")
    expect(logout).to_have_text("Logout")

    page.click("a.dropdown-toggle:has(i.flag)")
    with page.expect_navigation():
        page.click("a[href='/lang/de']")
    assert page.url.endswith("/addressview/list/")  # back where the switch was made
    expect(search).to_have_text("Suchen")
    expect(logout).to_have_text("Abmelden")
