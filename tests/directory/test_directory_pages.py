"""The directory's pages: visitors search without a login, partners edit only their own
profile and services, staff keep categories and unpublish with a reason."""

import io
import re

import sqlalchemy as sa
from PIL import Image

from backoffice.extensions import db
from backoffice.models import Category, PartnerProfile, Service
from tests.support.directory import category, published_partner
from tests.support.http import csrf_token, login


def _service_id(partner_id):
    return db.session.scalar(sa.select(Service.id).where(Service.partner_id == partner_id))


def test_visitor_finds_a_partner_by_category_and_postal_code_without_login(client, make):
    elektro = category("Elektro", "Electrical")
    partner = published_partner(make, "strom", elektro, "10115", display_name="Strom & Söhne")
    page = client.get(f"/directory/?category={elektro.id}&postal_code=10117&radius=25")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Strom &amp; Söhne" in text and "1 Partner gefunden" in text
    english = client.get(f"/directory/?category={elektro.id}&postal_code=10117&lang=en")
    english = english.get_data(as_text=True)
    assert '<html lang="en">' in english and "1 partner found" in english and "Electrical" in english
    detail = client.get(f"/directory/partner/{partner.id}").get_data(as_text=True)
    assert "Paket 1" in detail and "Paket 2" in detail and "Leistung von strom" in detail


def test_unknown_postal_code_is_shown_at_the_field(client, make):
    text = client.get("/directory/?postal_code=00000&lang=en").get_data(as_text=True)
    assert 'aria-invalid="true"' in text and "Unknown German postal code." in text


def test_unpublished_partner_page_is_not_found(client, make):
    elektro = category("Elektro", "Electrical")
    draft = published_partner(make, "entwurf", elektro, published=False)
    assert client.get(f"/directory/partner/{draft.id}").status_code == 404


def _png():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10), "blue").save(buffer, format="PNG")
    return buffer.getvalue()


def test_partner_publishes_profile_and_a_service_with_two_packages(client, make, app, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path) + "/"
    elektro = category("Elektro", "Electrical")
    partner = make.partner("licht")
    login(client, "licht")
    token = csrf_token(client, "/my/public-profile/")
    bad = client.post("/my/public-profile/", data={
        "csrf_token": token, "display_name": "Licht GmbH", "postal_code": "10115", "radius_km": "30",
        "languages": ["de"], "published": "y", "picture": (io.BytesIO(b"MZ not a picture"), "foto.png")},
        content_type="multipart/form-data")
    assert bad.status_code == 422 and "JPEG, PNG" in bad.get_data(as_text=True)
    saved = client.post("/my/public-profile/", data={
        "csrf_token": token, "display_name": "Licht GmbH", "postal_code": "10115", "radius_km": "30",
        "languages": ["de", "en"], "published": "y", "listed": "y", "available": "y",
        "picture": (io.BytesIO(_png()), "foto.jpg")}, content_type="multipart/form-data")
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(PartnerProfile, partner.id).published
    assert db.session.get(type(partner), partner.id).picture.endswith(".png")

    response = client.post("/my/public-profile/services/new", data={
        "csrf_token": token, "category_id": str(elektro.id), "title": "Lampen anschließen",
        "price_from": "39,90", "active": "y",
        "packages-0-name": "Basis", "packages-0-price": "39,90", "packages-0-delivery_days": "2",
        "packages-1-name": "Komfort", "packages-1-price": "79", "packages-1-delivery_days": "5"})
    assert response.status_code == 302
    found = client.get(f"/directory/?category={elektro.id}&postal_code=10115").get_data(as_text=True)
    assert "Licht GmbH" in found and "39,90" in found


