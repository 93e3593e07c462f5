"""Appointments and the review they lead to, the ranking's quality with the service-order
metrics (formula 2026-12.2 and later), the ranking kept for the receipts, one mail task per burst."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.errors import Conflict, Forbidden, RuleViolations
from backoffice.models import (
    DirectRequest,
    DirectStatus,
    LeadCharge,
    OutboxMail,
    Party,
    Service,
    Task,
    TaskStatus,
)
from backoffice.services import mail, marketplace
from backoffice.services import service_orders as so
from backoffice.tasks.mail import send_waiting
from tests.support.concurrency import run_together
from tests.support.http import CSRF_RE, login

from . import test_marketplace as story

NOW, open_request, send = story.NOW, story.open_request, story.send
elektro, market = story.elektro, story.market  # the story's fixtures

APPOINTMENT = date(2026, 11, 10)


def reviews_asked(ctx) -> list[str]:
    return list(ctx.scalars(sa.select(OutboxMail.recipient).where(OutboxMail.kind == "review_request")))


def to_appointment(ctx, partner_id, direct_id, day=APPOINTMENT):
    with transaction.unit_of_work(ctx):
        marketplace.move_direct_request(ctx, partner_id, direct_id, DirectStatus.contacted, NOW)
        marketplace.move_direct_request(ctx, partner_id, direct_id, DirectStatus.appointment, NOW,
                                        appointment_on=day)


def sweep(ctx, now):
    with transaction.unit_of_work(ctx):
        return marketplace.ask_due_reviews(ctx, "http://desk/c/reviews/", now=now)


def test_an_appointment_needs_its_day_and_the_review_is_asked_14_days_later_once(ctx, elektro, market):
    schulz = market[0]
    sent = send(ctx, open_request(ctx, elektro), schulz.id)
    with transaction.unit_of_work(ctx):
        marketplace.move_direct_request(ctx, schulz.id, sent.direct_request_id, DirectStatus.contacted, NOW)
    with pytest.raises(RuleViolations) as missing, transaction.unit_of_work(ctx):
        marketplace.move_direct_request(ctx, schulz.id, sent.direct_request_id, DirectStatus.appointment, NOW)
    assert list(missing.value.fields) == ["appointment_on"]
    to_appointment(ctx, schulz.id, sent.direct_request_id)
    assert ctx.get(DirectRequest, sent.direct_request_id).appointment_on == APPOINTMENT
    # 13 days after the appointment (Berlin time) nobody is asked; on the 14th once.
    assert sweep(ctx, datetime(2026, 11, 23, 22, 59, tzinfo=UTC)) == 0  # 23:59 on the 23rd in Berlin
    assert reviews_asked(ctx) == []
    assert sweep(ctx, datetime(2026, 11, 23, 23, 0, tzinfo=UTC)) == 1  # 00:00 on the 24th in Berlin
    assert sweep(ctx, datetime(2026, 11, 24, 12, 0, tzinfo=UTC)) == 0
    assert reviews_asked(ctx) == ["kunde@example.org"]
    # Marking it done later asks no second time.
    with transaction.unit_of_work(ctx):
        marketplace.move_direct_request(ctx, schulz.id, sent.direct_request_id, DirectStatus.done,
                                        NOW + timedelta(days=30), review_url="http://desk/c/reviews/")
    assert reviews_asked(ctx) == ["kunde@example.org"]
    # The customer may review without "done" from the 14th day after the appointment.
    body = ctx.scalar(sa.select(OutboxMail.body_text).where(OutboxMail.kind == "review_request"))
    token = re.search(r"http://desk/c/reviews/(\S+)", body).group(1)
    with transaction.unit_of_work(ctx):
        review = marketplace.submit_review(ctx, token, 4, "Gut", now=NOW + timedelta(days=31))
    assert (review.partner_id, review.stars) == (schulz.id, 4)


def test_review_before_the_14th_day_is_refused_and_done_asks_once_without_the_sweep(ctx, elektro, market):
    schulz, meier, _huber = market
    request_id = open_request(ctx, elektro)
    first, second = send(ctx, request_id, schulz.id), send(ctx, request_id, meier.id)
    to_appointment(ctx, schulz.id, first.direct_request_id)
    to_appointment(ctx, meier.id, second.direct_request_id, day=date(2026, 11, 20))
    with transaction.unit_of_work(ctx):
        marketplace.move_direct_request(ctx, schulz.id, first.direct_request_id, DirectStatus.done, NOW,
                                        review_url="http://desk/c/reviews/")
    assert reviews_asked(ctx) == ["kunde@example.org"]
    # Schulz's was asked at "done"; Meier's appointment (20th) is not 14 days old on the 30th.
    assert sweep(ctx, datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) == 0
    assert sweep(ctx, datetime(2026, 12, 4, 12, 0, tzinfo=UTC)) == 1
    assert reviews_asked(ctx) == ["kunde@example.org", "kunde@example.org"]
    direct = ctx.get(DirectRequest, second.direct_request_id)
    token = marketplace._review_serializer().dumps(direct.id)
    with pytest.raises(Conflict), transaction.unit_of_work(ctx):
        marketplace.submit_review(ctx, token, 5, "", now=datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    # A lost job is never asked about.
    lost = send(ctx, open_request(ctx, elektro, "b@example.org"), schulz.id)
    to_appointment(ctx, schulz.id, lost.direct_request_id)
    with transaction.unit_of_work(ctx):
        marketplace.move_direct_request(ctx, schulz.id, lost.direct_request_id, DirectStatus.lost, NOW)
    assert sweep(ctx, datetime(2026, 12, 30, 12, 0, tzinfo=UTC)) == 0
    assert "b@example.org" not in reviews_asked(ctx)


def test_concurrent_sweeps_ask_once(app, ctx, database_url, elektro, market):
    if not database_url.startswith("postgresql"):
        pytest.skip("a race needs PostgreSQL (SQLite serialises writers)")
    schulz = market[0]
    for n in range(5):
        sent = send(ctx, open_request(ctx, elektro, f"k{n}@example.org"), schulz.id)
        to_appointment(ctx, schulz.id, sent.direct_request_id)
    later = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    call = lambda s: transaction.run(  # noqa: E731
        lambda t: marketplace.ask_due_reviews(t, "http://desk/c/reviews/", now=later), session=s, retries=3)
    outcomes = run_together(app, [call] * 10)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sum(outcomes) == 5
    assert sorted(reviews_asked(ctx)) == [f"k{n}@example.org" for n in range(5)]


def test_the_partner_enters_the_day_in_german_and_both_sides_see_it(app, ctx, elektro, market):
    schulz = market[0]
    request_id = open_request(ctx, elektro)
    sent = send(ctx, request_id, schulz.id)
    with transaction.unit_of_work(ctx):
        marketplace.move_direct_request(ctx, schulz.id, sent.direct_request_id, DirectStatus.contacted, NOW)
    partner = app.test_client()
    login(partner, "schulz")
    page = partner.get("/my/requests/")
    csrf = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    assert 'data-test="appointment-form"' in page.get_data(as_text=True)
    wrong = partner.post(f"/my/requests/{sent.direct_request_id}/status?lang=de",
                         data={"csrf_token": csrf, "status": "appointment", "appointment_on": "31.13.2027"},
                         headers={"Referer": "/my/requests/"}, follow_redirects=True)
    assert "Schreiben Sie das Datum als 31.12.2026." in wrong.get_data(as_text=True)
    assert ctx.get(DirectRequest, sent.direct_request_id).status == DirectStatus.contacted
    ok = partner.post(f"/my/requests/{sent.direct_request_id}/status",
                      data={"csrf_token": csrf, "status": "appointment", "appointment_on": "31.12.2027"})
    assert ok.status_code == 302
    ctx.expire_all()
    assert ctx.get(DirectRequest, sent.direct_request_id).appointment_on == date(2027, 12, 31)
    overview = partner.get("/my/requests/?lang=de").get_data(as_text=True)
    assert re.search(r'data-test="appointment">Termin: 31\.12\.2027<', overview)
    customer = app.test_client().get(f"/c/requests/{marketplace.view_token(request_id)}?lang=de")
    assert re.search(r'data-test="appointment">Termin am 31\.12\.2027<', customer.get_data(as_text=True))
    other_key = marketplace.view_token(open_request(ctx, elektro, "x@example.org"))
    other = app.test_client().get(f"/c/requests/{other_key}")
    assert 'data-test="appointment"' not in other.get_data(as_text=True)


def test_a_cancelled_order_and_the_answer_time_of_orders_enter_the_quality(ctx, make, elektro, market):
    schulz, meier, _huber = market
    customer = make.address(last_name="Bestellerin")
    package = ctx.scalars(sa.select(Service).where(Service.partner_id == schulz.id)).first().packages[0]
    earlier = NOW - timedelta(days=5)
    for cancel in (True, False):
        with transaction.unit_of_work(ctx):
            order_id = so.place_order(ctx, customer.id, package.id, now=earlier).id
        with transaction.unit_of_work(ctx):
            if cancel:
                so.move_order(ctx, order_id, "cancel", Party.customer, customer_id=customer.id,
                              reason="Zu teuer", now=earlier + timedelta(hours=1))
            else:
                so.move_order(ctx, order_id, "accept", Party.partner, partner_id=schulz.id,
                              now=earlier + timedelta(hours=6))
    ranked = {r.partner_id: r for r in marketplace.rank(ctx, ctx.get(marketplace.LeadRequest,
                                                                        open_request(ctx, elektro)), NOW)}
    mine, other = ranked[schulz.id], ranked[meier.id]
    # Schulz: 1 of 2 orders cancelled (smoothed by 2: 0.25); the accepted one answered in 6 h
    # (speed 0.75), the cancelled one never by him: 1 of 2 counted in time → (1+1)/(2+2).
    assert (mine.cancelled_share, mine.speed, mine.responsiveness) == (D("0.2500"), D("0.7500"), D("0.5000"))
    # (0.5 + 0.2 × 0.5 + 0.05 × 0.75 + 0.25 × 4/5) × (1 − 0.5 × 0.25)
    assert mine.quality == D("0.7328") and mine.score == D("8.7936")
    assert (other.cancelled_share, other.speed, other.quality) == (D("0.0000"), D("0.5000"), D("0.8250"))
    assert marketplace.quality_of(D("0.5"), D("4.0")) == D("0.8250")


def test_the_receipt_quotes_the_ranking_shown_and_checks_the_partner_again(ctx, elektro, market):
    schulz, meier, _huber = market
    request_id = open_request(ctx, elektro)
    with transaction.unit_of_work(ctx):
        shown = marketplace.ranked_partners(ctx, request_id, now=NOW)
    assert [r.partner_id for r in shown] == [schulz.id, meier.id]
    kept = json.loads(ctx.get(marketplace.LeadRequest, request_id).ranking)
    assert (kept["version"], kept["matched"], kept["first"]) == (marketplace.RANKING_VERSION, 2, "9.9000")
    # Meier raises his bid after the list was shown: charged the new bid, placed as shown.
    with transaction.unit_of_work(ctx):
        marketplace.set_bid(ctx, meier.id, elektro.id, D("15.00"))
    sent = send(ctx, request_id, meier.id, now=NOW + timedelta(minutes=5))
    receipt = marketplace.receipt_of(ctx.get(LeadCharge, sent.charge_id))
    assert (sent.net, receipt["position"], receipt["matched"], receipt["bid"]) == (D("15.00"), 2, 2, "15.00")
    assert receipt["formula_version"] == marketplace.RANKING_VERSION and receipt["score_of_first"] == "9.9000"
    assert receipt["signals"] == {
        "responsiveness": "0.5000", "weight": "0.2", "speed": "0.5000", "speed_weight": "0.05",
        "rating": "4.0000", "rating_weight": "0.25", "expired_share": "0.0000", "expired_weight": "0.5",
        "cancelled_share": "0.0000", "cancelled_weight": "0.5"}
    # Schulz pauses after the list was shown: the kept ranking does not make him match.
    with transaction.unit_of_work(ctx):
        marketplace.set_bid(ctx, schulz.id, elektro.id, D("12.00"), paused=True)
    with pytest.raises(Forbidden), transaction.unit_of_work(ctx):
        marketplace.send_direct_request(ctx, request_id, schulz.id, now=NOW + timedelta(minutes=6))
    assert ctx.scalar(sa.select(sa.func.count(LeadCharge.id))) == 1


def test_the_ranking_page_and_the_receipt_name_the_new_signals(app, ctx, elektro, market):
    german = app.test_client().get("/c/ranking").get_data(as_text=True)
    for text in (f"Version {marketplace.RANKING_VERSION}", "Antwortzeit: die mittlere Zahl der Stunden",
                 "Eine abgelehnte Bestellanfrage ist keine Bestellung und keine Stornierung.",
                 "Qualität, zwischen 0,25 und 1"):
        assert text in german, text
    visitor = app.test_client()
    visitor.get("/c/language/en?next=/c/ranking")
    english = visitor.get("/c/ranking").get_data(as_text=True)
    assert "A declined request to order is no order and no cancellation." in english
    schulz = market[0]
    sent = send(ctx, open_request(ctx, elektro), schulz.id)
    partner = app.test_client()
    login(partner, "schulz")
    page = partner.get(f"/my/requests/receipt/{sent.charge_id}?lang=de").get_data(as_text=True)
    assert 'data-test="receipt-speed">0,5000 (Gewicht 0,05)' in page  # decimals the German way
    assert 'data-test="receipt-cancelled_share">0,0000 (senkt die Qualität um bis zu 0,5)' in page
    assert "Punktzahl = Gebot × Qualität" in page and "score = bid" not in page  # the formula in German


def test_a_burst_of_mails_submits_one_send_task(app, ctx, elektro, market):
    def waiting():
        return ctx.scalar(sa.select(sa.func.count(Task.id)).where(
            Task.kind == "mail.send", Task.status == TaskStatus.queued))

    with transaction.unit_of_work(ctx):
        ctx.execute(sa.delete(Task))
    for n in range(3):
        with transaction.unit_of_work(ctx):
            mail.queue_mail(ctx, "direct_request", f"p{n}@example.org", "de",
                            {"name": "P", "request": None, "price": D("1.00"), "link": "", "category": "E"})
    assert waiting() == 1 and send_waiting(ctx)
    with transaction.unit_of_work(ctx):  # a worker took the task: the next mail needs a new one
        ctx.execute(sa.update(Task).values(status=TaskStatus.running))
    assert not send_waiting(ctx)
    with transaction.unit_of_work(ctx):
        mail.queue_mail(ctx, "direct_request", "p9@example.org", "de",
                        {"name": "P", "request": None, "price": D("1.00"), "link": "", "category": "E"})
    assert waiting() == 1
    assert ctx.scalar(sa.select(sa.func.count(Task.id)).where(Task.kind == "mail.send")) == 2


def test_direct_requests_submit_one_send_task(app, ctx, elektro, market):
    schulz, meier, _huber = market
    first, second, third = (open_request(ctx, elektro, email=f"k{n}@example.org") for n in range(3))
    with transaction.unit_of_work(ctx):
        ctx.execute(sa.delete(Task))
    send(ctx, first, schulz.id)
    send(ctx, second, meier.id)
    kinds = sa.select(Task.status).where(Task.kind == "mail.send")
    assert ctx.scalars(kinds).all() == [TaskStatus.queued]
    with transaction.unit_of_work(ctx):  # a worker took the task: the next mail needs a new one
        ctx.execute(sa.update(Task).values(status=TaskStatus.running))
    send(ctx, third, schulz.id)
    assert sorted(ctx.scalars(kinds).all()) == sorted([TaskStatus.running, TaskStatus.queued])
