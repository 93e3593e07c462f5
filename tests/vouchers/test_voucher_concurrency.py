"""V11: no voucher is redeemed more often than allowed, even with concurrent checkouts.

PostgreSQL only (SQLite serialises all writers, so it cannot race): threads released
together by a barrier, each with its own app context and so its own session/connection.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice.errors import DomainError
from backoffice.extensions import db
from backoffice.models import Address, Order, Redemption, Voucher, VoucherKind
from backoffice.services.vouchers import add_code, create_partner_code
from downline import integrity, moves
from downline.sponsors import SponsorError
from tests.support.concurrency import run_together
from tests.support.vouchers import (
    cancel,
    checkout,
    new_customer_voucher,
    ordered,
    permanent_voucher,
    voucher_with_code,
)


@pytest.fixture(autouse=True)
def _postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrency tests need PostgreSQL (SQLite serialises writers: nothing can race)")


def race(app, calls):
    """Run the calls in threads released at once; return (results, errors)."""
    results, errors = [], []
    for outcome in run_together(app, calls):
        if isinstance(outcome, DomainError):
            errors.append(outcome.code)
        elif isinstance(outcome, Exception):
            errors.append(f"crash: {outcome!r}")
        else:
            results.append(outcome)
    assert not any(str(e).startswith("crash") for e in errors), errors
    return results, errors


def order_call(external_id, customer_id, code):
    return lambda session: checkout(session, external_id, customer_id,
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


def test_checkout_racing_a_staff_move_that_would_close_a_cycle(app, ctx, make, shirt):
    """The partner code moves the new customer under the partner while staff move the partner
    under that customer. Whichever goes first, the order is placed (a deadlock between the
    two is retried), at most one of the moves happens and the tree has no cycle."""
    voucher = new_customer_voucher(min_order_value=None)
    partner = make.partner("meier")
    create_partner_code(ctx, partner, voucher.id, "vonmeier")
    ctx.commit()
    partner_address, customer = partner.address_id, make.address().id

    def staff_move(session):
        try:
            moves.move(session, partner_address, customer, "test", actor_label="test")
            return "moved"
        except (SponsorError, sa.exc.DBAPIError) as exc:
            session.rollback()
            return type(exc).__name__

    for attempt in range(3):
        results, errors = race(app, [order_call(f"c-{attempt}", customer, "vonmeier"), staff_move])
        assert errors == [] and any(not isinstance(r, str) for r in results), results
        report = integrity.check(ctx)
        assert report.ok, report.problems
        db.session.expire_all()
        sponsors = {a: db.session.get(Address, a).sponsor_id for a in (customer, partner_address)}
        assert not (sponsors[customer] == partner_address and sponsors[partner_address] == customer)
        # Next round: a fresh new customer and the partner back at the top.
        if sponsors[partner_address] is not None:
            moves.move(ctx, partner_address, make.address().id, "test: back", actor_label="test")
        customer = make.address().id


def test_a_checkout_chosen_as_deadlock_victim_is_run_again(app, ctx, make, shirt):
    """Another transaction holds the partner's row and then asks for the customer's, which the
    checkout holds: PostgreSQL aborts the checkout (it waited first); it is run again."""
    import time

    voucher = new_customer_voucher(min_order_value=None)
    partner = make.partner("meier")
    create_partner_code(ctx, partner, voucher.id, "vonmeier")
    ctx.commit()
    partner_address, customer = partner.address_id, make.address().id
    engine = ctx.get_bind()
    outcome = {}

    def checkout():
        with app.app_context():
            try:
                outcome["result"] = order_call("dl-1", customer, "vonmeier")(db.session)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcome["error"] = exc
            finally:
                db.session.remove()

    with engine.connect() as other:
        # The checkout starts waiting first, so its deadlock check (after 1 s) finds the cycle;
        # this side's check comes far later, so it is never the one aborted.
        other.execute(sa.text("SET LOCAL deadlock_timeout = '10s'"))
        other.execute(sa.text("SELECT id FROM address WHERE id = :id FOR UPDATE"), {"id": partner_address})
        thread = threading.Thread(target=checkout)
        thread.start()
        deadline = time.monotonic() + 10
        # Until the checkout waits for the partner's row (autocommit: a transaction would see
        # one snapshot of pg_stat_activity all along).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watch:
            while time.monotonic() < deadline and not watch.execute(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar():
                time.sleep(0.02)
        other.execute(sa.text("SELECT id FROM address WHERE id = :id FOR UPDATE"), {"id": customer})
        other.rollback()
    thread.join(60)
    assert "error" not in outcome, outcome
    assert not outcome["result"].repeated
    db.session.expire_all()
    assert db.session.get(Address, customer).sponsor_id == partner_address
    assert integrity.check(ctx).ok


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
    order = ordered(ctx, "x-1", make.address().id, [{"article_no": "SHIRT", "quantity": 1}],
                        "cancel")
    order_id = order.id
    results, errors = race(app, [lambda s: cancel(s, order_id), lambda s: cancel(s, order_id)])
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
