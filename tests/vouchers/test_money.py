"""Money sums to the cent on mixed 7 %/19 % baskets (property-based)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.services.money import Line, basket_totals, eligible_gross, split_discount

prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2)
line = st.builds(Line, article_no=st.just("A"), name=st.just("A"), quantity=st.integers(1, 20),
                 unit_gross=prices, vat_rate=st.sampled_from([Decimal("19"), Decimal("7"), Decimal("0")]),
                 discountable=st.booleans())
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("200"), places=2)


@settings(max_examples=300, deadline=None)
@given(st.lists(line, min_size=1, max_size=8), amounts)
def test_proportional_discount_is_cent_exact_and_capped(lines, amount):
    shares = split_discount(lines, amount)
    eligible = eligible_gross(lines)
    total = sum(shares.values(), Decimal("0"))
    assert total == min(amount, eligible)
    for rate, share in shares.items():
        assert share > 0 and share == share.quantize(Decimal("0.01"))
        rate_eligible = sum((x.gross for x in lines if x.discountable and x.vat_rate == rate), Decimal(0))
        assert share <= rate_eligible
    rates = basket_totals(lines, shares)
    gross = sum((x.gross for x in lines), Decimal(0)) - total
    assert sum((r.gross for r in rates), Decimal(0)) == gross
    for r in rates:
        assert r.net + r.vat == r.gross
        assert abs(r.net * (1 + r.rate / 100) - r.gross) <= Decimal("0.01")


@settings(max_examples=100, deadline=None)
@given(st.lists(line, min_size=1, max_size=8), amounts)
def test_fixed_rate_discount_is_one_share(lines, amount):
    shares = split_discount(lines, amount, Decimal("7"))
    assert sum(shares.values(), Decimal(0)) == min(amount, eligible_gross(lines))
    assert set(shares) <= {Decimal("7")}


def test_mixed_basket_example():
    lines = [Line("S", "Shirt", 1, Decimal("19.99"), Decimal("19"), True),
             Line("T", "Tee", 1, Decimal("4.28"), Decimal("7"), True)]
    shares = split_discount(lines, Decimal("5.00"))
    # 5 × 19.99 / 24.27 = 4.1182…, 5 × 4.28 / 24.27 = 0.8817…: largest remainder gives 0.88.
    assert shares == {Decimal("19"): Decimal("4.12"), Decimal("7"): Decimal("0.88")}
    rates = {r.rate: r for r in basket_totals(lines, shares)}
    assert rates[Decimal("19")].gross == Decimal("15.87") and rates[Decimal("19")].net == Decimal("13.34")
    assert rates[Decimal("7")].gross == Decimal("3.40") and rates[Decimal("7")].net == Decimal("3.18")
