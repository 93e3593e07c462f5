"""Money: voucher discounts and the VAT breakdown of a basket, cent-exact, Decimal only.

Prices are gross (B2C shop). A basket's VAT is computed per rate from the gross sum of
that rate: net = gross / (1 + rate), rounded half-up to the cent, VAT = gross - net. So the
rates' gross figures always add up to the order total, to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    """An article line of a basket (gross)."""

    article_no: str
    name: str
    quantity: int
    unit_gross: Decimal
    vat_rate: Decimal
    discountable: bool
    article_id: int | None = None

    @property
    def gross(self) -> Decimal:
        return cents(self.unit_gross * self.quantity)


@dataclass(frozen=True)
class RateTotal:
    rate: Decimal
    net: Decimal
    vat: Decimal
    gross: Decimal


def eligible_gross(lines: list[Line]) -> Decimal:
    """What a voucher may discount and what counts toward its minimum order value."""
    return sum((line.gross for line in lines if line.discountable), ZERO)


def split_discount(lines: list[Line], amount: Decimal, fixed_rate: Decimal | None = None
                   ) -> dict[Decimal, Decimal]:
    """The discount per VAT rate (positive amounts), never more than the eligible total.

    Proportional (default): each rate's share of the eligible gross, rounded to cents by
    the largest remainder so the shares add up exactly to the discount. Fixed: the whole
    discount at the voucher's rate.
    """
    per_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        if line.discountable:
            per_rate[Decimal(line.vat_rate)] += line.gross
    total = sum(per_rate.values(), ZERO)
    discount = min(cents(amount), total)
    if discount <= 0:
        return {}
    if fixed_rate is not None:
        return {Decimal(fixed_rate): discount}
    rates = sorted(per_rate, reverse=True)
    exact = {rate: discount * per_rate[rate] / total for rate in rates}
    floored = {rate: exact[rate].quantize(CENT, rounding="ROUND_DOWN") for rate in rates}
    left = int((discount - sum(floored.values(), ZERO)) / CENT)
    by_remainder = sorted(rates, key=lambda r: (exact[r] - floored[r], r), reverse=True)
    for rate in by_remainder[:left]:
        floored[rate] += CENT
    return {rate: share for rate, share in floored.items() if share > 0}


def vat_breakdown(gross_by_rate: dict[Decimal, Decimal]) -> list[RateTotal]:
    """Net, VAT and gross per rate, highest rate first."""
    result = []
    for rate in sorted(gross_by_rate, reverse=True):
        gross = cents(gross_by_rate[rate])
        net = cents(gross / (1 + Decimal(rate) / 100))
        result.append(RateTotal(rate=Decimal(rate), net=net, vat=gross - net, gross=gross))
    return result


def vat_of(vat_lines) -> list[RateTotal]:
    """Net, VAT and gross per rate of (VAT rate, line gross) pairs: an order's or invoice's lines."""
    gross_by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for rate, line_gross in vat_lines:
        gross_by_rate[Decimal(rate)] += line_gross
    return vat_breakdown(dict(gross_by_rate))


def basket_totals(lines: list[Line], discount_by_rate: dict[Decimal, Decimal]) -> list[RateTotal]:
    gross_by_rate: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        gross_by_rate[Decimal(line.vat_rate)] += line.gross
    for rate, share in discount_by_rate.items():
        gross_by_rate[Decimal(rate)] -= share
    return vat_breakdown(dict(gross_by_rate))
