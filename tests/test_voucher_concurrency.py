"""V11: no voucher is redeemed more often than allowed, even with concurrent checkouts.

PostgreSQL only (SQLite serialises all writers, so it cannot race): threads released
together by a barrier, each with its own app context and so its own session/connection.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Order, Redemption, Voucher, VoucherKind
from backoffice.services import DomainError
from backoffice.services.orders import cancel_order, place_order
from backoffice.services.vouchers import add_code, create_partner_code
from tests.voucher_helpers import new_customer_voucher, permanent_voucher, voucher_with_code


@pytest.fixture(autouse=True)
def _postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrency tests need PostgreSQL (SQLite serialises writers: nothing can race)")


def race(app, calls):
    """Run the calls in threads released at once; return (results, errors)."""
    barrier = threading.Barrier(len(calls))
    results, errors = [], []
    lock = threading.Lock()

    def run(call):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                outcome = call(db.session)
                with lock:
                    results.append(outcome)
            except DomainError as exc:
                with lock:
                    errors.append(exc.code)
            except Exception as exc:  # noqa: BLE001 - reported by the test
                with lock:
                    errors.append(f"crash: {exc!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(str(e).startswith("crash") for e in errors), errors
    return results, errors


def order_call(external_id, customer_id, code):
    return lambda session: place_order(session, external_id, customer_id,
                                       [{"article_no": "SHIRT", "quantity": 2}], code)


@pytest.fixture
def shirt(make):
    return make.article(article_no="SHIRT", gross_price=Decimal("19.99"))


def redemptions(ctx):
    return ctx.execute(sa.select(sa.func.count(Redemption.id))).scalar()


def test_fifty_orders_for_a_voucher_with_max_five(app, ctx, make, shirt):
    voucher, _ = voucher_with_code("FIVE", max_total=5)
    customers = [make.address().id for _ in range(50)]
    results, errors = race(app, [order_call(f"r-{i}", c, "five") for i, c in enumerate(customers)])
    assert len(results) == 5 and errors.count("used_up") == 45
    db.session.expire_all()
    assert db.session.get(Voucher, voucher.id).redeemed_count == 5 and redemptions(ctx) == 5


def test_two_orders_for_one_single_code(app, ctx, make, shirt):
    voucher = permanent_voucher(kind=VoucherKind.single, name="Einzel")
    add_code(ctx, voucher, "ONLYONCE")
    ctx.commit()
    a, b = make.address().id, make.address().id
    results, errors = race(app, [order_call("s-a", a, "onlyonce"), order_call("s-b", b, "onlyonce")])
    assert len(results) == 1 and errors == ["used_up"]
    assert redemptions(ctx) == 1


def test_forty_racers_over_four_partner_codes_share_max_ten(app, ctx, make, shirt):
    voucher = new_customer_voucher(max_total=10, min_order_value=None)
    codes = []
    for name in ("anna", "bert", "carl", "dora"):
        codes.append(create_partner_code(ctx, make.partner(name), voucher.id, f"von{name}").code)
        ctx.commit()
    customers = [make.address().id for _ in range(40)]
    results, errors = race(app, [order_call(f"p-{i}", c, codes[i % 4]) for i, c in enumerate(customers)])
    assert len(results) == 10 and errors.count("used_up") == 30
    db.session.expire_all()
    assert db.session.get(Voucher, voucher.id).redeemed_count == 10 and redemptions(ctx) == 10


def test_one_new_customer_two_orders_at_once_gets_one_discount(app, ctx, make, shirt):
    voucher_with_code("NEU1", new_customers_only=True)
    voucher_with_code("NEU2", new_customers_only=True)
    customer = make.address().id
    results, errors = race(app, [order_call("n-1", customer, "neu1"), order_call("n-2", customer, "neu2")])
    assert len(results) == 1 and errors == ["not_new_customer"]
    discounted = ctx.execute(sa.select(sa.func.count(Order.id)).where(Order.discount > 0)).scalar()
    assert discounted == 1


def test_two_concurrent_cancels_release_once(app, ctx, make, shirt):
    voucher, _ = voucher_with_code("CANCEL", max_total=3)
    order = place_order(ctx, "x-1", make.address().id, [{"article_no": "SHIRT", "quantity": 1}],
                        "cancel").order
    order_id = order.id
    results, errors = race(app, [lambda s: cancel_order(s, order_id), lambda s: cancel_order(s, order_id)])
    assert errors == [] and sorted(r.repeated for r in results) == [False, True]
    db.session.expire_all()
    assert db.session.get(Voucher, voucher.id).redeemed_count == 0
    invoices = db.session.get(Order, order_id).invoices
    assert sorted(i.kind.value for i in invoices) == ["cancellation", "invoice"]


def test_invoice_numbers_have_no_gaps_under_concurrency(app, ctx, make, shirt):
    voucher_with_code("GAP", max_total=5)
    customers = [make.address().id for _ in range(20)]
    race(app, [order_call(f"g-{i}", c, "gap" if i % 2 else None)
                for i, c in enumerate(customers)])
    numbers = sorted(ctx.execute(sa.text("SELECT number FROM invoice")).scalars())
    assert len(numbers) == 15
    assert numbers == list(range(numbers[0], numbers[0] + 15))
