"""Voucher checks on their boundaries: the first and last valid day, the minute a window
opens and closes, the last use of a maximum, the minimum order value to the cent.

All times are fixed: Monday 15 June 2026, company time Europe/Berlin (UTC+2 in summer).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from backoffice.models import AddressType, VatMode, VoucherKind
from backoffice.services.vouchers import basket, check
from tests.support.vouchers import cancel, ordered, voucher_with_code

TODAY = date(2026, 6, 15)  # a Monday
DAY = timedelta(days=1)


def berlin(day: date, hour: int, minute: int = 0) -> datetime:
    """A Berlin wall-clock time in June (CEST, UTC+2) as the aware UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=2)


NOON = berlin(TODAY, 12)

MESSAGES = {
    "unknown": "Diesen Gutscheincode gibt es nicht.",
    "expired": "Dieser Gutschein ist abgelaufen.",
    "not_yet_valid": "Dieser Gutschein ist noch nicht gültig.",
    "outside_time_window": "Dieser Gutschein kann zu diesem Zeitpunkt nicht eingelöst werden.",
    "min_order_value": "Die Bestellung erreicht den Mindestbestellwert des Gutscheins nicht.",
    "not_new_customer": "Dieser Gutschein gilt nur für Neukunden.",
    "used_up": "Dieser Gutschein ist bereits aufgebraucht.",
    "not_for_this_customer": "Dieser Gutschein gilt für einen anderen Kunden.",
    "no_eligible_articles": "Keiner der Artikel darf mit diesem Gutschein rabattiert werden.",
}


@pytest.fixture
def shop(make):
    return {
        "shirt": make.article(article_no="SHIRT", gross_price=Decimal("19.99"), vat_rate=Decimal("19")),
        "tea": make.article(article_no="TEA", gross_price=Decimal("4.28"), vat_rate=Decimal("7")),
        "book": make.article(article_no="BOOK", gross_price=Decimal("30.00"), vat_rate=Decimal("7"),
                             discountable_by_absolute_vouchers=False),
    }


def order(**quantities):
    return [{"article_no": no.upper(), "quantity": q} for no, q in quantities.items()]


def verdict(ctx, code="CODE", customer=None, when=NOON, **quantities):
    """(valid, reason, message) of checking `code` for the basket at `when`."""
    result = check(ctx, code, basket(ctx, order(**(quantities or {"shirt": 1}))), customer, now=when)
    return result.valid, result.reason, result.message


def accepted():
    return True, None, None


def refused(reason):
    return False, reason, MESSAGES[reason]


@pytest.mark.parametrize(("values", "reason"), [
    ({"valid_on": TODAY}, None),                      # a one-day voucher on its day
    ({"valid_on": TODAY + DAY}, "not_yet_valid"),
    ({"valid_on": TODAY - DAY}, "expired"),
    ({"valid_from": TODAY}, None),                    # its first day
    ({"valid_from": TODAY - DAY}, None),
    ({"valid_from": TODAY + DAY}, "not_yet_valid"),
    ({"valid_until": TODAY}, None),                   # its last day
    ({"valid_until": TODAY + DAY}, None),
    ({"valid_until": TODAY - DAY}, "expired"),
    ({"valid_from": TODAY, "valid_until": TODAY}, None),
    ({"valid_from": TODAY + DAY, "valid_until": TODAY + 2 * DAY}, "not_yet_valid"),
], ids=lambda v: repr(v))
def test_validity_dates_on_their_boundary(ctx, shop, values, reason):
    voucher_with_code("CODE", **values)
    assert verdict(ctx) == (refused(reason) if reason else accepted())


@pytest.mark.parametrize(("when", "values", "valid"), [
    # 00:30 in Berlin is still 22:30 UTC of the day before: the company's date counts.
    (berlin(TODAY, 0, 30), {"valid_from": TODAY}, True),
    (berlin(TODAY, 0, 30), {"valid_on": TODAY}, True),
    (berlin(TODAY, 23, 30), {"valid_until": TODAY}, True),   # 21:30 UTC, same day
    (berlin(TODAY + DAY, 0, 30), {"valid_until": TODAY}, False),
])
def test_dates_are_the_company_calendar_day(ctx, shop, when, values, valid):
    voucher_with_code("CODE", **values)
    assert verdict(ctx, when=when)[0] is valid


OFFICE = {"window_weekdays": "12345", "window_start": time(9, 0), "window_end": time(17, 0)}
SUNDAY, SATURDAY, FRIDAY = TODAY - DAY, TODAY - 2 * DAY, TODAY + 4 * DAY


