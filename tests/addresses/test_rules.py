"""The one set of rules that forms, API and imports share."""

from datetime import date
from decimal import Decimal

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.rules import (
    RuleViolations,
    apply_rules,
    clean_address,
    clean_article,
    clean_partner,
    normalize_email,
)
from downline.sponsors import SponsorCycleError, SponsorMissingError, check_sponsor, upline_ids


def test_email_is_normalised_and_checked(ctx):
    values, errors = clean_address(ctx, {"last_name": "A", "email": " Erika.Muster@Example.ORG "})
    assert not errors and values["email"] == "erika.muster@example.org"
    _, errors = clean_address(ctx, {"last_name": "A", "email": "erika@"})
    assert "email" in errors


@pytest.mark.parametrize("country,code,ok", [
    ("DE", "10115", True), ("DE", "1011", False), ("DE", "1011A", False),
    ("AT", "1010", True), ("AT", "10100", False), ("NL", "1012 AB", True), ("CH", "8001", True),
])
def test_postal_code_depends_on_country(ctx, country, code, ok):
    _, errors = clean_address(ctx, {"last_name": "A", "country": country, "postal_code": code})
    assert ("postal_code" not in errors) is ok


def test_unknown_country_is_rejected(ctx):
    _, errors = clean_address(ctx, {"last_name": "A", "country": "XX"})
    assert "country" in errors


def test_email_and_external_key_are_unique(ctx, make):
    existing = make.address(email="dup@example.org", external_key="K-1")
    _, errors = clean_address(ctx, {"last_name": "B", "email": "DUP@example.org", "external_key": "K-1"})
    assert set(errors) >= {"email", "external_key"}
    _, errors = clean_address(ctx, {"last_name": "B", "email": "dup@example.org", "external_key": "K-1"},
                              own_id=existing.id)
    assert not errors  # an address does not collide with itself


def test_iban_is_validated_and_compacted(ctx, make):
    address = make.address()
    base = {"address_id": address.id, "subdomain": "erika", "mandate_reference": "M-1",
            "mandate_date": date(2026, 1, 1)}
    values, errors = clean_partner(ctx, {**base, "iban": "de89 3704 0044 0532 0130 00"})
    assert not errors and values["iban"] == "DE89370400440532013000"
    _, errors = clean_partner(ctx, {**base, "iban": "DE89370400440532013001"})
    assert "iban" in errors


def test_mandate_needs_all_its_parts(ctx, make):
    address = make.address()
    _, errors = clean_partner(ctx, {"address_id": address.id, "subdomain": "erika",
                                    "iban": "DE89370400440532013000"})
    assert {"mandate_reference", "mandate_date"} <= set(errors)


@pytest.mark.parametrize("subdomain", ["ab", "www", "-meier", "meier-", "mei er", "x" * 64])
def test_bad_subdomains(ctx, make, subdomain):
    address = make.address()
    _, errors = clean_partner(ctx, {"address_id": address.id, "subdomain": subdomain})
    assert "subdomain" in errors


def test_subdomain_unique_case_insensitive(ctx, make):
    make.partner("meier")
    address = make.address()
    _, errors = clean_partner(ctx, {"address_id": address.id, "subdomain": "MEIER"})
    assert "subdomain" in errors


def test_partner_needs_an_existing_address(ctx):
    _, errors = clean_partner(ctx, {"address_id": 999_999, "subdomain": "erika"})
    assert "address_id" in errors


def test_article_price_and_vat(ctx):
    values, errors = clean_article(ctx, {"article_no": " A-1 ", "name": "Tee", "gross_price": "4.95",
                                         "vat_rate": "7"})
    assert not errors and values["gross_price"] == Decimal("4.95") and values["article_no"] == "A-1"
    _, errors = clean_article(ctx, {"article_no": "A-2", "name": "Tee", "gross_price": "4.955",
                                    "vat_rate": "16"})
    assert {"gross_price", "vat_rate"} <= set(errors)


def _chain(make, length):
    chain = [make.address(last_name="Kette0")]
    for i in range(1, length + 1):
        chain.append(make.address(last_name=f"Kette{i}", sponsor=chain[-1]))
    return chain


def test_sponsor_cycle_at_depth_one_is_refused(ctx, make):
    parent, child = _chain(make, 1)
    with pytest.raises(SponsorCycleError):
        check_sponsor(ctx, parent.id, child.id)


def test_sponsor_cycle_at_depth_ten_is_refused(ctx, make):
    chain = _chain(make, 10)
    with pytest.raises(SponsorCycleError):
        check_sponsor(ctx, chain[0].id, chain[-1].id)
    assert upline_ids(ctx, chain[-1].id) == [a.id for a in reversed(chain[:-1])]


def test_own_sponsor_and_missing_sponsor_are_refused(ctx, make):
    address = make.address()
    with pytest.raises(SponsorCycleError):
        check_sponsor(ctx, address.id, address.id)
    with pytest.raises(SponsorMissingError):
        check_sponsor(ctx, address.id, 987_654)


def test_moving_onto_an_unrelated_branch_is_fine(ctx, make):
    left, right = _chain(make, 3), _chain(make, 3)
    check_sponsor(ctx, left[1].id, right[-1].id)


def test_apply_rules_raises_with_field_messages(ctx, make):
    address = make.address()
    address.email = "kaputt"
    address.sponsor_id = address.id
    with pytest.raises(RuleViolations) as info:
        apply_rules(ctx, address)
    assert set(info.value.errors) == {"email", "sponsor_id"}


EMAIL_ALPHABET = "abcXYZ019._+-@"


@settings(max_examples=3000, deadline=None)
@given(st.one_of(
    st.text(alphabet=EMAIL_ALPHABET, min_size=1, max_size=30),
    st.builds(lambda a, b, c: f"{a}@{b}.{c}",
              st.text(alphabet="ab09._+-", min_size=1, max_size=70),
              st.text(alphabet="ab09.-", min_size=1, max_size=70),
              st.sampled_from(["de", "com", "test", "local", "museum", "c", "1a"])),
))
def test_email_fast_path_agrees_with_email_validator(value):
    """normalize_email's shortcut for plain addresses may never accept what email-validator
    refuses, nor change what it returns."""
    try:
        expected = validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    try:
        got = normalize_email(value)
    except ValueError:
        got = None
    assert got == expected
