"""The responsiveness signal's kept counts (`lead_month`): every direct request counted in
its month, every first answer within a day once, the ranking's window of whole months,
the same under concurrent answers, and the migration that fills them from the direct
requests already stored."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from app import create_app
from backoffice import transaction
from backoffice.extensions import db
from backoffice.models import DirectRequest, DirectStatus, LeadMonth
from backoffice.services import marketplace
from tests.support.concurrency import run_together
from tests.tasks.test_tasks_migration import scratch_url  # noqa: F401  (fixture)

from . import test_marketplace as story

NOW, open_request, send = story.NOW, story.open_request, story.send
elektro, market = story.elektro, story.market  # the story's fixtures


def kept(ctx, partner_id) -> list[tuple]:
    rows = ctx.execute(sa.select(LeadMonth.month, LeadMonth.leads, LeadMonth.answered)
                       .where(LeadMonth.partner_id == partner_id).order_by(LeadMonth.month))
    return [tuple(r) for r in rows]


def counted(ctx, partner_id) -> list[tuple]:
    """The same counts from the direct requests themselves."""
    months = {}
    for created, in_time in ctx.execute(sa.select(DirectRequest.created_at, DirectRequest.answered_in_time)
                                        .where(DirectRequest.partner_id == partner_id)):
        month = marketplace.month_of(created)
        leads, answered = months.get(month, (0, 0))
        months[month] = (leads + 1, answered + bool(in_time))
    return [(m, *months[m]) for m in sorted(months)]


def answer(ctx, partner_id, direct_id, at, step=DirectStatus.contacted):
    with transaction.unit_of_work(ctx):
        marketplace.move_direct_request(ctx, partner_id, direct_id, step, at)


def test_each_direct_request_counts_in_its_month_and_a_first_answer_within_a_day_once(ctx, elektro, market):
    schulz, meier, _ = market
    november = send(ctx, open_request(ctx, elektro, "a@example.org"), schulz.id)
    december = NOW + timedelta(days=30)  # 3 December
    late = send(ctx, open_request(ctx, elektro, "b@example.org"), schulz.id, now=december)
    other = send(ctx, open_request(ctx, elektro, "c@example.org"), meier.id)

    answer(ctx, schulz.id, november.direct_request_id, NOW + timedelta(hours=3))
    answer(ctx, schulz.id, november.direct_request_id, NOW + timedelta(hours=4), DirectStatus.done)
    answer(ctx, schulz.id, late.direct_request_id, december + timedelta(hours=1), DirectStatus.seen)
    answer(ctx, schulz.id, late.direct_request_id, december + timedelta(days=2))  # contacted too late
    answer(ctx, meier.id, other.direct_request_id, NOW + timedelta(hours=1), DirectStatus.lost)

    assert kept(ctx, schulz.id) == [(date(2026, 11, 1), 1, 1), (date(2026, 12, 1), 1, 0)]
    assert kept(ctx, meier.id) == [(date(2026, 11, 1), 1, 1)]  # "lost" at once is an answer too
    assert kept(ctx, schulz.id) == counted(ctx, schulz.id) and kept(ctx, meier.id) == counted(ctx, meier.id)
    # 1 of 2 in time, smoothed with one of two: (1 + 1) / (2 + 2)
    request = ctx.get(marketplace.LeadRequest, open_request(ctx, elektro, "d@example.org"))
    ranked = {r.partner_id: r for r in marketplace.rank(ctx, request, now=december)}
    assert ranked[schulz.id].responsiveness == D("0.5000")
    assert ranked[meier.id].responsiveness == D("0.6667")


def test_the_window_is_the_current_month_and_the_three_before_it_in_company_time(ctx, elektro, market):
    assert marketplace.window_start(NOW) == (date(2026, 8, 1), datetime(2026, 7, 31, 22, 0, tzinfo=UTC))
    assert marketplace.window_start(datetime(2026, 1, 31, 23, 30, tzinfo=UTC)) == (
        date(2025, 11, 1), datetime(2025, 10, 31, 23, 0, tzinfo=UTC))  # 1 February in Berlin
    schulz, meier, _ = market
    # Berlin's July: out of the window on 3 November; Berlin's 1 August (still 31 July in UTC): in it.
    for partner, at in ((schulz, datetime(2026, 7, 31, 21, 30, tzinfo=UTC)),
                        (meier, datetime(2026, 7, 31, 22, 30, tzinfo=UTC))):
        sent = send(ctx, open_request(ctx, elektro, f"{partner.id}@example.org"), partner.id, now=at)
        answer(ctx, partner.id, sent.direct_request_id, at + timedelta(minutes=10))
    assert kept(ctx, schulz.id) == [(date(2026, 7, 1), 1, 1)]
    assert kept(ctx, meier.id) == [(date(2026, 8, 1), 1, 1)]
    request = ctx.get(marketplace.LeadRequest, open_request(ctx, elektro, "neu@example.org"))
    ranked = {r.partner_id: r.responsiveness for r in marketplace.rank(ctx, request, now=NOW)}
    assert ranked == {schulz.id: D("0.5000"), meier.id: D("0.6667")}
    # The same ranking without the narrowing reads the same counts.
    unnarrowed = marketplace.rank(ctx, request, NOW, prefilter=False)
    assert {r.partner_id: r.responsiveness for r in unnarrowed} == ranked


def test_concurrent_first_answers_count_once_and_concurrent_sends_each(app, ctx, database_url, elektro,
                                                                       market):
    if not database_url.startswith("postgresql"):
        pytest.skip("a race needs PostgreSQL (SQLite serialises writers)")
    schulz = market[0]
    requests = [open_request(ctx, elektro, f"k{n}@example.org") for n in range(12)]

    def sender(request_id):
        return lambda s: transaction.run(
            lambda t: marketplace.send_direct_request(t, request_id, schulz.id, now=NOW), session=s,
            retries=3)

    sent = run_together(app, [sender(r) for r in requests])
    assert not [o for o in sent if isinstance(o, Exception)], sent
    direct_id = sent[0].direct_request_id
    answers = run_together(app, [lambda s: transaction.run(
        lambda t: marketplace.move_direct_request(t, schulz.id, direct_id, DirectStatus.contacted,
                                                  NOW + timedelta(hours=1)), session=s, retries=3)] * 20)
    assert not [o for o in answers if isinstance(o, Exception)], answers
    ctx.expire_all()
    assert kept(ctx, schulz.id) == [(date(2026, 11, 1), 12, 1)] == counted(ctx, schulz.id)


def _insert_direct_requests() -> None:
    """A partner with three direct requests as the schema before `lead_month` stores them: two
    in November, one late on 30 November in UTC, which is 1 December in Berlin."""
    now = "2026-12-01 10:00:00"
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO address (id, type, last_name, country, language, registration_source, "
            "registered_at, consent_contact_by_sponsor, consent_marketing, created_at, updated_at) "
            "VALUES (1, 'partner', 'Schulz', 'DE', 'de', 'desk', :now, :no, :no, :now, :now)"),
            {"now": now, "no": False})
        conn.execute(sa.text(
            "INSERT INTO partner (id, address_id, subdomain, time_zone, available, created_at, updated_at) "
            "VALUES (1, 1, 'schulz', 'Europe/Berlin', :yes, :now, :now)"), {"now": now, "yes": True})
        conn.execute(sa.text(
            "INSERT INTO category (id, name_de, name_en, active, min_bid, position, created_at, updated_at) "
            "VALUES (1, 'Elektro', 'Electrical', :yes, 5, 1, :now, :now)"), {"now": now, "yes": True})
        for request_id in (1, 2, 3):
            conn.execute(sa.text(
                "INSERT INTO lead_request (id, category_id, description, postal_code, latitude, longitude, "
                "customer_name, email, language, status, created_at) VALUES (:id, 1, 'Steckdosen', '04109', "
                "51.34, 12.37, 'Kunde', :email, 'de', 'closed', :now)"),
                {"id": request_id, "email": f"k{request_id}@example.org", "now": now})
        for direct_id, created, in_time in ((1, "2026-11-03 10:00:00", True),
                                            (2, "2026-11-20 10:00:00", None),
                                            (3, "2026-11-30 23:30:00", True)):
            conn.execute(sa.text(
                "INSERT INTO direct_request (id, request_id, partner_id, status, created_at, "
                "answered_in_time) VALUES (:id, :id, 1, 'done', :created, :in_time)"),
                {"id": direct_id, "created": created, "in_time": in_time})


def test_the_upgrade_counts_the_stored_direct_requests_per_month_and_the_downgrade_keeps_them(
        app, scratch_url):  # noqa: F811
    other = create_app({"SQLALCHEMY_DATABASE_URI": scratch_url, "TESTING": True})
    with other.app_context():
        from flask_migrate import downgrade, upgrade

        upgrade(revision="0034_job_review_hide")
        _insert_direct_requests()
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT partner_id, month, leads, answered FROM lead_month "
                                        "ORDER BY month"))
            months = [(p, m if isinstance(m, date) else date.fromisoformat(m), n, a) for p, m, n, a in rows]
        assert months == [(1, date(2026, 11, 1), 2, 1), (1, date(2026, 12, 1), 1, 1)]
        downgrade(revision="0034_job_review_hide")
        with db.engine.connect() as conn:
            assert "lead_month" not in sa.inspect(conn).get_table_names()
            assert conn.execute(sa.text("SELECT count(*) FROM direct_request")).scalar() == 3
        db.session.remove()
        db.engine.dispose()


def test_the_recount_sets_kept_months_edited_by_hand_back_to_the_direct_requests(app, ctx, elektro, market):
    schulz, meier, _ = market
    sent = send(ctx, open_request(ctx, elektro, "a@example.org"), schulz.id)
    answer(ctx, schulz.id, sent.direct_request_id, NOW + timedelta(hours=2))
    send(ctx, open_request(ctx, elektro, "b@example.org"), meier.id)
    expected = {p.id: counted(ctx, p.id) for p in (schulz, meier)}
    with transaction.unit_of_work(ctx):  # a hand edit: one count wrong, one month lost, one made up
        ctx.execute(sa.update(LeadMonth).where(LeadMonth.partner_id == schulz.id).values(leads=7, answered=0))
        ctx.execute(sa.delete(LeadMonth).where(LeadMonth.partner_id == meier.id))
        ctx.add(LeadMonth(partner_id=meier.id, month=date(2026, 6, 1), leads=3, answered=1))
    result = app.test_cli_runner().invoke(args=["marketplace", "recount"])
    assert result.exit_code == 0, result.output
    assert "2 partner months counted, 3 kept rows corrected" in result.output
    ctx.expire_all()
    assert {p.id: kept(ctx, p.id) for p in (schulz, meier)} == expected
    again = app.test_cli_runner().invoke(args=["marketplace", "recount"])
    assert "0 kept rows corrected" in again.output
