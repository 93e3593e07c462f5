"""A customer's marketplace requests and reviews in its personal data (GDPR): exported, and on
erasure anonymised while the charges stay billable and the stars stay in the rating."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal as D

import openpyxl
import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.errors import Conflict
from backoffice.models import (
    AddressType,
    DirectStatus,
    LeadCharge,
    LeadRequest,
    OutboxMail,
    RequestStatus,
    Review,
)
from backoffice.services import marketplace, privacy
from backoffice.services.billing import Period

from . import test_marketplace as story

NOW, LEIPZIG, send = story.NOW, story.LEIPZIG, story.send
elektro, market = story.elektro, story.market  # the story's fixtures
REVIEWS = "http://desk/c/reviews/"
ERIKA = ["Erika", "Muster", "erika@example.org", "0171 5550123", "Hauptstr. 5", "Dienstags ab 8"]


def submit(ctx, elektro, *, email, description, address_id=None, name="Erika Muster",
           phone="0171 5550123", confirm=True) -> int:
    with transaction.unit_of_work(ctx):
        request = marketplace.submit_request(
            ctx, category_id=elektro.id, description=description, postal_code=LEIPZIG, name=name,
            email=email, phone=phone, preferred_dates="Dienstags ab 8", address_id=address_id,
            confirm_url="http://desk/c/confirm/", now=NOW)
    if confirm:
        body = ctx.scalars(sa.select(OutboxMail.body_text).where(OutboxMail.kind == "request_confirm")
                           .order_by(OutboxMail.id.desc())).first()
        token = body.split("http://desk/c/confirm/")[1].split()[0]
        with transaction.unit_of_work(ctx):
            marketplace.confirm_request(ctx, token, now=NOW)
    return request.id


def review_link(ctx) -> str:
    body = ctx.scalars(sa.select(OutboxMail.body_text).where(OutboxMail.kind == "review_request")
                       .order_by(OutboxMail.id.desc())).first()
    return re.search(re.escape(REVIEWS) + r"(\S+)", body).group(1)


@pytest.fixture
def erika(ctx, make):
    return make.address(type=AddressType.customer, first_name="Erika", last_name="Muster",
                        email="erika@example.org", phone="0171 5550123")


def test_requests_and_reviews_are_exported_and_erased_but_charges_and_stars_stay(ctx, elektro, market, erika):
    schulz, meier, _huber = market
    # Signed in, and once without an account from her address (any case): both are hers.
    signed_in = submit(ctx, elektro, email="erika.shop@example.org", address_id=erika.id,
                       description="=HYPERLINK(\"http://x\") Steckdosen bei Erika Muster, Hauptstr. 5")
    anonymous = submit(ctx, elektro, email="Erika@Example.org", description="Lampe im Flur, Hauptstr. 5")
    foreign = submit(ctx, elektro, email="fremd@example.org", name="Fritz Fremd", phone="0341 999",
                     description="Fremde Anfrage mit Licht")
    unconfirmed = submit(ctx, elektro, email="erika.alt@example.org", address_id=erika.id,
                         description="Herd anschließen, Hauptstr. 5", confirm=False)
    done = send(ctx, signed_in, schulz.id)
    with transaction.unit_of_work(ctx):
        for step in (DirectStatus.contacted, DirectStatus.done):
            marketplace.move_direct_request(ctx, schulz.id, done.direct_request_id, step, NOW,
                                            review_url=REVIEWS)
    with transaction.unit_of_work(ctx):
        marketplace.submit_review(ctx, review_link(ctx), 4, "Erika sagt: pünktlich", now=NOW)
    # Meier has an appointment with her: the sweep would ask her for a review in 14 days.
    waiting = send(ctx, anonymous, meier.id)
    with transaction.unit_of_work(ctx):
        marketplace.move_direct_request(ctx, meier.id, waiting.direct_request_id, DirectStatus.contacted, NOW)
        marketplace.move_direct_request(ctx, meier.id, waiting.direct_request_id, DirectStatus.appointment,
                                        NOW, appointment_on=date(2026, 11, 10))
    charged = {c.id: c.net for c in ctx.scalars(sa.select(LeadCharge))}
    assert sorted(charged.values()) == [D("9.00"), D("12.00")]

    data = privacy.personal_data(ctx, erika.id)
    assert [(r["id"], r["email"], r["status"]) for r in data["lead_requests"]] == [
        (signed_in, "erika.shop@example.org", "open"), (anonymous, "erika@example.org", "open"),
        (unconfirmed, "erika.alt@example.org", "unconfirmed")]
    assert data["lead_requests"][0]["direct_requests"][0]["partner_id"] == schulz.id
    assert [(r["of"], r["partner_id"], r["stars"], r["text"], r["author_name"]) for r in data["reviews"]] == [
        ("direct_request", schulz.id, 4, "Erika sagt: pünktlich", "Erika Muster")]
    book = openpyxl.load_workbook(io.BytesIO(privacy.as_xlsx(data)))
    sheet = list(book["lead_requests"].iter_rows(values_only=True))
    description = sheet[0].index("description")
    assert sheet[1][description].startswith("'=HYPERLINK")  # a text, never a formula
    assert [row[0] for row in book["reviews"].iter_rows(values_only=True)] == ["id", data["reviews"][0]["id"]]
    assert "Fremd" not in privacy.as_json(data).decode()

    with transaction.unit_of_work(ctx):
        result = privacy.erase(ctx, erika.id, reason="Art. 17", actor_user_id=None, actor_label="staff")
    assert result.texts_erased == 4  # three requests and a review
    ctx.expire_all()
    R = LeadRequest
    rows = ctx.execute(sa.select(R.id, R.customer_name, R.email, R.phone, R.description, R.preferred_dates,
                                 R.postal_code, R.status).order_by(R.id)).all()
    erased = ("—", "—", None, "—", None, LEIPZIG, RequestStatus.closed)
    assert rows == [(signed_in, *erased), (anonymous, *erased), (foreign, "Fritz Fremd", "fremd@example.org",
                    "0341 999", "Fremde Anfrage mit Licht", "Dienstags ab 8", LEIPZIG, RequestStatus.open),
                    (unconfirmed, *erased)]
    # The partners' bookkeeping stays: the same charges, billed in the month as before.
    assert {c.id: c.net for c in ctx.scalars(sa.select(LeadCharge))} == charged
    billable = ctx.execute(marketplace.charge_items(ctx, Period.month(2026, 11))).all()
    assert sorted(row.net for row in billable) == [D("9.00"), D("12.00")]
    review = ctx.scalars(sa.select(Review)).one()
    assert (review.stars, review.text, review.author_name) == (4, None, "—")
    assert marketplace.ratings(ctx, [schulz.id])[schulz.id].count == 1
    # Her open request is closed: no partner is charged for it any more; she is not asked to review.
    with pytest.raises(Conflict), transaction.unit_of_work(ctx):
        marketplace.send_direct_request(ctx, anonymous, schulz.id, now=NOW)
    with transaction.unit_of_work(ctx):
        assert marketplace.ask_due_reviews(ctx, REVIEWS, now=datetime(2026, 12, 1, 12, 0, tzinfo=UTC)) == 0
    exported = privacy.as_json(privacy.personal_data(ctx, erika.id)).decode()
    for personal in ERIKA:
        assert personal not in exported, personal
    assert "pünktlich" not in exported and '"stars": 4' in exported

