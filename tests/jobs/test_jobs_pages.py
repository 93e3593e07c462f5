"""Jobs over HTTP: the customer posts a job in the portal, the partner's team opens, answers,
notes and declines it in the partner area; a prospect sends a lead without an account; and
every job route stays with its owners (partner A with B's ids, customer A with B's)."""

from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import AddressType, JobAssignment, JobStatus, OutboxMail
from backoffice.services import jobs
from tests.jobs.test_jobs import JOB, NOW, post
from tests.portal.test_walk import signed_in
from tests.support.http import CSRF_RE, login
from tests.support.route_families import CUSTOMER_FAMILIES, PARTNER_FAMILIES, CustomerA, PartnerA
from tests.support.walk import Walk


def token(page) -> str:
    return CSRF_RE.search(page.get_data(as_text=True)).group(1)


def test_a_customer_posts_a_job_and_the_partner_team_works_on_it(app, ctx, make, market, design):
    schulz, meier, _, customer = market
    portal = signed_in(app, customer)
    form = portal.get("/c/jobs/new")
    assert form.status_code == 200 and "Job einstellen" in form.get_data(as_text=True)
    bad = portal.post(
        "/c/jobs/new",
        data={
            "csrf_token": token(form),
            "category_id": design.id,
            "requirements": "Logo",
            "postal_code": "10115",
        },
    )
    assert bad.status_code == 422
    assert "Beschreiben Sie in ein paar Worten, was zu tun ist (mindestens 10 Zeichen)." in bad.get_data(
        as_text=True
    )
    sent = portal.post(
        "/c/jobs/new", data=dict(JOB, category_id=design.id, csrf_token=token(form)), follow_redirects=True
    )
    text = sent.get_data(as_text=True)
    assert "Partner, die noch nicht geschrieben haben: 2." in text and "Schulz Design" not in text
    job_id = ctx.scalar(sa.select(jobs.ExpertJob.id))
    a_id = ctx.scalar(sa.select(JobAssignment.id).where(JobAssignment.partner_id == schulz.id))

    make.team_member(schulz, "kollegin")
    colleague = login(app.test_client(), "kollegin")
    listing = colleague.get("/my/jobs/").get_data(as_text=True)
    assert "Karla Kaffee" in listing and f'data-job="{a_id}"' in listing
    page = colleague.get(f"/my/jobs/{a_id}")
    assert "Geöffnet" in page.get_data(as_text=True)
    colleague.post(f"/my/jobs/{a_id}/note", data={"csrf_token": token(page), "body": "Rückruf Dienstag"})
    colleague.post(f"/my/jobs/{a_id}/reply", data={"csrf_token": token(page), "body": "Gern, ab Montag."})
    owner = login(app.test_client(), "schulz")
    found = owner.get("/my/jobs/?q=dienstag&status=replied").get_data(as_text=True)
    assert f'data-job="{a_id}"' in found
    assert f'data-job="{a_id}"' not in owner.get("/my/jobs/?status=new").get_data(as_text=True)

    job_page = portal.get(f"/c/jobs/{job_id}").get_data(as_text=True)
    assert "Schulz Design" in job_page and "Gern, ab Montag." in job_page and "Meier Studio" not in job_page
    page = portal.get(f"/c/jobs/{job_id}")
    portal.post(f"/c/jobs/assignments/{a_id}/write", data={"csrf_token": token(page), "body": "Passt!"})
    ctx.expire_all()
    assert ctx.get(JobAssignment, a_id).status is JobStatus.awaiting_response
    page = owner.get(f"/my/jobs/{a_id}")
    refused = owner.post(
        f"/my/jobs/{a_id}/decline", data={"csrf_token": token(page), "reason": ""}, follow_redirects=True
    )
    assert "Geben Sie einen Grund an." in refused.get_data(as_text=True)
    owner.post(f"/my/jobs/{a_id}/decline", data={"csrf_token": token(page), "reason": "Kein Termin frei"})
    customer_view = portal.get(f"/c/jobs/{job_id}").get_data(as_text=True)
    assert "Abgelehnt" in customer_view and "Kein Termin frei" in customer_view
    history = owner.get(f"/my/jobs/{a_id}").get_data(as_text=True)
    assert "Kein Termin frei" in history and "Rückruf Dienstag" in history


