"""The kept count of registered addresses that never ordered: changed by the transactions
that register, retype, order and delete, by the address import, repaired by a recount, and
exact when many transactions commit at once (PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.models import Address, AddressType
from backoffice.services import start_pages
from backoffice.transaction import unit_of_work
from downline import counters, integrity
from imports.runner import run
from tests.support.concurrency import run_together
from tests.support.vouchers import checkout

FILES = __import__("pathlib").Path(__file__).parents[1] / "imports" / "files"


def kept(session) -> int:
    return session.execute(sa.text("SELECT value FROM address_counter WHERE name = 'never_ordered'")).scalar()


def actual(session) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(Address)
                           .where(Address.type == AddressType.new_customer)).scalar()


def test_registering_retyping_ordering_and_deleting_change_the_count_in_their_transaction(make):
    first = make.address()
    second = make.address()
    make.address(type=AddressType.partner)
    assert kept(db.session) == 2
    second.type = AddressType.customer
    db.session.commit()
    assert kept(db.session) == 1
    second.type = AddressType.new_customer
    db.session.commit()
    assert kept(db.session) == 2
    db.session.delete(first)
    db.session.commit()
    assert kept(db.session) == 1 == actual(db.session)
    # A refused unit of work keeps nothing of its count either.
    with pytest.raises(RuntimeError), unit_of_work() as session:
        session.add(Address(last_name="Verworfen"))
        session.flush()
        raise RuntimeError("refused")
    assert kept(db.session) == 1
    make.article(article_no="SHIRT", gross_price=Decimal("25.00"))
    checkout(db.session, "o-1", second.id, [{"article_no": "SHIRT", "quantity": 1}])
    assert kept(db.session) == 0 == actual(db.session)
    assert start_pages.staff_figures(db.session, dt.datetime.now(dt.UTC).date()).never_ordered == 0


def test_registrations_and_first_orders_are_kept_per_utc_day(make):
    today = dt.datetime.now(dt.UTC).date()
    days_ago = lambda n: dt.datetime.combine(today - dt.timedelta(days=n), dt.time(23, 30), tzinfo=dt.UTC)  # noqa: E731
    late = make.address(registered_at=days_ago(2))
    make.address(registered_at=days_ago(2), type=AddressType.customer, first_order_at=days_ago(1))
    make.address()  # registered now
    def kept_days(prefix):
        return counters.per_day(db.session, prefix, today - dt.timedelta(days=5), today)

    assert kept_days(counters.REGISTERED) == {today - dt.timedelta(days=2): 2, today: 1}
    assert kept_days(counters.FIRST_ORDER) == {today - dt.timedelta(days=1): 1}
    late.registered_at = days_ago(3)  # corrected by hand: moves to its day
    late.first_order_at = days_ago(0)
    db.session.commit()
    day = today - dt.timedelta(days=3)
    assert kept_days(counters.REGISTERED) == {day: 1, day + dt.timedelta(days=1): 1, today: 1}
    assert kept_days(counters.FIRST_ORDER) == {today - dt.timedelta(days=1): 1, today: 1}
    db.session.delete(late)
    db.session.commit()
    assert kept_days(counters.REGISTERED) == {today - dt.timedelta(days=2): 1, today: 1}
    figures = start_pages.staff_figures(db.session, today)
    assert dict(figures.registrations_per_day)[today - dt.timedelta(days=2)] == 1
    assert sum(n for _, n in figures.first_orders_per_day) == 1
    assert integrity.check(db.session).ok


def test_the_address_import_counts_its_new_rows_and_a_dry_run_nothing(ctx):
    run(ctx, "addresses", FILES / "addresses_forward_sponsor.csv", dry_run=True)
    assert kept(ctx) in (None, 0)
    report = run(ctx, "addresses", FILES / "addresses_forward_sponsor.csv", dry_run=False)
    assert report.created == 3 and kept(ctx) == 1 == actual(ctx)  # one new customer of three
    registered = counters.per_day(ctx, counters.REGISTERED, dt.date(2024, 12, 1), dt.date(2025, 3, 31))
    assert registered == {dt.date(2024, 12, 31): 1, dt.date(2025, 2, 1): 1, dt.date(2025, 3, 2): 1}
    assert integrity.check(ctx).ok


def test_the_check_finds_a_wrong_count_and_the_recount_repairs_it(make, ctx):
    make.address()
    make.address()
    ctx.execute(sa.text("UPDATE address_counter SET value = 7 WHERE name = 'never_ordered'"))
    ctx.commit()
    report = integrity.check(ctx)
    assert report.problems == ["counter: never_ordered is 7, the addresses say 2"]
    assert counters.recount(ctx.connection()) == 2
    ctx.commit()
    assert kept(ctx) == 2 and integrity.check(ctx).ok
    ctx.execute(sa.text("DELETE FROM address_counter"))
    ctx.commit()
    make.address()  # a missing row is made again, from the addresses
    assert kept(ctx) == 3


def test_concurrent_registrations_and_first_orders_keep_the_count_exact(app, make, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrency tests need PostgreSQL (SQLite serialises writers: nothing can race)")
    make.article(article_no="SHIRT", gross_price=Decimal("25.00"))
    buyers = [make.address().id for _ in range(6)]
    assert kept(db.session) == 6
    db.session.remove()

    def register(n):
        def call(session):
            with unit_of_work(session):
                for i in range(3):
                    session.add(Address(last_name=f"Parallel{n}-{i}"))
                    session.flush()
        return call

    def first_order(address_id):
        return lambda session: checkout(session, f"race-{address_id}", address_id,
                                        [{"article_no": "SHIRT", "quantity": 1}])

    outcomes = run_together(app, [register(n) for n in range(6)] + [first_order(a) for a in buyers])
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert kept(db.session) == 18 == actual(db.session)
    today = dt.datetime.now(dt.UTC).date()
    assert counters.per_day(db.session, counters.FIRST_ORDER, today - dt.timedelta(days=1), today) \
        == {today: 6} or dt.datetime.now(dt.UTC).hour == 0  # a race run across midnight splits
    assert integrity.check(db.session).ok
