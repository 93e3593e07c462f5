"""In the browser: a customer posts two matched jobs in the portal (German, then English; every
portal page passes axe-core's WCAG 2.1 A/AA rules). The first expires after 72 hours on a fixed
clock and the partner can do nothing with it any more; on the second a partner writes, the
customer answers, the status follows the conversation, and the partner declines it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.extensions import db
from backoffice.models import ExpertJob, JobAssignment, JobStatus
from backoffice.services import customer_portal, jobs
from tests.support.jobs import design_fixture, market_fixture  # noqa: F401 - fixtures

from .conftest import log_in
from .test_teams_portal_browser import PHONE, _accessible

pytestmark = pytest.mark.browser


def _sign_in(page, live_server, customer) -> None:
    link = customer_portal.shop_link(db.session, f"{live_server}/c", address_id=customer.id)
    db.session.commit()
    page.goto(link.url)
    page.click("[data-test=use-link-form] button[type=submit]")
    page.wait_for_url(lambda url: url.rstrip("/").endswith("/c"))


def _post_job(page, category_id, text) -> None:
    page.goto("/c/jobs/new")
    page.select_option("#category_id", str(category_id))
    page.fill("#requirements", text)
    page.fill("#postal_code", "10115")
    page.check("input[name=priority_time][value='3']")
    page.click("[data-test=job-form] button[type=submit]")
    page.wait_for_selector("[data-test=waiting]")


def _assignment(job_text, partner_id) -> JobAssignment:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(JobAssignment)
        .join(ExpertJob)
        .where(ExpertJob.requirements == job_text, JobAssignment.partner_id == partner_id)
    )


def test_a_matched_job_expires_and_another_follows_its_conversation_until_declined(
    page, browser, live_server, market, design
):
    schulz, meier, _, customer = market
    page.set_viewport_size(PHONE)
    _sign_in(page, live_server, customer)
    page.goto("/c/jobs/new")
    _accessible(page)
    page.click("[data-test=job-form] button[type=submit]")  # empty: errors at their fields
    page.wait_for_selector("#requirements_error")
    _accessible(page)
    _post_job(page, design.id, "Ein Logo für den Kaffeeladen bitte")
    _accessible(page)

    # The fixed clock: the sweep runs at the job's creation + 71:59 and + 72:00.
    first = _assignment("Ein Logo für den Kaffeeladen bitte", schulz.id)
    with transaction.unit_of_work(db.session):
        assert jobs.expire_due(db.session, first.created_at + timedelta(hours=71, minutes=59)) == 0
    with transaction.unit_of_work(db.session):
        assert jobs.expire_due(db.session, first.created_at + timedelta(hours=72)) == 2
    partner = browser.new_context(base_url=live_server)
    schulz_page = partner.new_page()
    try:
        log_in(schulz_page, "schulz")
        schulz_page.goto(f"/my/jobs/{first.id}")
        assert schulz_page.inner_text("[data-test=job] [data-test=status]") == "Abgelaufen"
        assert "keine Aktion mehr möglich" in schulz_page.content()
        assert schulz_page.locator("textarea#body").count() == 0  # no reply form any more
    finally:
        partner.close()

    page.click("text=English")
    page.wait_for_selector("html[lang=en]")
    _post_job(page, design.id, "A newsletter template for the shop")
    _accessible(page)
    second = _assignment("A newsletter template for the shop", meier.id)
    partner = browser.new_context(base_url=live_server)
    meier_page = partner.new_page()
    try:
        log_in(meier_page, "meier")
        meier_page.goto(f"/my/jobs/{second.id}")
        assert meier_page.inner_text("[data-test=job] [data-test=status]") == "Geöffnet"
        meier_page.fill("textarea#body", "Gern, ich schicke Ihnen Entwürfe.")
        meier_page.click("form[action$='/reply'] button[type=submit]")
        meier_page.wait_for_selector("[data-test=messages]")
        assert meier_page.inner_text("[data-test=job] [data-test=status]") == "Beantwortet"

        page.goto("/c/jobs")
        _accessible(page)
        page.click("text=A newsletter template for the shop")
        section = f"[data-assignment='{second.id}']"
        page.wait_for_selector(section)
        assert "Gern, ich schicke Ihnen Entwürfe." in page.inner_text(section)
        _accessible(page)
        page.fill(f"#body-{second.id}", "Great, how much?")
        page.click(f"form[action$='/{second.id}/write'] button[type=submit]")
        page.wait_for_selector(f"{section} [data-test=status]:has-text('Awaiting response')")

        meier_page.reload()
        assert meier_page.inner_text("[data-test=job] [data-test=status]") == "Auf Antwort wird gewartet"
        meier_page.fill("#reason", "Leider kein Termin frei")
        meier_page.click("form[action$='/decline'] button[type=submit]")
        meier_page.wait_for_selector("[data-test=job] [data-test=status]:has-text('Abgelehnt')")
        history = meier_page.inner_text("[data-test=transitions]")
        assert "Leider kein Termin frei" in history and "Auf Antwort wird gewartet" in history
    finally:
        partner.close()
    page.reload()
    assert "Declined" in page.inner_text(f"{section} [data-test=status]")
    assert "Leider kein Termin frei" in page.inner_text(section)
    assert page.locator(f"#body-{second.id}").count() == 0
    _accessible(page)
    assert _assignment("A newsletter template for the shop", meier.id).status is JobStatus.declined


def test_the_lead_form_and_the_direct_job_form_are_accessible(page, live_server, market, design):
    meier, customer = market[1], market[3]
    for language in ("de", "en"):
        page.goto(f"/c/language/{language}?next=/c/leads/new")
        page.wait_for_selector(f"html[lang={language}]")
        _accessible(page)
        page.click("[data-test=lead-form] button[type=submit]")
        page.wait_for_selector("#email_error")
        _accessible(page)
    _sign_in(page, live_server, customer)
    page.goto(f"/c/jobs/direct/{meier.id}")
    _accessible(page)
