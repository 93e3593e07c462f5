"""The directory's rules, called directly: who is findable, radius search, profiles, services."""

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from PIL import Image

from backoffice import transaction
from backoffice.demo import bulk_insert, seed_logins, seed_public_profiles
from backoffice.errors import NotFound, RuleViolations
from backoffice.extensions import db
from backoffice.models import PartnerProfile, Service
from backoffice.services import directory, profiles
from backoffice.services.categories import category_choices, clean_category
from tests.support.directory import category, published_partner

BERLIN, POTSDAM, MUNICH = "10115", "14467", "80331"


@pytest.fixture
def trades(ctx):
    handwerk = category("Handwerk", "Crafts")
    elektro = category("Elektro", "Electrical", parent=handwerk)
    design = category("Design", "Design")
    return handwerk, elektro, design


def _ids(result):
    return [hit.partner_id for hit in result.hits]


def test_only_published_listed_partners_with_an_active_service_are_findable(make, trades):
    _, elektro, _ = trades
    shown = published_partner(make, "shown", elektro)
    draft = published_partner(make, "draft", elektro, published=False)
    idle = published_partner(make, "idle", elektro, service_active=False)
    found = set(db.session.scalars(directory.findable_partners()))
    assert found == {shown.id}
    assert not directory.is_findable(db.session, draft.id)
    assert not directory.is_findable(db.session, idle.id)

    with transaction.unit_of_work() as session:
        session.get(PartnerProfile, shown.id).listed = False
    assert list(db.session.scalars(directory.findable_partners())) == []


def test_for_work_leaves_out_partners_who_are_away_or_unavailable(make, trades):
    from datetime import date

    _, elektro, _ = trades
    partner = published_partner(make, "busy", elektro)
    assert directory.is_findable(db.session, partner.id, for_work=True, today=date(2026, 12, 4))
    with transaction.unit_of_work() as session:
        session.get(PartnerProfile, partner.id).away_until = date(2026, 12, 24)
    assert not directory.is_findable(db.session, partner.id, for_work=True, today=date(2026, 12, 4))
    assert directory.is_findable(db.session, partner.id, for_work=True, today=date(2026, 12, 25))
    assert directory.is_findable(db.session, partner.id)  # still in the directory


def test_radius_search_finds_nearby_partners_nearest_first_and_germany_wide_ones(make, trades):
    handwerk, elektro, design = trades
    potsdam = published_partner(make, "potsdam", elektro, POTSDAM)
    berlin = published_partner(make, "berlin", elektro, BERLIN)
    munich = published_partner(make, "munich", elektro, MUNICH)
    everywhere = published_partner(make, "everywhere", elektro, MUNICH, germany_wide=True)
    published_partner(make, "designer", design, BERLIN)

    result = directory.search(db.session, category_id=elektro.id, postal_code=BERLIN, radius_km=50)
    assert _ids(result) == [berlin.id, potsdam.id, everywhere.id]
    assert result.hits[0].distance_km < 1 < result.hits[1].distance_km < 40
    assert munich.id not in _ids(result)
    # The top category finds its subcategories' partners.
    assert _ids(directory.search(db.session, category_id=handwerk.id, postal_code=BERLIN, radius_km=10)) == [
        berlin.id, everywhere.id]


def test_a_partners_own_radius_limits_where_it_is_found(make, trades):
    _, elektro, _ = trades
    published_partner(make, "local", elektro, POTSDAM, radius_km=5)
    assert directory.search(db.session, category_id=elektro.id, postal_code=BERLIN, radius_km=100).total == 0


def test_search_by_name_and_unknown_postal_code(make, trades):
    _, elektro, _ = trades
    published_partner(make, "sonne", elektro, display_name="Sonnenschein Elektrik")
    published_partner(make, "mond", elektro, display_name="Mondlicht 100%")
    assert [c.display_name for c in directory.cards(
        db.session, directory.search(db.session, name="sonnen").hits, "de")] == ["Sonnenschein Elektrik"]
    assert directory.search(db.session, name="100%").total == 1
    assert directory.search(db.session, name="%").total == 1  # a literal percent sign, no wildcard
    assert directory.search(db.session, name="_").total == 0
    with pytest.raises(RuleViolations) as refused:
        directory.search(db.session, postal_code="00000")
    assert "postal_code" in refused.value.errors