def test_a_prospect_sends_a_lead_and_the_partners_get_its_contact_data(app, ctx, market, design):
    client = app.test_client()
    form = client.get("/c/leads/new")
    assert form.status_code == 200
    done = client.post(
        "/c/leads/new",
        data=dict(
            JOB, category_id=design.id, name="Lea Lead", email="lea@example.org", csrf_token=token(form)
        ),
    )
    assert "lea@example.org" in done.get_data(as_text=True)
    assert ctx.scalar(sa.select(sa.func.count()).where(OutboxMail.kind == "job_lead")) == 2
    partner = login(app.test_client(), "schulz")
    assert "Lea Lead" not in partner.get("/my/jobs/").get_data(as_text=True)
    leads = partner.get("/my/jobs/leads")
    assert "lea@example.org" in leads.get_data(as_text=True)
    lead_id = re.search(r'data-lead="(\d+)"', leads.get_data(as_text=True)).group(1)
    partner.post(f"/my/jobs/leads/{lead_id}/review", data={"csrf_token": token(leads)})
    review = ctx.scalars(sa.select(OutboxMail).where(OutboxMail.kind == "job_review")).one()
    link = re.search(r"http://localhost(/c/jobs/reviews/\S+)", review.body_text).group(1)
    page = client.get(link)
    thanks = client.post(link, data={"csrf_token": token(page), "stars": "5", "text": "Top"})
    assert "Ihre Bewertung von Schulz Design ist gespeichert." in thanks.get_data(as_text=True)


def test_a_direct_job_from_the_profile(app, ctx, market):
    schulz, meier, _, customer = market
    assert f"/c/jobs/direct/{meier.id}" in app.test_client().get(f"/directory/partner/{meier.id}").get_data(
        as_text=True
    )
    portal = signed_in(app, customer)
    form = portal.get(f"/c/jobs/direct/{meier.id}")
    assert "Job an Meier Studio senden" in form.get_data(as_text=True)
    service_id = re.search(
        r'name="service_id"[^>]*>\s*<option value="(\d+)"', form.get_data(as_text=True)
    ).group(1)
    sent = portal.post(
        f"/c/jobs/direct/{meier.id}",
        data=dict(JOB, postal_code="", service_id=service_id, csrf_token=token(form)),
        follow_redirects=True,
    )
    assert "Ihr Job wurde an Meier Studio gesendet." in sent.get_data(as_text=True)
    assert portal.get("/c/jobs/direct/999999").status_code == 404


B_MARKERS = ["Geheimauftrag", "geheimkundin@example.org", "Geheimnotiz"]


def _b_job(ctx, make, market, design):
    """Customer B's direct job with partner B (Meier): a message, a note and an access request."""
    meier = market[1]
    bea = make.address(
        type=AddressType.customer,
        first_name="Bea",
        last_name="Geheimkundin",
        email="geheimkundin@example.org",
    )
    with transaction.unit_of_work(ctx):
        posted = jobs.post_direct_job(
            ctx,
            bea.id,
            meier.id,
            dict(
                JOB,
                category_id=design.id,
                requirements="Geheimauftrag für den Laden",
                store_name="Geheimladen",
            ),
        )
    b = ctx.scalar(sa.select(JobAssignment).where(JobAssignment.job_id == posted.job_id))
    with transaction.unit_of_work(ctx):
        jobs.reply(ctx, meier.id, b.id, "Hallo Bea", now=NOW)
        jobs.add_note(ctx, meier.id, b.id, "Geheimnotiz")
        access = jobs.request_store_access(ctx, meier.id, b.id)
    return bea, posted.job_id, b.id, access.id


