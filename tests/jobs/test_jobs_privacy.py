"""A customer's expert jobs in its personal data (GDPR): its jobs and leads, the partners'
course of them and its reviews are exported; erasure anonymises what the customer wrote and
keeps the partners' rows, their own texts and the stars."""

from __future__ import annotations

import json

import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import Actor, ExpertJob, JobAssignment, JobReview, JobStatus, JobTransition, OutboxMail
from backoffice.services import jobs, privacy

from .test_jobs import JOB, NOW, assignment, post

REVIEWS = "http://localhost/c/jobs/reviews/"
KARLA = ["Karla", "Kaffee", "karla@example.org", "Bohnenglück", "bohnen.example", "Röstkaffee",
         "Kaffeeladen", "030 5550123", "0171 999"]


def lead(ctx, design, name, email, phone):
    with transaction.unit_of_work(ctx):
        return jobs.post_lead(ctx, {"category_id": design.id, "requirements": f"Online-Shop für {name}",
                                    "postal_code": "10115", "name": name, "email": email, "phone": phone},
                              now=NOW).job_id


def test_jobs_are_exported_and_erased_while_stars_and_the_partners_texts_stay(ctx, market, design):
    schulz, meier, _far, karla = market
    job_id = post(ctx, karla, design).job_id
    done, declined = assignment(ctx, job_id, schulz.id), assignment(ctx, job_id, meier.id)
    with transaction.unit_of_work(ctx):
        jobs.reply(ctx, schulz.id, done.id, "Gern, wir legen los.", now=NOW)
        jobs.mark(ctx, schulz.id, done.id, JobStatus.completed, review_url=REVIEWS, now=NOW)
        jobs.reply(ctx, meier.id, declined.id, "Hallo!", now=NOW)
        jobs.decline_by_customer(ctx, karla.id, declined.id, "Zu teuer, ruf mich an: 0171 999", now=NOW)
    body = ctx.scalar(sa.select(OutboxMail.body_text).where(OutboxMail.kind == "job_review"))
    with transaction.unit_of_work(ctx):
        jobs.submit_review(ctx, body.split(REVIEWS)[1].split()[0], 5, "Karla findet: schnell", now=NOW)
    own_lead = lead(ctx, design, "Karla Kaffee", "KARLA@example.org", "030 5550123")  # without an account
    other_lead = lead(ctx, design, "Lea Lead", "lea@example.org", "030 1234")

    data = privacy.personal_data(ctx, karla.id)
    assert [(j["id"], j["kind"], j["requirements"]) for j in data["expert_jobs"]] == [
        (job_id, "match", JOB["requirements"]), (own_lead, "lead", "Online-Shop für Karla Kaffee")]
    assert data["expert_jobs"][0]["store_name"] == "Bohnenglück"
    courses = {a["partner_id"]: a for a in data["expert_jobs"][0]["assignments"]}
    assert courses[meier.id]["status"] == "declined"
    assert courses[meier.id]["steps"][-1]["reason"] == "Zu teuer, ruf mich an: 0171 999"
    assert [(r["of"], r["stars"], r["text"]) for r in data["reviews"]] == [
        ("expert_job", 5, "Karla findet: schnell")]
    assert "Lea Lead" not in privacy.as_json(data).decode()

    with transaction.unit_of_work(ctx):
        privacy.erase(ctx, karla.id, reason="Art. 17", actor_user_id=None, actor_label="staff")
    ctx.expire_all()
    J = ExpertJob
    texts = ctx.execute(sa.select(J.id, J.requirements, J.business_info, J.store_name, J.store_url,
                                  J.merchant_name, J.contact_email, J.contact_phone, J.postal_code)
                        .order_by(J.id)).all()
    assert texts == [(job_id, "—", None, None, None, "—", None, None, "10115"),
                     (own_lead, "—", None, None, None, "—", None, None, "10115"),
                     (other_lead, "Online-Shop für Lea Lead", None, None, None, "Lea Lead", "lea@example.org",
                      "030 1234", "10115")]
    review = ctx.scalars(sa.select(JobReview)).one()
    assert (review.partner_id, review.stars, review.text, review.author_name) == (schulz.id, 5, None, "—")
    # The partners' course stays; the customer's decline reason goes.
    assert ctx.get(JobAssignment, declined.id).status is JobStatus.declined
    assert ctx.get(JobAssignment, declined.id).decline_reason is None
    assert ctx.get(JobAssignment, done.id).status is JobStatus.completed
    reasons = ctx.execute(sa.select(JobTransition.actor, JobTransition.reason)
                          .where(JobTransition.reason.is_not(None))).all()
    assert all(actor is not Actor.customer for actor, _reason in reasons)
    exported = json.dumps(privacy.personal_data(ctx, karla.id), ensure_ascii=False)
    for personal in KARLA:
        assert personal not in exported, personal
    assert '"stars": 5' in exported