@pytest.mark.parametrize(("window", "when", "inside"), [
    (OFFICE, berlin(TODAY, 9, 0), True),          # opens on the minute
    (OFFICE, berlin(TODAY, 8, 59), False),
    (OFFICE, berlin(TODAY, 16, 59), True),
    (OFFICE, berlin(TODAY, 17, 0), False),        # the end is exclusive
    (OFFICE, berlin(TODAY, 21, 0), False),        # the evening
    (OFFICE, berlin(TODAY, 3, 0), False),         # the night before opening
    (OFFICE, berlin(FRIDAY, 12), True),
    (OFFICE, berlin(SATURDAY, 12), False),
    (OFFICE, berlin(SUNDAY, 12), False),
    # Weekdays only, no times: the whole day.
    ({"window_weekdays": "67"}, berlin(SUNDAY, 0, 0), True),
    ({"window_weekdays": "67"}, berlin(SATURDAY, 23, 59), True),
    ({"window_weekdays": "67"}, berlin(TODAY, 12), False),
    ({"window_weekdays": "1"}, berlin(TODAY, 12), True),
    # Only a start time: from then to midnight, every day.
    ({"window_start": time(18, 0)}, berlin(TODAY, 17, 59), False),
    ({"window_start": time(18, 0)}, berlin(TODAY, 18, 0), True),
    ({"window_start": time(18, 0)}, berlin(SUNDAY, 23, 59), True),
    # Only an end time: from midnight to then.
    ({"window_end": time(12, 0)}, berlin(TODAY, 0, 0), True),
    ({"window_end": time(12, 0)}, berlin(TODAY, 11, 59), True),
    ({"window_end": time(12, 0)}, berlin(TODAY, 12, 0), False),
    # Wrapping midnight, Mondays only: Monday night into Tuesday morning.
    ({"window_weekdays": "1", "window_start": time(22, 0), "window_end": time(4, 0)},
     berlin(TODAY, 22, 0), True),
    ({"window_weekdays": "1", "window_start": time(22, 0), "window_end": time(4, 0)},
     berlin(TODAY, 21, 59), False),
    ({"window_weekdays": "1", "window_start": time(22, 0), "window_end": time(4, 0)},
     berlin(TODAY + DAY, 3, 59), True),
    ({"window_weekdays": "1", "window_start": time(22, 0), "window_end": time(4, 0)},
     berlin(TODAY + DAY, 4, 0), False),
    ({"window_weekdays": "1", "window_start": time(22, 0), "window_end": time(4, 0)},
     berlin(TODAY, 3, 0), False),                 # Monday early: the night from Sunday
    ({"window_weekdays": "1", "window_start": time(22, 0), "window_end": time(4, 0)},
     berlin(TODAY + DAY, 22, 30), False),         # Tuesday night
    # Start and end equal: a full day from that time (wraps).
    ({"window_weekdays": "1", "window_start": time(6, 0), "window_end": time(6, 0)},
     berlin(TODAY + DAY, 5, 59), True),
    ({"window_weekdays": "1", "window_start": time(6, 0), "window_end": time(6, 0)},
     berlin(TODAY, 5, 59), False),
], ids=lambda v: v.isoformat() if isinstance(v, datetime) else repr(v))
def test_time_windows_on_their_boundary(ctx, shop, window, when, inside):
    voucher_with_code("CODE", **window)
    assert verdict(ctx, when=when) == (accepted() if inside else refused("outside_time_window"))


@pytest.mark.parametrize(("minimum", "quantities", "reason"), [
    (Decimal("19.99"), {"shirt": 1}, None),                   # exactly the minimum
    (Decimal("20.00"), {"shirt": 1}, "min_order_value"),      # a cent short
    (Decimal("24.27"), {"shirt": 1, "tea": 1}, None),
    (Decimal("24.28"), {"shirt": 1, "tea": 1, "book": 1}, "min_order_value"),  # book does not count
])
def test_minimum_order_value_to_the_cent(ctx, shop, minimum, quantities, reason):
    voucher_with_code("CODE", min_order_value=minimum)
    assert verdict(ctx, **quantities) == (refused(reason) if reason else accepted())


