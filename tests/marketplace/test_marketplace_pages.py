"""The story over HTTP: a customer asks for an electrician in Leipzig, confirms from the mail,
sends a direct request to the first partner, who sees it with the contact data, moves it
along and reads the receipt of its charge; the pages stay with their owners."""

from __future__ import annotations

import html
import re
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import LeadCharge, OutboxMail
from backoffice.services import marketplace
from tests.support.directory import category, published_partner
from tests.support.http import CSRF_RE, euros, login

LEIPZIG = "04109"


@pytest.fixture
def elektro(ctx):
    return category("Elektro", "Electrical", parent=category("Handwerk", "Crafts"))


@pytest.fixture
def market(ctx, make, elektro):
    schulz = published_partner(make, "schulz", elektro, postal_code=LEIPZIG, radius_km=30,
                               display_name="Elektro Schulz")
    meier = published_partner(make, "meier", elektro, postal_code=LEIPZIG, radius_km=30,
                              display_name="Meier Elektrik")
    with transaction.unit_of_work(ctx):
        marketplace.set_bid(ctx, schulz.id, elektro.id, D("12.00"))
        marketplace.set_bid(ctx, meier.id, elektro.id, D("9.00"))
    return schulz, meier


def open_and_send(ctx, elektro, partner, description: str, *, name="Karla Kunde", email="karla@example.org"):
    """A customer's confirmed request in Leipzig, sent to `partner`: (the request, the `Sent`)."""
    with transaction.unit_of_work(ctx):
        request = marketplace.submit_request(
            ctx, category_id=elektro.id, description=description, postal_code=LEIPZIG,
            name=name, email=email, confirm_url="x")
        request.status = marketplace.RequestStatus.open
    return request, transaction.run(lambda s: marketplace.send_direct_request(s, request.id, partner.id))


def token(page) -> str:
    return CSRF_RE.search(page.get_data(as_text=True)).group(1)


def audit_of(ctx, entity: str) -> list[tuple]:
    from backoffice.models import AuditEntry

    ctx.expire_all()
    entries = sa.select(AuditEntry).where(AuditEntry.entity == entity).order_by(AuditEntry.id)
    return [(e.entity_id, e.address_id, e.field, e.old_value, e.new_value, e.reason, e.actor_label)
            for e in ctx.scalars(entries)]