def test_partner_cannot_see_or_change_another_partners_service(client, make):
    elektro = category("Elektro", "Electrical")
    other = published_partner(make, "fremd", elektro)
    make.partner("neugier")
    login(client, "neugier")
    service_id = _service_id(other.id)
    assert client.get(f"/my/public-profile/services/{service_id}").status_code == 404
    token = csrf_token(client, "/my/public-profile/")
    assert client.post(f"/my/public-profile/services/{service_id}", data={
        "csrf_token": token, "category_id": str(elektro.id), "title": "gehackt"}).status_code == 404
    assert client.post(f"/my/public-profile/services/{service_id}/delete",
                       data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Service, service_id).title == "Leistung von fremd"
    assert "Leistung von fremd" not in client.get("/my/public-profile/").get_data(as_text=True)


def test_staff_manage_categories_and_unpublish_with_a_reason(client, make):
    make.user("stefan", "Staff")
    login(client, "stefan")
    token = csrf_token(client, "/desk/categories/add")
    client.post("/desk/categories/add", data={"csrf_token": token, "name_de": "Handwerk",
                                               "name_en": "Crafts", "active": "y", "position": "0"})
    top = db.session.scalar(sa.select(Category.id).where(Category.name_de == "Handwerk"))
    client.post("/desk/categories/add", data={"csrf_token": token, "name_de": "Elektro",
                                               "name_en": "Electrical", "parent": str(top), "active": "y",
                                               "position": "0"})
    elektro = db.session.scalars(sa.select(Category).where(Category.name_de == "Elektro")).first()
    assert elektro is not None and elektro.parent_id == top
    third = client.post("/desk/categories/add", data={"csrf_token": token, "name_de": "Kabel",
                                                       "name_en": "Cables", "parent": str(elektro.id),
                                                       "active": "y", "position": "0"})
    # The parent dropdown offers top categories only; a third level is refused at the field.
    assert "alert-danger" in third.get_data(as_text=True)
    assert db.session.scalar(sa.select(Category.id).where(Category.name_de == "Kabel")) is None

    partner = published_partner(make, "zuviel", db.session.get(Category, elektro.id))
    show = client.get(f"/desk/public-profiles/show/{partner.id}").get_data(as_text=True)
    assert "data-test=\"unpublish-form\"" in show
    client.post(f"/desk/public-profiles/unpublish/{partner.id}",
                data={"csrf_token": token, "reason": "Werbung für Fremdanbieter"})
    db.session.expire_all()
    assert db.session.get(PartnerProfile, partner.id).unpublished_reason == "Werbung für Fremdanbieter"
    assert client.get(f"/directory/partner/{partner.id}").status_code == 404
    audit = [e for e in make.audit_for(partner.address_id) if e.entity == "partner_profile"][-1]
    assert (audit.actor_label, audit.reason) == ("stefan", "Werbung für Fremdanbieter")


def test_partner_login_cannot_open_the_desk_category_pages(client, make):
    make.partner("nurpartner")
    login(client, "nurpartner")
    response = client.get("/desk/categories/list/")
    assert response.status_code == 403
    assert not re.search(r"Handwerk", response.get_data(as_text=True))


def test_a_category_in_use_is_not_deleted_and_staff_read_why(client, make):
    make.user("stefan", "Staff")
    login(client, "stefan")
    handwerk = category("Handwerk", "Crafts")
    elektro = category("Elektro", "Electrical", parent=handwerk)
    empty = category("Leer", "Empty")
    published_partner(make, "schulz", elektro)
    token = csrf_token(client, "/desk/categories/list/")
    for held, why in ((handwerk.id, "Unterbranchen"), (elektro.id, "Leistungen")):
        page = client.post(f"/desk/categories/delete/{held}", data={"csrf_token": token},
                           follow_redirects=True).get_data(as_text=True)
        assert f"Diese Branche hat {why}" in page, page[:3000]
        assert db.session.get(Category, held) is not None
    db.session.expire_all()
    assert db.session.get(Category, elektro.id).parent_id == handwerk.id  # the subcategory stays below
    client.post(f"/desk/categories/delete/{empty.id}", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Category, empty.id) is None
