"""The voucher story through the service layer (no HTTP)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice.api.shop import order_json
from backoffice.errors import Conflict, DomainError
from backoffice.extensions import db
from backoffice.models import (
    AddressType,
    Invoice,
    InvoiceKind,
    LineKind,
    Order,
    OrderStatus,
    Redemption,
    VatMode,
    Voucher,
    VoucherCode,
    VoucherKind,
)
from backoffice.services.vouchers import (
    UNAMBIGUOUS,
    VoucherRefused,
    basket,
    check,
    create_partner_code,
    generate_codes,
)
from tests.support.vouchers import (
    cancel,
    checkout,
    new_customer_voucher,
    ordered,
    permanent_voucher,
    voucher_with_code,
)


@pytest.fixture
def shop(make):
    """Articles at 19 % and 7 %, one that may not be discounted."""
    return {
        "shirt": make.article(article_no="SHIRT", gross_price=Decimal("19.99"), vat_rate=Decimal("19")),
        "tea": make.article(article_no="TEA", gross_price=Decimal("4.28"), vat_rate=Decimal("7")),
        "book": make.article(article_no="BOOK", gross_price=Decimal("30.00"), vat_rate=Decimal("7"),
                             discountable_by_absolute_vouchers=False),
    }


def lines(**quantities):
    return [{"article_no": no.upper(), "quantity": q} for no, q in quantities.items()]


def test_new_customer_joins_firstline_of_code_owner(ctx, make, shop):
    voucher = new_customer_voucher()
    meier = make.partner("meier")
    other = make.partner("schulz")
    code = create_partner_code(ctx, meier, voucher.id, "vonmeier")
    ctx.commit()
    visitor = make.address(sponsor=other.address)  # registered on Schulz's subdomain

    result = check(ctx, "VonMeier", basket(ctx, lines(shirt=1, tea=1)), visitor)
    assert result.valid and result.discount == Decimal("5.00")

    order = ordered(ctx, "shop-1", visitor.id, lines(shirt=1, tea=1), "VonMeier")
    assert order.discount == Decimal("5.00")
    assert order.total_gross == Decimal("19.27")  # 19.99 + 4.28 - 5.00
    voucher_lines = [line for line in order.lines if line.kind == LineKind.voucher]
    assert sum(-line.line_gross for line in voucher_lines) == Decimal("5.00")
    assert {line.vat_rate for line in voucher_lines} == {Decimal("19"), Decimal("7")}
    db.session.expire_all()
    visitor = db.session.get(type(visitor), visitor.id)
    assert visitor.type == AddressType.customer and visitor.first_order_at is not None
    assert visitor.sponsor_id == meier.address_id
    entries = make.audit_for(visitor.id)
    moves = [e for e in entries if e.field == "sponsor_id" and e.new_value == str(meier.address_id)]
    assert moves and moves[-1].actor_label == "shop api" and "vonmeier" in moves[-1].reason.lower()
    assert db.session.get(Voucher, voucher.id).redeemed_count == 1
    assert db.session.get(VoucherCode, code.id).redeemed_count == 1
    invoice = order.invoices[0]
    assert invoice.total_gross == order.total_gross

    # Never again a new-customer voucher for this address.
    again = check(ctx, "vonmeier", basket(ctx, lines(shirt=2)), visitor)
    assert not again.valid and again.reason == "not_new_customer"
    with pytest.raises(VoucherRefused) as refused:
        checkout(ctx, "shop-2", visitor.id, lines(shirt=2), "VONMEIER")
    assert refused.value.reason == "not_new_customer"
    assert ctx.execute(sa.select(sa.func.count(Order.id))).scalar() == 1


def test_repeating_an_order_returns_the_first_result(ctx, make, shop):
    _, code = voucher_with_code("SOMMER5")
    customer = make.address()
    first = checkout(ctx, "ext-7", customer.id, lines(shirt=2), "sommer5")
    second = checkout(ctx, "ext-7", customer.id, lines(shirt=2), " SOMMER5 ")
    assert second.repeated and second.order_id == first.order_id
    assert order_json(second)["total_gross"] == "34.98"
    assert ctx.execute(sa.select(sa.func.count(Invoice.id))).scalar() == 1
    assert db.session.get(VoucherCode, code.id).redeemed_count == 1


def test_the_same_external_id_with_another_basket_is_an_idempotency_conflict(ctx, make, shop):
    voucher_with_code("SOMMER5")
    customer, other = make.address(), make.address()
    first = checkout(ctx, "ext-8", customer.id, lines(shirt=2), "sommer5")
    for changed in [(customer.id, lines(tea=9), "sommer5"), (customer.id, lines(shirt=2), None),
                    (other.id, lines(shirt=2), "sommer5"), (customer.id, lines(shirt=3), "sommer5")]:
        with pytest.raises(Conflict) as refused:
            checkout(ctx, "ext-8", *changed)
        assert refused.value.code == "idempotency_conflict" and refused.value.details["id"] == first.order_id
    assert ctx.execute(sa.select(sa.func.count(Order.id))).scalar() == 1
    assert ctx.execute(sa.select(sa.func.count(Invoice.id))).scalar() == 1


def test_cancel_releases_the_redemption_once_and_keeps_type_and_sponsor(ctx, make, shop):
    voucher = new_customer_voucher()
    meier = make.partner("meier")
    create_partner_code(ctx, meier, voucher.id, "vonmeier")
    ctx.commit()
    customer = make.address()
    order = ordered(ctx, "c-1", customer.id, lines(shirt=2), "vonmeier")
    first = cancel(ctx, order.id)
    second = cancel(ctx, order.id)
    assert not first.repeated and second.repeated
    db.session.expire_all()
    assert db.session.get(Voucher, voucher.id).redeemed_count == 0
    redemption = ctx.execute(sa.select(Redemption)).scalar_one()
    assert redemption.released_at is not None
    order = db.session.get(Order, order.id)
    assert order.status == OrderStatus.cancelled
    kinds = sorted(i.kind.value for i in order.invoices)
    assert kinds == ["cancellation", "invoice"]
    cancellation = next(i for i in order.invoices if i.kind == InvoiceKind.cancellation)
    invoice = next(i for i in order.invoices if i.kind == InvoiceKind.invoice)
    assert cancellation.number == invoice.number + 1
    assert cancellation.total_gross == -invoice.total_gross
    customer = db.session.get(type(customer), customer.id)
    assert customer.type == AddressType.customer and customer.sponsor_id == meier.address_id


def test_invoice_numbers_are_sequential(ctx, make, shop):
    customer = make.address()
    numbers = [ordered(ctx, f"seq-{i}", customer.id, lines(tea=1)).invoices[0].number
               for i in range(4)]
    assert numbers == list(range(numbers[0], numbers[0] + 4))


def test_refused_order_saves_nothing_and_keeps_no_number(ctx, make, shop):
    _, code = voucher_with_code("MIN", min_order_value=Decimal("50.00"))
    customer = make.address()
    before = ordered(ctx, "n-1", customer.id, lines(tea=1)).invoices[0].number
    with pytest.raises(VoucherRefused) as refused:
        checkout(ctx, "n-2", customer.id, lines(shirt=1, book=2), "MIN")  # book does not count
    assert refused.value.reason == "min_order_value"
    after = ordered(ctx, "n-3", customer.id, lines(tea=1)).invoices[0].number
    assert after == before + 1
    assert ctx.execute(sa.select(sa.func.count(Order.id))).scalar() == 2


@pytest.mark.parametrize(("values", "reason"), [
    ({"valid_from": date(2030, 1, 1)}, "not_yet_valid"),
    ({"valid_until": date(2020, 1, 1)}, "expired"),
    ({"valid_on": date(2020, 1, 1)}, "expired"),
    ({"max_total": 0}, "used_up"),
])
def test_conditions_refuse_with_a_machine_reason(ctx, make, shop, values, reason):
    voucher_with_code("COND", **values)
    result = check(ctx, "cond", basket(ctx, lines(shirt=1)), make.address())
    assert (result.valid, result.reason) == (False, reason)


def test_unknown_and_foreign_and_ineligible(ctx, make, shop):
    owner = make.address()
    voucher_with_code("FORYOU", for_customer_id=owner.id)
    assert check(ctx, "nope", basket(ctx, lines(shirt=1)), None).reason == "unknown"
    assert check(ctx, "foryou", basket(ctx, lines(shirt=1)), make.address()).reason == \
        "not_for_this_customer"
    assert check(ctx, "foryou", basket(ctx, lines(shirt=1)), owner).valid
    assert check(ctx, "foryou", basket(ctx, lines(book=1)), owner).reason == "no_eligible_articles"


def test_discount_never_exceeds_eligible_total(ctx, make, shop):
    voucher_with_code("BIG", amount=Decimal("100.00"))
    result = check(ctx, "big", basket(ctx, lines(tea=2, book=1)), None)
    assert result.valid and result.discount == Decimal("8.56")


def test_fixed_vat_rate_puts_the_discount_on_one_rate(ctx, make, shop):
    voucher_with_code("FIX", vat_mode=VatMode.fixed, fixed_vat_rate=Decimal("19"))
    result = check(ctx, "fix", basket(ctx, lines(shirt=1, tea=1)), None)
    assert result.discount_by_rate == {Decimal("19"): Decimal("5.00")}


def _voucher_at(ctx, **window):
    voucher = permanent_voucher(**window)
    return voucher


@pytest.mark.parametrize(("when_utc", "inside"), [
    (datetime(2026, 11, 20, 21, 30, tzinfo=UTC), True),    # Fri 22:30 Berlin
    (datetime(2026, 11, 21, 1, 30, tzinfo=UTC), True),     # Sat 02:30, window from Friday
    (datetime(2026, 11, 21, 5, 30, tzinfo=UTC), False),    # Sat 06:30
    (datetime(2026, 11, 22, 21, 30, tzinfo=UTC), False),   # Sun 22:30: Sunday not listed
    (datetime(2026, 3, 28, 0, 30, tzinfo=UTC), True),      # Sat 01:30 CET, before DST starts
    (datetime(2026, 3, 29, 2, 30, tzinfo=UTC), False),     # Sun 04:30 CEST (DST day)
    (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), True),      # Sun 03:30 CEST, window from Saturday
])
def test_time_window_wraps_midnight_in_company_time(ctx, make, shop, when_utc, inside):
    voucher_with_code("NIGHT", window_weekdays="56", window_start=time(22, 0), window_end=time(4, 0))
    result = check(ctx, "night", basket(ctx, lines(shirt=1)), None, now=when_utc)
    assert result.valid is inside
    if not inside:
        assert result.reason == "outside_time_window"


def test_per_customer_maximum(ctx, make, shop):
    voucher_with_code("TWICE", max_per_customer=2)
    customer = make.address()
    for i in range(2):
        checkout(ctx, f"pc-{i}", customer.id, lines(shirt=1), "twice")
    with pytest.raises(VoucherRefused) as refused:
        checkout(ctx, "pc-3", customer.id, lines(shirt=1), "twice")
    assert refused.value.reason == "used_up"


def test_single_code_is_redeemed_once(ctx, make, shop):
    voucher = permanent_voucher(kind=VoucherKind.single, name="Einzel")
    [code] = generate_codes(ctx, voucher, "EIN-####-####", 1)
    ctx.commit()
    checkout(ctx, "s-1", make.address().id, lines(shirt=1), code.code.lower())
    with pytest.raises(VoucherRefused) as refused:
        checkout(ctx, "s-2", make.address().id, lines(shirt=1), code.code)
    assert refused.value.reason == "used_up"


def test_bulk_codes_use_no_ambiguous_characters(ctx, make):
    voucher = permanent_voucher(kind=VoucherKind.single, name="Druck")
    codes = generate_codes(ctx, voucher, "XMAS-#####", 200)
    ctx.commit()
    assert len({c.code_normalized for c in codes}) == 200
    for c in codes:
        assert c.code.startswith("XMAS-") and set(c.code[5:]) <= set(UNAMBIGUOUS)
        assert not set(c.code[5:]) & set("0O1IL")


def test_partner_code_rules(ctx, make, app):
    voucher = new_customer_voucher()
    unreleased = permanent_voucher(name="intern")
    meier, schulz = make.partner("meier"), make.partner("schulz")
    create_partner_code(ctx, meier, voucher.id, "vonmeier")
    ctx.commit()
    for partner, voucher_id, code, error in [
        (schulz, voucher.id, "VonMeier", "code_taken"),
        (schulz, voucher.id, "abc", "invalid_code"),
        (schulz, voucher.id, "von meier", "invalid_code"),
        (schulz, voucher.id, "Gutschein", "reserved_code"),
        (schulz, unreleased.id, "vonschulz", "not_released"),
    ]:
        with pytest.raises(DomainError) as exc:
            create_partner_code(ctx, partner, voucher_id, code)
        assert exc.value.code == error, code
        ctx.rollback()
    app.config["PARTNER_CODES_MAX"] = 2
    try:
        create_partner_code(ctx, meier, voucher.id, "5EurovonMaria")
        ctx.commit()
        with pytest.raises(DomainError) as exc:
            create_partner_code(ctx, meier, voucher.id, "dritter")
        assert exc.value.code == "too_many_codes"
    finally:
        app.config["PARTNER_CODES_MAX"] = 5