def test_partner_page_shows_active_services_with_packages_and_hides_the_rest(make, trades):
    _, elektro, _ = trades
    partner = published_partner(make, "page", elektro, packages=2)
    page = directory.partner_page(db.session, partner.id)
    assert page.place == "Berlin"
    assert [p.name for p in page.services[0].packages] == ["Paket 1", "Paket 2"]
    assert page.services[0].packages[1].price == Decimal("98.00")
    hidden = published_partner(make, "hidden", elektro, published=False)
    with pytest.raises(NotFound):
        directory.partner_page(db.session, hidden.id)


def test_profile_rules_report_each_field(make, trades):
    partner = make.partner("rules")
    with pytest.raises(RuleViolations) as refused:
        profiles.save_profile(db.session, partner.id, {
            "display_name": "", "postal_code": "99999", "radius_km": "0", "languages": ["xx"],
            "notification_email": "no-mail"})
    assert set(refused.value.errors) == {"display_name", "postal_code", "radius_km", "languages",
                                         "notification_email"}
    db.session.rollback()


def test_service_rules_and_scope(make, trades):
    _, elektro, _ = trades
    owner = published_partner(make, "owner", elektro)
    other = make.partner("other")
    service_id = db.session.scalar(sa.select(Service.id).where(Service.partner_id == owner.id))
    with pytest.raises(NotFound):
        profiles.save_service(db.session, other.id, {"category_id": elektro.id, "title": "x"}, [],
                              service_id=service_id)
    db.session.rollback()
    with pytest.raises(RuleViolations) as refused:
        profiles.save_service(db.session, owner.id, {"category_id": 999999, "title": "", "price_from": "-1"},
                              [profiles.PackageInput("Basis", None, "abc", "-2")])
    assert set(refused.value.errors) == {"category_id", "title", "price_from", "packages-0-price",
                                         "packages-0-delivery_days"}
    db.session.rollback()


def test_a_package_row_with_a_price_but_no_name_is_refused_and_blank_rows_are_left_out(make, trades):
    _, elektro, _ = trades
    owner = make.partner("owner")
    with pytest.raises(RuleViolations) as refused:
        profiles.save_service(db.session, owner.id, {"category_id": elektro.id, "title": "Licht"}, [
            profiles.PackageInput("", None, "", ""), profiles.PackageInput(" ", None, "20", "1")])
    assert refused.value.errors == {"packages-1-name": ["Dieses Feld ist erforderlich."]}
    db.session.rollback()
    service = profiles.save_service(db.session, owner.id, {"category_id": elektro.id, "title": "Licht"}, [
        profiles.PackageInput("", "", "", ""), profiles.PackageInput("Basis", None, "20", "1")])
    assert [(p.position, p.name, p.price) for p in service.packages] == [(0, "Basis", Decimal("20.00"))]
    db.session.rollback()


def test_the_search_counts_and_orders_all_candidates_beyond_one_page(make, trades):
    """More candidates than a page: the total counts all of them, the pages follow the distance."""
    _, elektro, _ = trades
    for n, code in enumerate(["10115", "10117", "10178", "10243", "10315", "14467"]):
        published_partner(make, f"p{n}", elektro, code, radius_km=100)
    where = {"category_id": elektro.id, "postal_code": BERLIN, "radius_km": 50, "page_size": 4}
    first = directory.search(db.session, **where)
    second = directory.search(db.session, page=2, **where)
    assert (first.total, first.pages, second.total) == (6, 2, 6)
    distances = [h.distance_km for h in first.hits + second.hits]
    assert distances == sorted(distances) and distances[0] == 0.0
    assert len({h.partner_id for h in first.hits + second.hits}) == 6


def test_distances_of_many_points_agree_with_the_single_haversine():
    points = [(52.52, 13.40), (48.14, 11.58), (53.55, 9.99), (None, None)]
    many = directory.distances_km(50.94, 6.96, [p[0] for p in points], [p[1] for p in points]).tolist()
    for (lat, lon), distance in zip(points[:3], many[:3], strict=True):
        assert abs(distance - directory.haversine_km(50.94, 6.96, lat, lon)) < 1e-9
    assert many[3] != many[3]  # NaN: a missing place passes no radius


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_pictures_are_judged_by_content_not_by_name(tmp_path):
    assert profiles.picture_extension(_png()) == "png"
    name = profiles.store_picture(_png(), tmp_path)
    assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    for bad in (b"MZ\x90\x00 an executable", b"%PDF-1.4", _png()[:40]):
        with pytest.raises(RuleViolations):
            profiles.picture_extension(bad)
    with pytest.raises(RuleViolations):
        profiles.picture_extension(b"\xff" * (profiles.PICTURE_MAX_BYTES + 1))