def test_a_customer_finds_sends_and_the_partner_follows_up(app, ctx, elektro, market):
    schulz, meier = market
    customer = app.test_client()
    form = customer.get("/c/requests/new")
    assert form.status_code == 200 and "Handwerk › Elektro" in form.get_data(as_text=True)
    sent = customer.post("/c/requests/new", data={
        "csrf_token": token(form), "category_id": elektro.id, "description": "Drei Steckdosen in der Küche",
        "postal_code": LEIPZIG, "name": "Karla Kunde", "email": "karla@example.org", "phone": "0341 99"})
    assert sent.status_code == 200 and "karla@example.org" in sent.get_data(as_text=True)
    mail = ctx.execute(sa.select(OutboxMail).where(OutboxMail.kind == "request_confirm")).scalar_one()
    link = re.search(r"http://localhost(/c/requests/confirm/\S+)", mail.body_text).group(1)
    confirm = customer.get(link)
    page = customer.post(link, data={"csrf_token": token(confirm)}, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert text.index("Elektro Schulz") < text.index("Meier Elektrik")  # 12 € before 9 €
    key = re.search(r"/c/requests/([^/\"]+)/send/", text).group(1)
    done = customer.post(f"/c/requests/{key}/send/{schulz.id}", data={"csrf_token": token(page)},
                         follow_redirects=True)
    assert "schulz@partnerdesk.test" in done.get_data(as_text=True)  # the partner's contact data
    customer.post(f"/c/requests/{key}/send/{schulz.id}", data={"csrf_token": token(done)})  # twice
    assert ctx.execute(sa.select(sa.func.count(LeadCharge.id))).scalar() == 1

    partner = login(app.test_client(), "schulz")
    overview = partner.get("/my/requests/")
    body = overview.get_data(as_text=True)
    assert "Drei Steckdosen" in body and "karla@example.org" in body
    assert D("12.00") in euros(body)  # the charge, signed: a "-12,00 €" would not do
    direct = re.search(r'data-direct="(\d+)"', body).group(1)
    partner.post(f"/my/requests/{direct}/status", data={"csrf_token": token(overview), "status": "contacted"})
    charge = ctx.execute(sa.select(LeadCharge)).scalar_one()
    receipt = partner.get(f"/my/requests/receipt/{charge.id}").get_data(as_text=True)
    # net, bid, VAT, gross, parsed with their signs
    assert euros(receipt) == [D("12.00"), D("12.00"), D("2.28"), D("14.28")] and "2026-12" in receipt

    other = login(app.test_client(), "meier")
    assert "Drei Steckdosen" not in other.get("/my/requests/").get_data(as_text=True)
    assert other.get(f"/my/requests/receipt/{charge.id}").status_code == 404
    moved = other.post(f"/my/requests/{direct}/status",
                       data={"csrf_token": token(other.get("/my/requests/")), "status": "lost"})
    assert moved.status_code in (302, 404)
    ctx.expire_all()
    assert ctx.execute(sa.select(LeadCharge)).scalar_one().direct_request.status.value == "contacted"
    assert customer.get("/c/requests/not-a-key").status_code == 404


def test_the_owner_bids_in_german_and_a_wrong_amount_is_refused(app, ctx, elektro, market):
    partner = login(app.test_client(), "schulz")
    page = partner.get("/my/requests/")
    partner.post(f"/my/requests/bid/{elektro.id}", data={"csrf_token": token(page), "amount": "14,50",
                                                         "monthly_budget": "1.000,00"})
    bid = marketplace.bids_of(ctx, market[0].id, "de")[0]
    assert (bid.amount, bid.monthly_budget) == (D("14.50"), D("1000.00"))
    partner.post(f"/my/requests/bid/{elektro.id}", data={"csrf_token": token(page), "amount": "viel"},
                 headers={"Referer": "/my/requests/"})
    assert marketplace.bids_of(ctx, market[0].id, "de")[0].amount == D("14.50")


def test_the_shop_submits_lists_and_sends_over_the_api(app, ctx, make, elektro, market):
    from tests.support.http import api_token

    schulz = market[0]
    make.user("shop", "Shop")
    client = app.test_client()
    headers = api_token(client, "shop")
    created = client.post("/api/v1/marketplace/requests", headers=headers, json={
        "category_id": elektro.id, "description": "Wallbox in der Garage anschließen", "postal_code": LEIPZIG,
        "name": "Karla Kunde", "email": "karla@example.org"})
    assert created.status_code == 201, created.json
    request_id = created.json["id"]
    waiting = client.get(f"/api/v1/marketplace/requests/{request_id}/partners", headers=headers)
    assert waiting.status_code == 409 and waiting.json["error"] == "request_not_open"
    mail = ctx.execute(sa.select(OutboxMail).where(OutboxMail.kind == "request_confirm")).scalar_one()
    with transaction.unit_of_work(ctx):
        marketplace.confirm_request(ctx, mail.body_text.split("/c/requests/confirm/")[1].split()[0])
    ranked = client.get(f"/api/v1/marketplace/requests/{request_id}/partners", headers=headers)
    assert [p["partner_id"] for p in ranked.json["partners"]] == [schulz.id, market[1].id]
    first = client.post(f"/api/v1/marketplace/requests/{request_id}/direct", headers=headers,
                        json={"partner_id": schulz.id})
    again = client.post(f"/api/v1/marketplace/requests/{request_id}/direct", headers=headers,
                        json={"partner_id": schulz.id})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["partner"]["email"] == "schulz@partnerdesk.test"
    wrong = client.post(f"/api/v1/marketplace/requests/{request_id}/direct", headers=headers,
                        json={"partner_id": "schulz"})
    assert wrong.status_code == 422 and "partner_id" in wrong.json["fields"]
    assert ctx.execute(sa.select(sa.func.count(LeadCharge.id))).scalar() == 1


def test_a_done_job_asks_for_one_review_that_lifts_the_ranking(app, ctx, elektro, market):
    schulz, meier = market
    request, sent = open_and_send(ctx, elektro, meier, "Sicherungskasten tauschen")
    partner = login(app.test_client(), "meier")
    page = partner.get("/my/requests/")
    for step in ("contacted", "done"):
        partner.post(f"/my/requests/{sent.direct_request_id}/status", data={"csrf_token": token(page),
                                                                           "status": step})
    mail = ctx.execute(sa.select(OutboxMail).where(OutboxMail.kind == "review_request")).scalar_one()
    link = re.search(r"http://localhost(/c/reviews/\S+)", mail.body_text).group(1)
    customer = app.test_client()
    form = customer.get(link)
    assert "Meier Elektrik" in form.get_data(as_text=True)
    refused = customer.post(link, data={"csrf_token": token(form), "stars": "9"})
    assert refused.status_code == 422
    done = customer.post(link, data={"csrf_token": token(form), "stars": "5", "text": "Schnell und sauber"})
    assert done.status_code == 200
    again = customer.post(link, data={"csrf_token": token(form), "stars": "1"})
    assert again.status_code == 422  # one review per job
    rating = marketplace.ratings(ctx, [meier.id])[meier.id]
    assert (rating.average, rating.count, rating.smoothed) == (D("5.0"), 1, D("4.2500"))  # (4 × 3 + 5) / 4
    assert [r.text for r in marketplace.visible_reviews(ctx, meier.id)] == ["Schnell und sauber"]


def test_staff_see_requests_and_charges_and_hide_a_review_only_with_a_reason(app, ctx, make, elektro, market):
    schulz = market[0]
    request, sent = open_and_send(ctx, elektro, schulz, "Zähler umbauen lassen")
    with transaction.unit_of_work(ctx):
        for step in (marketplace.DirectStatus.contacted, marketplace.DirectStatus.done):
            marketplace.move_direct_request(ctx, schulz.id, sent.direct_request_id, step, review_url="x/")
    review_token = ctx.execute(sa.select(OutboxMail).where(OutboxMail.kind == "review_request")
                               ).scalar_one().body_text.split("x/")[1].split()[0]
    with transaction.unit_of_work(ctx):
        review = marketplace.submit_review(ctx, review_token, 1, "Beleidigung")
    make.user("fiona", "Finance")
    finance = login(app.test_client(), "fiona")
    assert D("12.00") in euros(finance.get("/leadchargeview/list/").get_data(as_text=True))
    make.user("stefan", "Staff")
    staff = login(app.test_client(), "stefan")
    assert "Zähler umbauen lassen" not in staff.get("/leadrequestview/list/").get_data(as_text=True)
    assert "Karla Kunde" in staff.get("/leadrequestview/list/").get_data(as_text=True)
    form = staff.get(f"/reviewview/edit/{review.id}")
    staff.post(f"/reviewview/edit/{review.id}", data={"csrf_token": token(form), "hidden": "y",
                                                       "hidden_reason": ""})
    ctx.expire_all()
    assert marketplace.visible_reviews(ctx, schulz.id) != []
    staff.post(f"/reviewview/edit/{review.id}", data={"csrf_token": token(form), "hidden": "y",
                                                       "hidden_reason": "Beleidigend"})
    ctx.expire_all()
    assert marketplace.visible_reviews(ctx, schulz.id) == []
    assert audit_of(ctx, "review") == [
        (review.id, schulz.address_id, "hidden", "False", "True", "Beleidigend", "stefan")]


def test_a_partner_contests_a_charge_and_staff_accept_it(app, ctx, make, elektro, market):
    from backoffice.models import ChargeDispute

    schulz = market[0]
    _, sent = open_and_send(ctx, elektro, schulz, "Fake Anfrage hier", name="Niemand",
                            email="fake@example.org")
    partner = login(app.test_client(), "schulz")
    receipt = partner.get(f"/my/requests/receipt/{sent.charge_id}")
    partner.post(f"/my/requests/receipt/{sent.charge_id}/dispute",
                 data={"csrf_token": token(receipt), "reason": "fake", "note": "Nummer gibt es nicht"})
    dispute = ctx.execute(sa.select(ChargeDispute)).scalar_one()
    assert dispute.status.value == "open" and dispute.note == "Nummer gibt es nicht"
    other = login(app.test_client(), "meier")
    page = other.get("/my/requests/")
    refused = other.post(f"/my/requests/receipt/{sent.charge_id}/dispute",
                         data={"csrf_token": token(page), "reason": "fake"})
    assert refused.status_code in (302, 404)
    make.user("stefan", "Staff")
    staff = login(app.test_client(), "stefan")
    listing = staff.get("/desk/disputes/")
    assert "Nummer gibt es nicht" in listing.get_data(as_text=True)
    staff.post(f"/desk/disputes/{dispute.id}", data={"csrf_token": token(listing), "decision": "accept",
                                                      "decision_reason": "Belegt"})
    ctx.expire_all()
    assert ctx.get(ChargeDispute, dispute.id).status.value == "accepted"


def reviewed(ctx, elektro, partner, email: str, stars: int, text: str):
    """A request of `email` sent to `partner`, done, and reviewed through the mailed link."""
    _, sent = open_and_send(ctx, elektro, partner, "Lampe im Flur anschließen", email=email)
    with transaction.unit_of_work(ctx):
        for step in (marketplace.DirectStatus.contacted, marketplace.DirectStatus.done):
            marketplace.move_direct_request(ctx, partner.id, sent.direct_request_id, step, review_url="x/")
    link = ctx.execute(sa.select(OutboxMail.body_text).where(OutboxMail.kind == "review_request")
                       .order_by(OutboxMail.id.desc())).scalars().first()
    with transaction.unit_of_work(ctx):
        return marketplace.submit_review(ctx, link.split("x/")[1].split()[0], stars, text)


def test_the_profile_shows_the_visible_reviews_and_the_ranking_is_explained_publicly(app, ctx, elektro,
                                                                                    market):
    schulz = market[0]
    for email, stars, text in (("a@example.org", 5, "Sehr gut"), ("b@example.org", 4, "Gut"),
                               ("c@example.org", 1, "Beleidigung")):
        review = reviewed(ctx, elektro, schulz, email, stars, text)
    with transaction.unit_of_work(ctx):
        review.hidden, review.hidden_reason = True, "Beleidigend"
    visitor = app.test_client()
    page = visitor.get(f"/directory/partner/{schulz.id}").get_data(as_text=True)
    assert "Durchschnittlich 4,5 von 5 Sternen (2 Bewertungen)" in page
    assert "Sehr gut" in page and "Gut" in page and "Beleidigung" not in page
    assert "Karla K." in page and "Karla Kunde" not in page
    german = visitor.get("/c/ranking").get_data(as_text=True)
    assert "Wie die Partner sortiert werden" in german and "Punktzahl = Gebot × Qualität" in german
    assert "score = bid" not in german and "0,25 × Bewertung / 5" in german
    assert "innerhalb von 24 Stunden" in german and "zusammen mit 3 Bewertungen zu 4 Sternen" in german
    visitor.get("/c/language/en?next=/c/ranking")
    english = visitor.get("/c/ranking").get_data(as_text=True)
    assert "How the partners are ordered" in english and "within 24 hours" in english
    assert marketplace.FORMULA in english


def test_the_current_formula_has_its_text_in_both_languages(app):
    from flask_babel import force_locale

    from backoffice.views.receipts import FORMULA_TEXT

    with app.test_request_context(), force_locale("en"):
        assert str(FORMULA_TEXT[marketplace.RANKING_VERSION]) == marketplace.FORMULA
    with app.test_request_context(), force_locale("de"):
        assert str(FORMULA_TEXT[marketplace.RANKING_VERSION]).startswith("Punktzahl = Gebot × Qualität")


def test_staff_set_a_categorys_minimum_bid_in_german_and_lower_bids_are_refused(app, ctx, make, elektro,
                                                                                market):
    from backoffice.errors import RuleViolations
    from backoffice.models import Category

    make.user("stefan", "Staff")
    staff = login(app.test_client(), "stefan")
    form = staff.get(f"/desk/categories/edit/{elektro.id}")
    assert "Mindestgebot pro Anfrage (netto)" in form.get_data(as_text=True)
    values = {"csrf_token": token(form), "name_de": "Elektro", "name_en": "Electrical",
              "parent": str(elektro.parent_id), "active": "y", "position": "0"}
    refused = staff.post(f"/desk/categories/edit/{elektro.id}", data={**values, "min_bid": "-1"})
    assert "Das Mindestgebot kann nicht negativ sein." in refused.get_data(as_text=True)
    staff.post(f"/desk/categories/edit/{elektro.id}", data={**values, "min_bid": "12,50"})
    ctx.expire_all()
    assert ctx.get(Category, elektro.id).min_bid == D("12.50")
    with pytest.raises(RuleViolations) as low, transaction.unit_of_work(ctx):
        marketplace.set_bid(ctx, market[0].id, elektro.id, D("12.00"))
    assert low.value.errors == {"amount": ["Das Gebot muss mindestens 12,50 € betragen."]}


def test_a_partner_answers_a_review_once_and_only_its_own(app, ctx, elektro, market):
    schulz = market[0]
    review = reviewed(ctx, elektro, schulz, "karla@example.org", 3, "Geht so")
    other = login(app.test_client(), "meier")
    assert "Geht so" not in other.get("/my/requests/").get_data(as_text=True)
    foreign = other.post(f"/my/requests/review/{review.id}/answer",
                         data={"csrf_token": token(other.get("/my/requests/")), "answer": "Fremd"})
    assert foreign.status_code in (302, 404)
    partner = login(app.test_client(), "schulz")
    page = partner.get("/my/requests/")
    assert "Geht so" in page.get_data(as_text=True)
    partner.post(f"/my/requests/review/{review.id}/answer", data={"csrf_token": token(page),
                                                                  "answer": "Danke, wir kommen gern wieder."})
    again = partner.post(f"/my/requests/review/{review.id}/answer",
                         data={"csrf_token": token(page), "answer": "Nochmal"}, follow_redirects=True)
    assert "Sie haben diese Bewertung bereits beantwortet." in again.get_data(as_text=True)
    profile = app.test_client().get(f"/directory/partner/{schulz.id}").get_data(as_text=True)
    assert "Antwort von Elektro Schulz: Danke, wir kommen gern wieder." in profile
    assert "Nochmal" not in profile and "Fremd" not in profile


def test_the_request_form_is_throttled_per_client(app, ctx, elektro, market):
    app.config["MARKETPLACE_REQUESTS_PER_CLIENT_HOUR"] = 2
    try:
        customer = app.test_client()
        answers = []
        for n in range(3):
            form = customer.get("/c/requests/new")
            answers.append(customer.post("/c/requests/new", data={
                "csrf_token": token(form), "category_id": elektro.id, "description": "Drei Steckdosen setzen",
                "postal_code": LEIPZIG, "name": "Karla Kunde", "email": f"k{n}@example.org"}))
    finally:
        del app.config["MARKETPLACE_REQUESTS_PER_CLIENT_HOUR"]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "Zu viele Anfragen von Ihrem Anschluss. Bitte versuchen Sie es in 60 Minuten erneut." in \
        answers[2].get_data(as_text=True)
    assert ctx.execute(sa.select(sa.func.count(OutboxMail.id)).where(OutboxMail.kind == "request_confirm")
                       ).scalar() == 2


def job_reviewed(ctx, elektro, stars_by_partner: dict[int, int]) -> None:
    """A lead matched to the partners; each partner asks it for a review, and it gives the stars."""
    from backoffice.models import JobAssignment
    from backoffice.services import jobs

    with transaction.unit_of_work(ctx):
        posted = jobs.post_lead(ctx, {"category_id": elektro.id, "requirements": "Ein Shop für Lampen",
                                      "postal_code": LEIPZIG, "name": "Lea Lampe", "email": "lea@example.org",
                                      "phone": "0341 1234"})
    assert sorted(posted.partner_ids) == sorted(stars_by_partner)
    for partner_id, stars in stars_by_partner.items():
        assignment_id = ctx.scalar(sa.select(JobAssignment.id).where(JobAssignment.job_id == posted.job_id,
                                                                     JobAssignment.partner_id == partner_id))
        with transaction.unit_of_work(ctx):
            jobs.ask_lead_review(ctx, partner_id, assignment_id, review_url="http://localhost/c/jobs/reviews/")
        link = ctx.scalars(sa.select(OutboxMail.body_text).where(OutboxMail.kind == "job_review")
                           .order_by(OutboxMail.id.desc())).first()
        with transaction.unit_of_work(ctx):
            jobs.submit_review(ctx, link.split("/c/jobs/reviews/")[1].split()[0], stars, f"Auftrag {stars}")


def test_one_rating_counts_direct_request_and_job_reviews_on_the_profile_and_in_the_ranking(app, ctx, elektro,
                                                                                          market):
    schulz, meier = market
    reviewed(ctx, elektro, schulz, "a@example.org", 5, "Sehr gut")
    hidden = reviewed(ctx, elektro, schulz, "b@example.org", 1, "Beleidigung")
    with transaction.unit_of_work(ctx):
        hidden.hidden, hidden.hidden_reason = True, "Beleidigend"
    job_reviewed(ctx, elektro, {schulz.id: 2, meier.id: 4})
    rating = marketplace.ratings(ctx, [schulz.id, meier.id])
    assert (rating[schulz.id].average, rating[schulz.id].count, rating[schulz.id].smoothed) == (
        D("3.5"), 2, D("3.8000"))  # (4 × 3 + 5 + 2) / 5
    assert (rating[meier.id].average, rating[meier.id].count, rating[meier.id].smoothed) == (
        D("4.0"), 1, D("4.0000"))
    assert [(r.stars, r.text, r.author_name) for r in marketplace.visible_reviews(ctx, schulz.id)] == [
        (2, "Auftrag 2", "Lea Lampe"), (5, "Sehr gut", "Karla Kunde")]
    page = app.test_client().get(f"/directory/partner/{schulz.id}").get_data(as_text=True)
    assert "Durchschnittlich 3,5 von 5 Sternen (2 Bewertungen)" in page
    assert "Auftrag 2" in page and "Lea L." in page and "Sehr gut" in page
    assert "Beleidigung" not in page and "Auftrag 4" not in page
    with transaction.unit_of_work(ctx):
        request = marketplace.submit_request(
            ctx, category_id=elektro.id, description="Herd anschließen", postal_code=LEIPZIG,
            name="Karla Kunde", email="c@example.org", confirm_url="x")
    ranked = {r.partner_id: r.rating for r in marketplace.rank(ctx, request)}
    assert ranked == {schulz.id: D("3.8000"), meier.id: D("4.0000")}


def test_staff_hide_a_job_review_with_a_reason_and_it_leaves_the_profile_and_the_rating(app, ctx, make,
                                                                                       elektro, market):
    from backoffice.models import JobReview

    schulz, meier = market
    reviewed(ctx, elektro, schulz, "a@example.org", 5, "Sehr gut")
    job_reviewed(ctx, elektro, {schulz.id: 1, meier.id: 4})
    review = ctx.scalar(sa.select(JobReview).where(JobReview.partner_id == schulz.id))
    make.user("stefan", "Staff")
    staff = login(app.test_client(), "stefan")
    listed = staff.get("/jobreviewview/list/").get_data(as_text=True)
    assert "Job-Bewertungen" in listed and "Lea Lampe" in listed
    form = staff.get(f"/jobreviewview/edit/{review.id}")
    staff.post(f"/jobreviewview/edit/{review.id}", data={"csrf_token": token(form), "hidden": "y",
                                                          "hidden_reason": " "})
    ctx.expire_all()  # the test's session is the request's: what the refused form set is dropped
    assert ctx.get(JobReview, review.id).hidden is False and audit_of(ctx, "job_review") == []
    refused = staff.get(f"/jobreviewview/edit/{review.id}").get_data(as_text=True)
    assert "Geben Sie einen Grund für das Ausblenden der Bewertung an." in refused
    staff.post(f"/jobreviewview/edit/{review.id}", data={"csrf_token": token(form), "hidden": "y",
                                                          "hidden_reason": "Kein Auftrag erteilt"})
    ctx.expire_all()
    assert (ctx.get(JobReview, review.id).hidden, ctx.get(JobReview, review.id).hidden_reason) == (
        True, "Kein Auftrag erteilt")
    rating = marketplace.ratings(ctx, [schulz.id, meier.id])
    assert (rating[schulz.id].average, rating[schulz.id].count, rating[schulz.id].smoothed) == (
        D("5.0"), 1, D("4.2500"))  # (4 × 3 + 5) / 4: the hidden 1 star counts no more
    assert (rating[meier.id].average, rating[meier.id].count) == (D("4.0"), 1)
    assert [r.text for r in marketplace.visible_reviews(ctx, schulz.id)] == ["Sehr gut"]
    page = app.test_client().get(f"/directory/partner/{schulz.id}").get_data(as_text=True)
    assert "Durchschnittlich 5,0 von 5 Sternen (1 Bewertung)" in page and "Auftrag 1" not in page
    with transaction.unit_of_work(ctx):
        request = marketplace.submit_request(
            ctx, category_id=elektro.id, description="Herd anschließen", postal_code=LEIPZIG,
            name="Karla Kunde", email="c@example.org", confirm_url="x")
    ranked = {r.partner_id: r.rating for r in marketplace.rank(ctx, request)}
    assert ranked == {schulz.id: D("4.2500"), meier.id: D("4.0000")}  # the ranking's rating too
    assert audit_of(ctx, "job_review") == [(review.id, schulz.address_id, "hidden", "False", "True",
                                            "Kein Auftrag erteilt", "stefan")]
    staff.post(f"/jobreviewview/edit/{review.id}", data={"csrf_token": token(form), "hidden_reason": ""})
    ctx.expire_all()
    assert marketplace.ratings(ctx, [schulz.id])[schulz.id].count == 2
    assert [r.text for r in marketplace.visible_reviews(ctx, schulz.id)] == ["Auftrag 1", "Sehr gut"]
    assert audit_of(ctx, "job_review")[-1] == (review.id, schulz.address_id, "hidden", "True", "False", None,
                                               "stefan")


def _facts(page: str) -> dict[str, str]:
    """A shown receipt's facts: label → text, as staff or the partner read them."""
    pairs = (re.findall(r'<th scope="row">([^<]+)</th><td data-test="receipt-\w+">([^<]+)</td>', page)
             or re.findall(r'<dt>([^<]+)</dt><dd data-test="receipt-\w+">([^<]+)</dd>', page))
    return {html.unescape(label): html.unescape(text) for label, text in pairs}


def test_staff_read_a_charges_receipt_as_facts_in_the_ui_language(app, ctx, make, elektro, market):
    schulz = market[0]
    request, sent = open_and_send(ctx, elektro, schulz, "Herd anschließen bitte")
    receipt = marketplace.receipt_of(ctx.get(LeadCharge, sent.charge_id))
    make.user("fiona", "Finance")
    finance = login(app.test_client(), "fiona")
    page = finance.get(f"/leadchargeview/show/{sent.charge_id}").get_data(as_text=True)
    assert "formula_version" not in page and "&#34;" not in page  # no raw JSON
    facts = _facts(page)
    german = receipt["signals"]["responsiveness"].replace(".", ",")
    assert {label: facts.get(label) for label in (
        "Passende Partner", "Platz in der Rangfolge", "Gebot", "Monatsbudget", "Reaktionsquote",
        "Antwortzeit", "Bewertung", "Stornierte Bestellungen", "Entfernung zur Anfrage", "Preisregel",
        "Netto", "MwSt.", "Brutto")} == {
        "Passende Partner": "2", "Platz in der Rangfolge": "1", "Gebot": "12,00\xa0€", "Monatsbudget": "—",
        "Reaktionsquote": f"{german} (Gewicht 0,2)", "Antwortzeit": "0,5000 (Gewicht 0,05)",
        "Bewertung": "4,0000 (Gewicht 0,25)",
        "Stornierte Bestellungen": "0,0000 (senkt die Qualität um bis zu 0,5)",
        "Entfernung zur Anfrage": "0,0 km",
        "Preisregel": "Das Gebot des Partners im Moment der Direktanfrage.",
        "Netto": "12,00\xa0€", "MwSt.": "2,28\xa0€ (19 %)", "Brutto": "14,28\xa0€"}
    assert facts["Qualität"] == receipt["quality"].replace(".", ",")
    assert facts["Punktzahl"] == receipt["score"].replace(".", ",")
    assert facts["Formel"].startswith("Punktzahl = Gebot × Qualität") and facts["Formel"].endswith(
        f"({marketplace.RANKING_VERSION})")

    finance.get("/lang/en")
    english = _facts(finance.get(f"/leadchargeview/show/{sent.charge_id}").get_data(as_text=True))
    assert english["Rating"] == "4.0000 (weight 0.25)" and english["Gross"] == "€14.28"
    assert english["Place in the ranking"] == "1" and english["Distance to the request"] == "0.0 km"
    assert english["Price rule"] == "The partner's bid at the moment of the direct request."


def test_the_partner_reads_the_same_facts_on_its_receipt_page(app, ctx, elektro, market):
    schulz = market[0]
    request, sent = open_and_send(ctx, elektro, schulz, "Herd anschließen bitte")
    partner = login(app.test_client(), "schulz")
    facts = _facts(partner.get(f"/my/requests/receipt/{sent.charge_id}").get_data(as_text=True))
    assert (facts["Ihre Position"], facts["Ihr Gebot"], facts["Bewertung"]) == ("1", "12,00\xa0€",
                                                                                 "4,0000 (Gewicht 0,25)")
    assert facts["Preisregel"] == "Ihr Gebot im Moment der Direktanfrage."
    assert facts["MwSt."] == "2,28\xa0€ (19 %)"


def test_staff_see_which_partner_a_charge_was_made_to_and_its_vat_rate_as_percent(
        app, ctx, make, elektro, market):
    schulz = market[0]
    with transaction.unit_of_work(ctx):
        request = marketplace.submit_request(
            ctx, category_id=elektro.id, description="Licht im Flur", postal_code=LEIPZIG,
            name="Karla Kunde", email="karla@example.org", confirm_url="x")
        request.status = marketplace.RequestStatus.open
    sent = transaction.run(lambda s: marketplace.send_direct_request(s, request.id, schulz.id))
    make.user("fiona", "Finance")
    finance = login(app.test_client(), "fiona")
    charged = html.escape(str(ctx.get(LeadCharge, sent.charge_id).partner), quote=False)
    assert "Schulz" in charged
    listed = finance.get("/leadchargeview/list/").get_data(as_text=True)
    assert charged in listed
    shown = finance.get(f"/leadchargeview/show/{sent.charge_id}").get_data(as_text=True)
    assert charged in shown and re.search(r"MwSt.-Satz</th>\s*<td>\s*<span[^>]*>19\s%</span>", shown)


def test_an_open_request_reads_as_offen_not_as_the_verb(app, ctx, make, elektro, market):
    with transaction.unit_of_work(ctx):
        request = marketplace.submit_request(
            ctx, category_id=elektro.id, description="Steckdose setzen", postal_code=LEIPZIG,
            name="Karla Kunde", email="karla@example.org", confirm_url="x")
        request.status = marketplace.RequestStatus.open
    make.user("stefan", "Staff")
    staff = login(app.test_client(), "stefan")
    shown = staff.get(f"/leadrequestview/show/{request.id}").get_data(as_text=True)
    assert re.search(r">\s*Offen\s*<", shown) and "Öffnen" not in shown
    assert "Öffnen" not in staff.get("/desk/downline/").get_data(as_text=True)


def test_a_refused_bid_keeps_what_was_typed_and_says_at_each_field_what_is_wrong(app, ctx, elektro, market):
    partner = login(app.test_client(), "schulz")
    page = partner.get("/my/requests/")
    refused = partner.post(f"/my/requests/bid/{elektro.id}", data={
        "csrf_token": token(page), "amount": "14,50", "monthly_budget": "viel"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert re.search(r'id="monthly_budget-\d+"[^>]*value="viel"[^>]*aria-invalid="true"', text)
    wrong = re.search(r'id="monthly_budget-\d+-error"[^>]*>([^<]+)<', text).group(1)
    assert wrong == "Schreiben Sie den Betrag als 1.234,56 oder 1234.56."
    assert 'value="14,50"' in text
    low = partner.post(f"/my/requests/bid/{elektro.id}", data={"csrf_token": token(page), "amount": "0,50"})
    assert low.status_code == 422
    message = re.search(r'id="amount-\d+-error"[^>]*>([^<]+)<', low.get_data(as_text=True)).group(1)
    assert message.startswith("Das Gebot muss mindestens ") and "amount:" not in message
    assert re.search(r"\d,\d\d", message), message
    assert marketplace.bids_of(ctx, market[0].id, "de")[0].amount == D("12.00")


def test_a_refusal_flashed_on_a_page_names_no_field_keys(app, market):
    partner = login(app.test_client(), "schulz")
    page = partner.get("/my/requests/")
    answered = partner.post("/my/requests/review/1/answer", data={"csrf_token": token(page), "answer": " "},
                            headers={"Referer": "/my/requests/"}, follow_redirects=True)
    text = answered.get_data(as_text=True)
    assert "Schreiben Sie eine Antwort." in text and "answer:" not in text