def test_no_job_route_shows_another_partners_or_customers_job(app, ctx, make, market, design):
    schulz, meier, _, customer = market
    _bea, job_id, assignment_id, access_id = _b_job(ctx, make, market, design)
    # Karla (customer A) has a job with Schulz (partner A) too.
    own = post(ctx, customer, design)
    ids = [job_id, assignment_id, access_id, meier.id]
    partner = login(app.test_client(), "schulz")
    portal = signed_in(app, customer)
    jobs_pages = lambda rule: rule.startswith(("/my/jobs", "/c/"))  # noqa: E731
    where = "PARTNER_FAMILIES and CUSTOMER_FAMILIES in tests/support/route_families.py"
    as_partner = Walk(PARTNER_FAMILIES, where, B_MARKERS).run(
        app, partner, ids, PartnerA(member=False, own_node=schulz.address_id, downline=frozenset()),
        only=jobs_pages)
    as_customer = Walk(CUSTOMER_FAMILIES, where, B_MARKERS).run(
        app, portal, ids, CustomerA(contactable=frozenset({meier.id})), only=jobs_pages)
    assert as_partner[404] > 10 and as_partner[200] > 5, as_partner
    assert as_customer[404] > 10 and as_customer[200] > 5, as_customer
    assert partner.get(f"/my/jobs/{assignment_id}").status_code == 404
    assert portal.get(f"/c/jobs/{job_id}").status_code == 404
    # The write routes refuse B's ids too, and nothing of B's changes.
    page = portal.get(f"/c/jobs/{own.job_id}")
    for url in [
        f"/c/jobs/assignments/{assignment_id}/close",
        f"/c/jobs/assignments/{assignment_id}/decline",
        f"/c/jobs/assignments/{assignment_id}/write",
        f"/c/jobs/access/{access_id}",
    ]:
        assert (
            portal.post(
                url, data={"csrf_token": token(page), "reason": "x", "body": "x", "decision": "accept"}
            ).status_code
            == 404
        ), url
    own_a = ctx.scalar(
        sa.select(JobAssignment.id).where(
            JobAssignment.job_id == own.job_id, JobAssignment.partner_id == schulz.id
        )
    )
    listing = partner.get(f"/my/jobs/{own_a}")
    for url in [
        f"/my/jobs/{assignment_id}/reply",
        f"/my/jobs/{assignment_id}/decline",
        f"/my/jobs/{assignment_id}/note",
        f"/my/jobs/{assignment_id}/access",
    ]:
        partner.post(url, data={"csrf_token": token(listing), "reason": "x", "body": "x"})
    partner.post(f"/my/jobs/{assignment_id}/mark", data={"csrf_token": token(listing), "status": "inactive"})
    ctx.expire_all()
    b = ctx.get(JobAssignment, assignment_id)
    assert b.status is JobStatus.replied and len(b.notes) == 1


def test_the_partners_expired_share_and_quality_read_as_german_numbers(app, market, monkeypatch):
    monkeypatch.setattr(jobs, "signals_of", lambda session, partner_id: jobs.Signals(
        Decimal("0.111"), Decimal("0.7897")))
    partner = login(app.test_client(), "schulz")
    page = partner.get("/my/jobs/").get_data(as_text=True)
    shown = re.search(r'data-test="quality">([^<]+)<', page).group(1)
    assert "11,1 %" in shown and "0,7897" in shown
    # the job matching's quality, not the marketplace's ranking of requests
    assert "Qualität bei der Vergabe von Jobs" in shown and "Ranking" not in shown


def test_jobs_and_service_orders_have_different_names_in_the_german_menus(app, market):
    """Jobs are *Jobs*, service orders *Aufträge*: one label each in the partner's and the
    customer's menu, never two entries both called *Meine Aufträge*."""
    customer = market[3]
    partner = login(app.test_client(), "schulz")
    menu = [label.replace("&nbsp;", "").strip() for label in re.findall(
        r'<a[^>]*href="/my/[^"]*"[^>]*>\s*(?:<i[^>]*></i>)?([^<]+)</a>',
        partner.get("/").get_data(as_text=True).split('class="navbar-collapse')[1].split("navbar-right")[0])]
    assert "Meine Jobs" in menu and "Meine Aufträge" in menu
    assert len(menu) == len(set(menu)), menu
    portal = signed_in(app, customer)
    shown = portal.get("/c/").get_data(as_text=True)
    nav = re.findall(r'<li><a href="/c/[^"]*">([^<]+)</a></li>', shown)
    assert "Meine Jobs" in nav and len(nav) == len(set(nav)), nav