def test_staff_unpublish_with_a_reason_is_audited(make, trades, app):
    _, elektro, _ = trades
    partner = published_partner(make, "audited", elektro)
    with pytest.raises(RuleViolations):
        profiles.unpublish(db.session, partner.id, " ")
    with app.test_request_context(), transaction.unit_of_work() as session:
        profiles.unpublish(session, partner.id, "Irreführende Angaben")
    profile = db.session.get(PartnerProfile, partner.id)
    assert not profile.published and profile.unpublished_reason == "Irreführende Angaben"
    # Publishing and unpublishing are both on the audit trail; the last entry is staff's.
    row = [e for e in make.audit_for(partner.address_id) if e.entity == "partner_profile"][-1]
    assert (row.field, row.old_value, row.new_value, row.reason) == (
        "published", "True", "False", "Irreführende Angaben")
    assert not directory.is_findable(db.session, partner.id)


def test_notification_email_defaults_to_the_owners(make):
    partner = make.partner("mailer")
    assert profiles.notification_email(partner) == "mailer@partnerdesk.test"
    partner.notification_email = "team@example.org"
    assert profiles.notification_email(partner) == "team@example.org"
    db.session.rollback()


def test_categories_have_two_levels_and_two_languages(trades):
    handwerk, elektro, design = trades
    _, errors = clean_category(db.session, {"name_de": "Kabel", "name_en": "", "parent_id": elektro.id})
    assert set(errors) == {"name_en", "parent"}
    _, errors = clean_category(db.session, {"name_de": "Handwerk", "name_en": "Crafts",
                                            "parent_id": design.id}, own_id=handwerk.id)
    assert "parent" in errors
    labels = [c.label for c in category_choices(db.session, "en")]
    assert labels == ["Crafts", "Crafts › Electrical", "Design"]


def test_demo_data_has_published_profiles_in_several_categories_and_places(app, ctx, ids_high_again):
    bulk_insert(ctx, 600)
    seed_logins(ctx, app.appbuilder.sm)
    with transaction.unit_of_work() as session:
        profiles_count, services_count = seed_public_profiles(session, limit=50)
    assert profiles_count == 50 and services_count == 150
    categories = ctx.scalars(sa.select(sa.func.count(sa.distinct(Service.category_id)))).one()
    places = ctx.scalars(sa.select(sa.func.count(sa.distinct(PartnerProfile.postal_code)))).one()
    assert categories >= 5 and places >= 20
    meier = ctx.scalars(sa.select(PartnerProfile).join(PartnerProfile.partner)
                        .where(sa.text("partner.subdomain = 'meier'"))).one()
    page = directory.partner_page(ctx, meier.partner_id)
    assert len(page.services) == 3 and all(len(s.packages) == 3 for s in page.services)


def test_prices_read_the_german_and_the_english_way_and_anything_else_is_refused_at_its_field(make, trades):
    _, elektro, _ = trades
    owner = make.partner("owner")
    service = profiles.save_service(db.session, owner.id, {
        "category_id": elektro.id, "title": "Licht", "price_from": "1.234,56 €"}, [
        profiles.PackageInput("Basis", None, "49,90", "1"),
        profiles.PackageInput("Groß", None, "1234.5", "2"),
        profiles.PackageInput("Mittel", None, "1.000", "3")])
    assert service.price_from == Decimal("1234.56")
    assert [p.price for p in service.packages] == [Decimal("49.90"), Decimal("1234.50"), Decimal("1000.00")]
    db.session.rollback()
    with pytest.raises(RuleViolations) as refused:
        profiles.save_service(db.session, owner.id, {"category_id": elektro.id, "title": "Licht"}, [
            profiles.PackageInput("Basis", None, "12,34,5", "1")])
    assert refused.value.errors == {
        "packages-0-price": ["Schreiben Sie den Betrag als 1.234,56 oder 1234.56."]}
    db.session.rollback()
