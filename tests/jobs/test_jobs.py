"""Expert jobs as services: matching, the status machine with its log, the job following its
conversation, the 72-hour expiry and its reminder, search, notes, store access, leads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.errors import Conflict, NotFound, RuleViolations
from backoffice.models import (
    AccessStatus,
    Actor,
    AddressType,
    Conversation,
    JobAssignment,
    JobStatus,
    JobTransition,
    OutboxMail,
    Party,
)
from backoffice.services import conversations, jobs, marketplace

NOW = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
S = JobStatus
JOB = {
    "category_id": None,
    "requirements": "Ein Logo und ein Theme für meinen Kaffeeladen",
    "business_info": "Röstkaffee, 3 Filialen",
    "store_name": "Bohnenglück",
    "store_url": "https://bohnen.example",
    "postal_code": "10115",
    "priority_time": "3",
    "priority_cost": "1",
    "priority_quality": "2",
}


def post(ctx, customer, design, now=NOW, **values):
    with transaction.unit_of_work(ctx):
        return jobs.post_match_job(ctx, customer.id, dict(JOB, category_id=design.id, **values), now=now)


def assignment(ctx, job_id, partner_id) -> JobAssignment:
    ctx.expire_all()
    return ctx.scalar(
        sa.select(JobAssignment).where(JobAssignment.job_id == job_id, JobAssignment.partner_id == partner_id)
    )


def log(ctx, assignment_id):
    return [
        (t.from_status, t.to_status, t.actor)
        for t in ctx.scalars(
            sa.select(JobTransition)
            .where(JobTransition.assignment_id == assignment_id)
            .order_by(JobTransition.id)
        )
    ]


def test_a_match_reaches_the_partners_in_category_and_area_and_each_gets_a_mail(ctx, market, design):
    schulz, meier, far, customer = market
    posted = post(ctx, customer, design)
    assert sorted(posted.partner_ids) == sorted([schulz.id, meier.id])  # Munich is out of reach
    a = assignment(ctx, posted.job_id, schulz.id)
    assert (a.status, a.expires_at) == (S.new, NOW + timedelta(hours=72))
    assert sorted(ctx.scalars(sa.select(OutboxMail.recipient).where(OutboxMail.kind == "job_new"))) == [
        "meier@partnerdesk.test",
        "schulz@partnerdesk.test",
    ]
    # The customer learns of a matched partner only when it writes.
    assert jobs.customer_job(ctx, customer.id, posted.job_id).assignments == []
    assert jobs.customer_job(ctx, customer.id, posted.job_id).waiting == 2


def test_a_job_needs_its_content(ctx, market, design):
    customer = market[3]
    with pytest.raises(RuleViolations) as refused:
        post(
            ctx,
            customer,
            design,
            requirements="Logo",
            postal_code="00000",
            priority_cost="9",
            store_url="bohnen.example",
        )
    assert refused.value.errors == {
        "requirements": ["Beschreiben Sie in ein paar Worten, was zu tun ist (mindestens 10 Zeichen)."],
        "priority_cost": ["Wählen Sie niedrig, normal oder hoch."],
        "postal_code": ["Geben Sie eine deutsche Postleitzahl ein."],
        "store_url": ["Geben Sie die Adresse Ihres Shops mit https:// ein."],
    }


def test_a_partner_that_blocked_the_customer_is_never_matched(ctx, market, design):
    schulz, meier, _, customer = market
    with transaction.unit_of_work(ctx):
        conversations.start_conversation(
            ctx, customer.id, schulz.id, requirements="Logo", body="Hallo", now=NOW
        )
        conversations.block_customer(ctx, schulz.id, customer.id, user_id=None, now=NOW)
    assert post(ctx, customer, design).partner_ids == [meier.id]


def test_the_status_follows_views_and_messages_and_every_step_is_logged(ctx, market, design):
    schulz, meier, _, customer = market
    posted = post(ctx, customer, design)
    a = assignment(ctx, posted.job_id, schulz.id)
    with transaction.unit_of_work(ctx):
        jobs.open_job(ctx, schulz.id, a.id, user_id=schulz.user_id, now=NOW + timedelta(hours=1))
    with transaction.unit_of_work(ctx):  # a colleague opening it again changes nothing
        jobs.open_job(ctx, schulz.id, a.id, now=NOW + timedelta(hours=2))
    with transaction.unit_of_work(ctx):
        jobs.reply(
            ctx,
            schulz.id,
            a.id,
            "Gern, ich habe nächste Woche Zeit.",
            user_id=schulz.user_id,
            now=NOW + timedelta(hours=3),
        )
    a = assignment(ctx, posted.job_id, schulz.id)
    assert (a.status, a.first_reply_at) == (S.replied, NOW + timedelta(hours=3))
    conversation = ctx.get(Conversation, a.conversation_id)
    assert [(m.sender, m.body) for m in conversation.messages] == [
        (Party.customer, JOB["requirements"]),
        (Party.partner, "Gern, ich habe nächste Woche Zeit."),
    ]
    # Now the customer sees Schulz (and only Schulz).
    assert [x.partner_id for x in jobs.customer_job(ctx, customer.id, posted.job_id).assignments] == [
        schulz.id
    ]
    with transaction.unit_of_work(ctx):
        jobs.write_as_customer(ctx, customer.id, a.id, "Prima, was kostet das?", now=NOW + timedelta(hours=4))
    assert assignment(ctx, posted.job_id, schulz.id).status is S.awaiting_response
    with transaction.unit_of_work(ctx):
        jobs.reply(ctx, schulz.id, a.id, "500 Euro.", now=NOW + timedelta(hours=5))
    with transaction.unit_of_work(ctx):
        jobs.mark(
            ctx,
            schulz.id,
            a.id,
            S.completed,
            review_url="http://localhost/c/jobs/reviews/",
            now=NOW + timedelta(hours=6),
        )
    with transaction.unit_of_work(ctx):
        jobs.close(ctx, customer.id, a.id, now=NOW + timedelta(hours=7))
    assert log(ctx, a.id) == [
        (None, S.new, Actor.customer),
        (S.new, S.opened, Actor.partner),
        (S.opened, S.replied, Actor.partner),
        (S.replied, S.awaiting_response, Actor.customer),
        (S.awaiting_response, S.replied, Actor.partner),
        (S.replied, S.completed, Actor.partner),
        (S.completed, S.closed, Actor.customer),
    ]
    review = ctx.scalars(sa.select(OutboxMail).where(OutboxMail.kind == "job_review")).one()
    assert review.recipient == "karla@example.org" and "Schulz Design" in review.subject
    # Meier's job is untouched by all this.
    assert assignment(ctx, posted.job_id, meier.id).status is S.new


def test_illegal_transitions_are_refused_with_a_clear_message(ctx, market, design):
    schulz, _, _, customer = market
    posted = post(ctx, customer, design)
    a = assignment(ctx, posted.job_id, schulz.id)
    with pytest.raises(Conflict) as refused:
        jobs.mark(ctx, schulz.id, a.id, S.completed)
    assert refused.value.message == "Ein Job mit dem Status „Neu“ kann nicht „Abgeschlossen“ werden."
    with pytest.raises(RuleViolations) as no_reason:
        jobs.decline_by_partner(ctx, schulz.id, a.id, " ")
    assert no_reason.value.errors == {"reason": ["Geben Sie einen Grund an."]}
    with transaction.unit_of_work(ctx):
        jobs.decline_by_partner(ctx, schulz.id, a.id, "Keine Kapazität", now=NOW)
    with pytest.raises(Conflict) as again:
        jobs.reply(ctx, schulz.id, a.id, "Doch noch?")
    assert again.value.message == "Ein Job mit dem Status „Abgelehnt“ kann nicht „Beantwortet“ werden."
    with pytest.raises(NotFound):  # another partner's job does not exist for them
        jobs.open_job(ctx, market[1].id, a.id)


def test_expiry_after_72_hours_once_with_a_reminder_24_hours_before(ctx, market, design):
    schulz, meier, _, customer = market
    posted = post(ctx, customer, design)
    a = assignment(ctx, posted.job_id, schulz.id)
    with transaction.unit_of_work(ctx):
        jobs.open_job(ctx, schulz.id, a.id, now=NOW + timedelta(hours=1))
    with transaction.unit_of_work(ctx):
        assert jobs.remind_due(ctx, NOW + timedelta(hours=47, minutes=59)) == 0
        assert jobs.remind_due(ctx, NOW + timedelta(hours=48)) == 2
        assert jobs.remind_due(ctx, NOW + timedelta(hours=49)) == 0
    assert ctx.scalar(sa.select(sa.func.count()).where(OutboxMail.kind == "job_reminder")) == 2
    with transaction.unit_of_work(ctx):
        assert jobs.expire_due(ctx, NOW + timedelta(hours=71, minutes=59)) == 0
        assert jobs.expire_due(ctx, NOW + timedelta(hours=72)) == 2
        assert jobs.expire_due(ctx, NOW + timedelta(hours=80)) == 0  # a late second run
    a = assignment(ctx, posted.job_id, schulz.id)
    assert a.status is S.expired
    assert log(ctx, a.id)[-1] == (S.opened, S.expired, Actor.system)
    assert log(ctx, assignment(ctx, posted.job_id, meier.id).id)[-1] == (S.new, S.expired, Actor.system)
    with pytest.raises(Conflict) as refused:
        jobs.reply(ctx, schulz.id, a.id, "Zu spät?")
    assert refused.value.message == "Dieser Job ist abgelaufen; es ist keine Aktion mehr möglich."
    with pytest.raises(Conflict):
        jobs.decline_by_partner(ctx, schulz.id, a.id, "Zu spät")


def test_a_replied_job_does_not_expire(ctx, market, design):
    schulz, meier, _, customer = market
    posted = post(ctx, customer, design)
    with transaction.unit_of_work(ctx):
        jobs.reply(ctx, schulz.id, assignment(ctx, posted.job_id, schulz.id).id, "Hallo!", now=NOW)
    with transaction.unit_of_work(ctx):
        assert jobs.expire_due(ctx, NOW + timedelta(hours=73)) == 1
    assert assignment(ctx, posted.job_id, schulz.id).status is S.replied
    assert assignment(ctx, posted.job_id, meier.id).status is S.expired


def test_expiries_lower_the_quality_and_declines_the_matching(ctx, market, design, make):
    schulz, meier, _, customer = market
    assert marketplace.quality_of(Decimal("0.5"), Decimal("4.0"), Decimal("0.3333")) == Decimal("0.6875")
    assert marketplace.quality_of(Decimal("0.5"), Decimal("4.0")) == Decimal("0.8250")
    posted = post(ctx, customer, design)
    with transaction.unit_of_work(ctx):
        jobs.reply(ctx, meier.id, assignment(ctx, posted.job_id, meier.id).id, "Hallo!", now=NOW)
        jobs.expire_due(ctx, NOW + timedelta(hours=72))
    assert jobs.signals_of(ctx, schulz.id, NOW + timedelta(days=4)).expired_share == Decimal("0.3333")
    assert jobs.signals_of(ctx, meier.id, NOW + timedelta(days=4)).expired_share == Decimal("0.0000")
    assert (
        jobs.signals_of(ctx, schulz.id, NOW + timedelta(days=4)).quality
        < jobs.signals_of(ctx, meier.id, NOW + timedelta(days=4)).quality
    )
    # With one partner per job, the one that expires and declines design jobs comes second.
    with transaction.unit_of_work(ctx):
        second = jobs.post_match_job(
            ctx, customer.id, dict(JOB, category_id=design.id), now=NOW + timedelta(days=4)
        )
        jobs.decline_by_partner(
            ctx,
            schulz.id,
            assignment(ctx, second.job_id, schulz.id).id,
            "Passt nicht",
            now=NOW + timedelta(days=4),
        )
    job = ctx.get(jobs.ExpertJob, second.job_id)
    ranked = jobs.match(ctx, job, NOW + timedelta(days=5), limit=2)
    assert [m.partner_id for m in ranked] == [meier.id, schulz.id]
    assert ranked[1].declined_share == Decimal("0.2500")  # 1 of 2 jobs, smoothed by 2


def test_a_declined_conversation_declines_its_job_and_a_block_closes_the_rest(ctx, market, design):
    schulz, meier, _, customer = market
    posted = post(ctx, customer, design)
    a = assignment(ctx, posted.job_id, schulz.id)
    with transaction.unit_of_work(ctx):
        jobs.reply(ctx, schulz.id, a.id, "Hallo!", now=NOW)
    conversation = ctx.get(Conversation, assignment(ctx, posted.job_id, schulz.id).conversation_id)
    with transaction.unit_of_work(ctx):
        conversations.decline_conversation(ctx, conversation, Party.customer, "Zu teuer",
                                           now=NOW + timedelta(hours=1))
    a = assignment(ctx, posted.job_id, schulz.id)
    assert (a.status, a.decline_reason) == (S.declined, "Zu teuer")
    assert log(ctx, a.id)[-1] == (S.replied, S.declined, Actor.customer)
    with transaction.unit_of_work(ctx):
        jobs.reply(ctx, meier.id, assignment(ctx, posted.job_id, meier.id).id, "Hallo!", now=NOW)
    with transaction.unit_of_work(ctx):
        conversations.block_customer(ctx, meier.id, customer.id, user_id=meier.user_id, now=NOW)
    assert assignment(ctx, posted.job_id, meier.id).status is S.closed


def test_search_by_merchant_details_and_notes_and_notes_stay_with_the_team(ctx, market, design, make):
    schulz, meier, _, customer = market
    other = make.address(type=AddressType.customer, first_name="Otto", last_name="Teeladen")
    first = post(ctx, customer, design)
    second = post(
        ctx,
        other,
        design,
        requirements="Newsletter-Vorlage für Tee",
        store_name="Teezeit",
        business_info="Teehandel",
    )
    a = assignment(ctx, first.job_id, schulz.id)
    with transaction.unit_of_work(ctx):
        jobs.add_note(ctx, schulz.id, a.id, "Rückruf Dienstag", user_id=schulz.user_id)

    def found(query, partner=schulz):
        return [x.job_id for x in jobs.partner_jobs(ctx, partner.id, query=query)]

    assert found("kaffee") == [first.job_id]  # merchant name
    assert found("newsletter") == [second.job_id]  # job details
    assert found("teezeit") == [second.job_id]  # store
    assert found("dienstag") == [first.job_id]  # the team's note
    assert found("dienstag", meier) == []  # another team's note is not theirs
    assert found("") == [second.job_id, first.job_id]
    assert [x.job_id for x in jobs.partner_jobs(ctx, schulz.id, status=S.opened)] == []


def test_store_access_is_granted_only_by_the_customer(ctx, market, design, make):
    schulz, _, _, customer = market
    posted = post(ctx, customer, design)
    a = assignment(ctx, posted.job_id, schulz.id)
    with transaction.unit_of_work(ctx):
        jobs.reply(ctx, schulz.id, a.id, "Hallo!", now=NOW)
        request = jobs.request_store_access(ctx, schulz.id, a.id, "Für das Theme", user_id=schulz.user_id)
    assert request.status is AccessStatus.requested
    with pytest.raises(Conflict):
        jobs.request_store_access(ctx, schulz.id, a.id)
    stranger = make.address(type=AddressType.customer, last_name="Fremd")
    with pytest.raises(NotFound):
        jobs.decide_store_access(ctx, stranger.id, request.id, True)
    with transaction.unit_of_work(ctx):
        assert jobs.decide_store_access(ctx, customer.id, request.id, True).status is AccessStatus.granted
    with pytest.raises(Conflict):
        jobs.decide_store_access(ctx, customer.id, request.id, False)


def test_a_lead_mails_its_contact_data_stays_out_of_the_jobs_list_and_can_be_reviewed(ctx, market, design):
    schulz, meier, _, _ = market
    with transaction.unit_of_work(ctx):
        posted = jobs.post_lead(
            ctx,
            {
                "category_id": design.id,
                "requirements": "Ich möchte online verkaufen",
                "postal_code": "10115",
                "name": "Lea Lead",
                "email": "lea@example.org",
                "phone": "030 1234",
            },
            now=NOW,
        )
    assert sorted(posted.partner_ids) == sorted([schulz.id, meier.id])
    lead_mail = ctx.scalars(
        sa.select(OutboxMail).where(
            OutboxMail.kind == "job_lead", OutboxMail.recipient == "schulz@partnerdesk.test"
        )
    ).one()
    assert "Lea Lead, lea@example.org, 030 1234" in lead_mail.body_text
    assert jobs.partner_jobs(ctx, schulz.id) == []
    a = assignment(ctx, posted.job_id, schulz.id)
    assert [x.id for x in jobs.partner_leads(ctx, schulz.id)] == [a.id]
    with transaction.unit_of_work(ctx):
        assert jobs.expire_due(ctx, NOW + timedelta(days=10)) == 0  # leads never expire
    with pytest.raises(Conflict):
        jobs.reply(ctx, schulz.id, a.id, "Hallo")
    with transaction.unit_of_work(ctx):
        jobs.ask_lead_review(ctx, schulz.id, a.id, review_url="http://localhost/c/jobs/reviews/", now=NOW)
    with pytest.raises(Conflict) as twice:
        jobs.ask_lead_review(ctx, schulz.id, a.id)
    assert twice.value.message == "Sie haben bereits um eine Bewertung gebeten."
    review_mail = ctx.scalars(sa.select(OutboxMail).where(OutboxMail.kind == "job_review")).one()
    token = review_mail.body_text.split("/c/jobs/reviews/")[1].split()[0]
    with transaction.unit_of_work(ctx):
        review = jobs.submit_review(ctx, token, 5, "Sehr hilfreich")
    assert (review.partner_id, review.stars, review.author_name) == (schulz.id, 5, "Lea Lead")
    with pytest.raises(Conflict):
        jobs.submit_review(ctx, token, 4, "")


def test_a_direct_job_goes_to_the_chosen_partner_only_and_the_customer_sees_it_at_once(ctx, market, design):
    schulz, meier, _, customer = market
    service_id = ctx.scalar(sa.select(jobs.Service.id).where(jobs.Service.partner_id == meier.id))
    with transaction.unit_of_work(ctx):
        posted = jobs.post_direct_job(
            ctx, customer.id, meier.id, dict(JOB, postal_code="", service_id=str(service_id)), now=NOW
        )
    assert posted.partner_ids == [meier.id]
    assert [x.partner_id for x in jobs.customer_job(ctx, customer.id, posted.job_id).assignments] == [
        meier.id
    ]
    with pytest.raises(RuleViolations) as wrong:
        jobs.post_direct_job(ctx, customer.id, schulz.id, dict(JOB, service_id=str(service_id)))
    assert wrong.value.errors == {"service_id": ["Wählen Sie eine Leistung dieses Partners."]}


def test_an_inactive_job_keeps_its_status_while_messages_go_on(ctx, market, design):
    schulz, _, _, customer = market
    posted = post(ctx, customer, design)
    a = assignment(ctx, posted.job_id, schulz.id)
    with pytest.raises(Conflict) as early:
        jobs.mark(ctx, schulz.id, a.id, S.inactive)
    assert early.value.message == "Ein Job mit dem Status „Neu“ kann nicht „Inaktiv“ werden."
    with transaction.unit_of_work(ctx):
        jobs.reply(ctx, schulz.id, a.id, "Hallo!", now=NOW)
    with transaction.unit_of_work(ctx):
        jobs.mark(ctx, schulz.id, a.id, S.inactive, user_id=schulz.user_id, now=NOW + timedelta(hours=1))
    with transaction.unit_of_work(ctx):
        jobs.write_as_customer(ctx, customer.id, a.id, "Noch da?", now=NOW + timedelta(hours=2))
        jobs.reply(ctx, schulz.id, a.id, "Ja, aber pausiert.", now=NOW + timedelta(hours=3))
    assert assignment(ctx, posted.job_id, schulz.id).status is S.inactive
    assert log(ctx, a.id)[-1] == (S.replied, S.inactive, Actor.partner)
