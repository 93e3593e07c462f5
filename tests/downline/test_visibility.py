"""What a sponsor sees of its downline: every field per scope, contact data (e-mail, phone,
street) only with consent and never for deeper levels, the staff's settings stored exactly."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from backoffice.models import DownlineVisibility
from downline import visibility

EVERYTHING = ["name", "type", "registered_at", "first_order_at", "postal_code", "city", "language",
              "registration_source", "email", "phone", "street"]
PERSON = {"name": "Erika Muster", "type": "customer", "registered_at": "2026-01-02",
          "first_order_at": "2026-01-03", "postal_code": "10115", "city": "Berlin", "language": "de",
          "registration_source": "shop", "email": "erika@example.org", "phone": "+49 30 1",
          "street": "Hauptstraße 1"}


def test_defaults_per_scope_in_display_order(ctx):
    assert visibility.fields_for(ctx, "firstline") == [
        "name", "type", "registered_at", "first_order_at", "postal_code", "city", "email", "phone"]
    assert visibility.fields_for(ctx, "deeper") == ["name", "type", "registered_at", "first_order_at"]
    assert visibility.fields_for(ctx, "new_customers") == [
        "name", "type", "registered_at", "postal_code", "city", "language", "email", "phone"]
    assert visibility.fields_for(ctx, None) == EVERYTHING


@pytest.mark.parametrize(("scope", "field", "may"), [
    ("firstline", "street", True), ("firstline", "email", True), ("firstline", "phone", True),
    ("new_customers", "street", True),
    ("deeper", "street", False), ("deeper", "email", False), ("deeper", "phone", False),
    ("deeper", "city", True), ("deeper", "language", True),
    ("firstline", "password", False), ("deeper", "password", False),
])
def test_which_fields_staff_may_switch_on(scope, field, may):
    assert visibility.allowed(scope, field) is may


def test_street_switched_on_for_the_firstline_shows_only_with_consent(ctx):
    shown = visibility.settings(ctx)
    shown["firstline"].add("street")
    shown["deeper"].add("street")   # not allowed: never stored, never shown
    visibility.save(ctx, shown)
    ctx.flush()
    assert visibility.fields_for(ctx, "firstline")[-1] == "street"
    assert "street" not in visibility.fields_for(ctx, "deeper")
    consented = {**PERSON, "consent_contact_by_sponsor": True}
    refused = {**PERSON, "consent_contact_by_sponsor": False}
    assert visibility.value(consented, "street", "firstline") == "Hauptstraße 1"
    assert visibility.value(refused, "street", "firstline") is None
    assert visibility.value(refused, "street", None) == "Hauptstraße 1"   # staff
    fields = visibility.fields_for(ctx, "firstline")
    assert visibility.shown_mask(EVERYTHING, "firstline", True, ctx) == tuple(f in fields for f in EVERYTHING)
    hidden_contact = visibility.shown_mask(EVERYTHING, "firstline", False, ctx)
    assert [f for f, shown in zip(EVERYTHING, hidden_contact, strict=True) if shown] == [
        "name", "type", "registered_at", "first_order_at", "postal_code", "city"]
    assert visibility.shown_mask(EVERYTHING, "deeper", True, ctx) == tuple(
        f in ("name", "type", "registered_at", "first_order_at") for f in EVERYTHING)
    assert visibility.shown_mask(EVERYTHING, None, False, ctx) == (True,) * len(EVERYTHING)


@pytest.mark.parametrize("field", ["email", "phone", "street"])
@pytest.mark.parametrize("scope", ["firstline", "new_customers", "deeper"])
def test_contact_fields_need_consent_in_every_sponsor_scope(field, scope):
    assert visibility.value({**PERSON, "consent_contact_by_sponsor": False}, field, scope) is None
    assert visibility.value({**PERSON, "consent_contact_by_sponsor": True}, field, scope) == PERSON[field]


@pytest.mark.parametrize("field", ["name", "city", "postal_code", "registered_at"])
def test_other_fields_need_no_consent(field):
    assert visibility.value({**PERSON, "consent_contact_by_sponsor": False}, field, "deeper") == PERSON[field]


def test_saved_settings_are_one_row_per_allowed_field_and_override_the_defaults(ctx):
    shown = {"firstline": {"name", "city", "street"}, "deeper": {"email", "language"},
             "new_customers": set()}
    visibility.save(ctx, shown)
    ctx.flush()
    rows = {(r.scope, r.field): r.visible for r in ctx.execute(sa.select(DownlineVisibility)).scalars()}
    assert len(rows) == 9 + 6 + 9   # every field of every scope, contact fields not for deeper
    assert rows[("firstline", "street")] is True and rows[("firstline", "email")] is False
    assert ("deeper", "email") not in rows and rows[("deeper", "language")] is True
    assert visibility.fields_for(ctx, "firstline") == ["name", "type", "city", "street"]
    assert visibility.fields_for(ctx, "deeper") == ["name", "type", "language"]
    assert visibility.fields_for(ctx, "new_customers") == ["name", "type"]
    # Saving again replaces every row.
    visibility.save(ctx, visibility.settings(ctx))
    ctx.flush()
    assert ctx.execute(sa.select(sa.func.count()).select_from(DownlineVisibility)).scalar() == 24


def test_a_stored_row_for_a_forbidden_field_is_ignored(ctx):
    ctx.add(DownlineVisibility(scope="deeper", field="street", visible=True))
    ctx.add(DownlineVisibility(scope="nowhere", field="city", visible=True))
    ctx.add(DownlineVisibility(scope="firstline", field="email", visible=False))
    ctx.flush()
    assert "street" not in visibility.fields_for(ctx, "deeper")
    assert "email" not in visibility.fields_for(ctx, "firstline")
    assert set(visibility.settings(ctx)) == {"firstline", "deeper", "new_customers"}


@pytest.mark.parametrize(("sponsor_id", "viewer_root_id", "scope"), [
    (1_000_001, None, None), (1_000_001, 1_000_001, "firstline"), (1_000_002, 1_000_001, "deeper"),
    (None, 1_000_001, "deeper"),
])
def test_member_scope(sponsor_id, viewer_root_id, scope):
    assert visibility.member_scope(sponsor_id, viewer_root_id) == scope
