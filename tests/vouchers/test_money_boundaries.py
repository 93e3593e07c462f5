"""Money to the cent: who gets the leftover cent, signs of discounted sums, half-up rounding."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from decimal import Decimal as D

import pytest

from backoffice.services.money import (
    Line,
    RateTotal,
    basket_totals,
    cents,
    eligible_gross,
    split_discount,
    vat_breakdown,
    vat_of,
)


def line(gross: str, rate: str, discountable: bool = True, quantity: int = 1) -> Line:
    return Line("A", "A", quantity, D(gross), D(rate), discountable)


@pytest.mark.parametrize(("value", "expected"), [
    ("0.005", "0.01"), ("0.015", "0.02"), ("0.025", "0.03"),   # half up, not to even
    ("0.0049", "0.00"), ("-0.005", "-0.01"), ("2.675", "2.68"), ("7", "7.00"),
])
def test_cents_round_half_up(value, expected):
    assert str(cents(D(value))) == expected


@pytest.mark.parametrize(("lines", "amount", "shares"), [
    # The lower rate has the larger remainder: 0.3333… and 0.6666…, the cent goes to 7 %.
    ([line("5.00", "19"), line("10.00", "7")], "1.00", {"19": "0.33", "7": "0.67"}),
    # The higher rate has it: 4.1182… and 0.8817….
    ([line("19.99", "19"), line("4.28", "7")], "5.00", {"19": "4.12", "7": "0.88"}),
    # Equal remainders: the higher rate first; a rate left with nothing is not listed.
    ([line("10.00", "19"), line("10.00", "7")], "0.01", {"19": "0.01"}),
    # Three rates, two leftover cents: 0.3333… each, remainders equal → 19 % and 7 %.
    ([line("10.00", "19"), line("10.00", "7"), line("10.00", "0")], "1.00",
     {"19": "0.34", "7": "0.33", "0": "0.33"}),
    # Three rates, two leftover cents for the lower rates: 0.014, 0.007, 0.049.
    ([line("2.00", "19"), line("1.00", "7"), line("7.00", "0")], "0.07",
     {"19": "0.01", "7": "0.01", "0": "0.05"}),
    # Capped at the eligible total; lines that may not be discounted do not count.
    ([line("4.28", "7"), line("30.00", "7", discountable=False)], "100.00", {"7": "4.28"}),
    ([line("8.00", "19"), line("2.00", "7")], "10.00", {"19": "8.00", "7": "2.00"}),
    ([line("30.00", "19", discountable=False)], "5.00", {}),
    ([line("10.00", "19")], "0.00", {}),
    ([line("10.00", "19")], "0.004", {}),          # rounds to nothing
    ([line("10.00", "19")], "0.005", {"19": "0.01"}),
])
def test_proportional_split(lines, amount, shares):
    assert split_discount(lines, D(amount)) == {D(rate): D(share) for rate, share in shares.items()}


@pytest.mark.parametrize(("amount", "shares"), [
    ("5.00", {"7": "5.00"}), ("50.00", {"7": "24.27"}), ("0.00", {}),
])
def test_fixed_rate_split_puts_everything_on_the_vouchers_rate(amount, shares):
    lines = [line("19.99", "19"), line("4.28", "7"), line("9.00", "0", discountable=False)]
    assert split_discount(lines, D(amount), D("7")) == {D(r): D(s) for r, s in shares.items()}


def test_eligible_gross_and_line_gross():
    assert line("0.335", "19", quantity=3).gross == D("1.01")   # 1.005 rounded half up
    assert line("19.99", "19", quantity=2).gross == D("39.98")
    lines = [line("19.99", "19"), line("4.28", "7"), line("30.00", "7", discountable=False)]
    assert eligible_gross(lines) == D("24.27")
    assert eligible_gross([]) == D("0.00")


def totals(*rows):
    return [RateTotal(D(rate), D(net), D(vat), D(gross)) for rate, net, vat, gross in rows]


def test_vat_breakdown_per_rate_highest_first():
    assert vat_breakdown({D("0"): D("10"), D("7"): D("107.00"), D("19"): D("119.00")}) == totals(
        ("19", "100.00", "19.00", "119.00"), ("7", "100.00", "7.00", "107.00"),
        ("0", "10.00", "0.00", "10.00"))
    # 15.87 / 1.19 = 13.336… → 13.34; 3.40 / 1.07 = 3.177… → 3.18
    assert vat_breakdown({D("19"): D("15.87"), D("7"): D("3.40")}) == totals(
        ("19", "13.34", "2.53", "15.87"), ("7", "3.18", "0.22", "3.40"))


def test_a_discounted_basket_has_positive_sums_per_rate():
    lines = [line("19.99", "19"), line("4.28", "7")]
    shares = split_discount(lines, D("5.00"))
    assert basket_totals(lines, shares) == totals(("19", "13.34", "2.53", "15.87"),
                                                  ("7", "3.18", "0.22", "3.40"))
    assert basket_totals(lines, {}) == totals(("19", "16.80", "3.19", "19.99"),
                                              ("7", "4.00", "0.28", "4.28"))


def test_vat_of_an_invoices_lines_sums_discount_lines_with_their_sign():
    pairs = [(D("19"), D("19.99")), (D("7"), D("4.28")), (D("19"), D("-4.12")), (D("7"), D("-0.88"))]
    assert vat_of(pairs) == totals(("19", "13.34", "2.53", "15.87"), ("7", "3.18", "0.22", "3.40"))
    # A cancellation invoice: every line negative, every sum negative.
    assert vat_of([(rate, -gross) for rate, gross in pairs]) == totals(
        ("19", "-13.34", "-2.53", "-15.87"), ("7", "-3.18", "-0.22", "-3.40"))


def test_a_priced_line_and_a_rate_total_cannot_change_once_built():
    """The check prices the basket and the order writes those very lines and sums: a line or
    total changed in between would make the invoice disagree with the answer the shop got."""
    priced = line("19.99", "19")
    total = RateTotal(D("19"), D("16.80"), D("3.19"), D("19.99"))
    with pytest.raises(FrozenInstanceError):
        priced.quantity = 2
    with pytest.raises(FrozenInstanceError):
        total.gross = D("0.00")
    assert (priced.gross, total.gross) == (D("19.99"), D("19.99"))