@pytest.mark.parametrize("price", [Decimal("0.01"), Decimal("1.00"), Decimal("1.01")])
def test_a_basket_worth_a_cent_or_a_euro_is_discounted_up_to_its_value(ctx, make, price):
    """Any eligible amount above zero takes the voucher (never more than the basket)."""
    make.article(article_no="PIN", gross_price=price, vat_rate=Decimal("19"))
    voucher_with_code("CODE", amount=Decimal("5.00"))
    result = check(ctx, "code", basket(ctx, order(pin=1)), None, now=NOON)
    assert (result.valid, result.reason, result.discount, result.discount_by_rate) == \
        (True, None, price, {Decimal("19"): price})


@pytest.mark.parametrize(("max_total", "redeemed", "reason"), [
    (3, 2, None), (3, 3, "used_up"), (1, 0, None), (0, 0, "used_up"),
])
def test_total_maximum_allows_exactly_that_many(ctx, shop, max_total, redeemed, reason):
    voucher, _ = voucher_with_code("CODE", max_total=max_total)
    voucher.redeemed_count = redeemed
    ctx.commit()
    assert verdict(ctx) == (refused(reason) if reason else accepted())


@pytest.mark.parametrize(("kind", "redeemed", "reason"), [
    (VoucherKind.single, 0, None), (VoucherKind.single, 1, "used_up"),
    (VoucherKind.permanent, 7, None),
])
def test_a_single_code_once_a_permanent_code_again_and_again(ctx, shop, kind, redeemed, reason):
    _, code = voucher_with_code("CODE", kind=kind)
    code.redeemed_count = redeemed
    ctx.commit()
    assert verdict(ctx) == (refused(reason) if reason else accepted())


def test_per_customer_maximum_counts_only_this_customers_unreleased_uses(ctx, make, shop):
    voucher_with_code("ONCE", max_per_customer=1)
    customer, other = make.address(), make.address()
    assert verdict(ctx, "once", customer) == accepted()
    first = ordered(ctx, "o-1", customer.id, order(shirt=1), "once")
    assert verdict(ctx, "once", customer) == refused("used_up")
    assert verdict(ctx, "once", other) == accepted()
    cancel(ctx, first.id)
    assert verdict(ctx, "once", customer) == accepted()


@pytest.mark.parametrize(("type_", "reason"), [
    (AddressType.new_customer, None), (AddressType.customer, "not_new_customer"),
    (AddressType.partner, "not_new_customer"),
])
def test_new_customers_only(ctx, make, shop, type_, reason):
    voucher_with_code("NEW", new_customers_only=True)
    assert verdict(ctx, "new", make.address(type=type_)) == (refused(reason) if reason else accepted())


def test_reserved_for_one_customer_on_the_voucher_or_on_the_code(ctx, make, shop):
    owner, stranger = make.address(), make.address()
    voucher_with_code("MINE", for_customer_id=owner.id)
    _, code = voucher_with_code("ALSOMINE")
    code.for_customer_id = owner.id
    ctx.commit()
    for name in ("mine", "alsomine"):
        assert verdict(ctx, name, owner) == accepted()
        assert verdict(ctx, name, stranger) == refused("not_for_this_customer")
        assert verdict(ctx, name, None) == refused("not_for_this_customer")


def test_unknown_inactive_and_ineligible(ctx, shop):
    voucher, code = voucher_with_code("CODE")
    assert verdict(ctx, "  code ") == accepted()   # case and blanks do not matter
    assert verdict(ctx, "nope") == refused("unknown")
    assert verdict(ctx, "", book=1) == refused("unknown")
    assert verdict(ctx, book=1) == refused("no_eligible_articles")
    code.active = False
    ctx.commit()
    assert verdict(ctx) == refused("unknown")
    code.active, voucher.active = True, False
    ctx.commit()
    assert verdict(ctx) == refused("unknown")


def test_an_accepted_check_names_the_discount_per_rate(ctx, shop):
    voucher_with_code("PROP", amount=Decimal("5.00"))
    voucher_with_code("FIX", amount=Decimal("5.00"), vat_mode=VatMode.fixed, fixed_vat_rate=Decimal("7"))
    proportional = check(ctx, "prop", basket(ctx, order(shirt=1, tea=1)), None, now=NOON)
    assert (proportional.valid, proportional.discount, proportional.discount_by_rate) == \
        (True, Decimal("5.00"), {Decimal("19"): Decimal("4.12"), Decimal("7"): Decimal("0.88")})
    assert proportional.voucher.name == "5 € für Neukunden" and proportional.code.code == "PROP"
    fixed = check(ctx, "fix", basket(ctx, order(shirt=1, tea=1)), None, now=NOON)
    assert (fixed.discount, fixed.discount_by_rate) == (Decimal("5.00"), {Decimal("7"): Decimal("5.00")})
