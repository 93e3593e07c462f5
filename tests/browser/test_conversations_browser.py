"""In the browser, German and English: a customer writes to a partner with a file, the
partner's colleague answers, tags and filters; the customer writes again and the hourly
digest reaches the test SMTP server; the owner blocks the customer. The customer's pages
pass axe-core's WCAG 2.1 A/AA rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backoffice.extensions import db
from backoffice.models import AddressType
from backoffice.models.types import utcnow
from backoffice.services import customer_portal
from backoffice.tasks.mail import deliver
from backoffice.tasks.messages import run_digest
from tests.conversations.test_messages import PDF
from tests.support.directory import category, published_partner
from tests.support.smtp import parts

from .conftest import TIMEOUT_MS, log_in
from .test_teams_portal_browser import _accessible

pytestmark = pytest.mark.browser

TEXT = {
    "de": {
        "sent": "Ihre Nachricht wurde gesendet.",
        "blocked": "Dieser Partner nimmt keine Nachrichten von Ihnen an.",
        "none": "Keine Unterhaltungen gefunden.",
    },
    "en": {
        "sent": "Your message was sent.",
        "blocked": "This partner does not accept messages from you.",
        "none": "No conversations found.",
    },
}


def _context(browser, live_server, lang):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


def _desk_login(browser, live_server, username, lang):
    context, page = _context(browser, live_server, lang)
    log_in(page, username)
    page.goto(f"/lang/{lang}")
    return context, page


@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_customer_contacts_a_partner_the_team_answers_tags_and_blocks(
    page, browser, live_server, make, smtp_server, tmp_path, lang
):
    text = TEXT[lang]
    design = category("Design", "Design")
    schulz = published_partner(make, "schulz", design, display_name="Schulz Design")
    schulz.notification_email = "anfragen@schulz.example"
    db.session.commit()
    make.team_member(schulz, "kollegin")
    anna = make.address(
        type=AddressType.customer, first_name="Anna", last_name="Becker", email="anna@example.org"
    )
    link = customer_portal.shop_link(db.session, f"{live_server}/c", address_id=anna.id)
    db.session.commit()
    briefing = tmp_path / "briefing.pdf"
    briefing.write_bytes(PDF)

    # The customer writes from the partner's directory page, with a file.
    page.goto(link.url)
    page.click("[data-test=use-link-form] button[type=submit]")
    page.wait_for_url("**/c/")
    page.goto(f"/c/language/{lang}")
    page.goto(f"/directory/partner/{schulz.id}?lang={lang}")
    page.click("[data-test=write]")
    page.wait_for_selector("[data-test=conversation-form]")
    _accessible(page)
    page.click("[data-test=conversation-form] button[type=submit]")
    page.wait_for_selector("#requirements_error")
    _accessible(page)
    page.fill("#store_name", "Ladenglück")
    page.fill("#requirements", "Ein neues Logo für den Laden")
    page.fill("#body", "Hallo, anbei das Briefing.")
    page.set_input_files("#files", str(briefing))
    page.click("[data-test=conversation-form] button[type=submit]")
    page.wait_for_selector("[data-test=messages]")
    assert text["sent"] in page.content()
    assert "briefing.pdf" in page.inner_text("[data-test=messages]")
    _accessible(page)
    conversation_url = page.url

    # The colleague sees it unread, answers, creates and applies a tag, filters and searches.
    context, colleague = _desk_login(browser, live_server, "kollegin", lang)
    try:
        colleague.goto("/my/conversations/")
        colleague.wait_for_selector("[data-test=conversations] tr[data-unread='1']")
        colleague.click("text=Anna Becker")
        colleague.wait_for_selector("[data-test=reply-form]")
        assert "Ladenglück" in colleague.content()
        with colleague.expect_download() as download:
            colleague.click("[data-test=messages] a:has-text('briefing.pdf')")
        assert download.value.suggested_filename == "briefing.pdf"
        colleague.fill("#body", "Gern, wir melden uns morgen.")
        colleague.click("[data-test=reply-form] button[type=submit]")
        colleague.wait_for_selector("text=Gern, wir melden uns morgen.")
        colleague.goto("/my/conversations/tags")
        colleague.fill("#name", "Logo")
        colleague.click("[data-test=new-tag] button[type=submit]")
        colleague.wait_for_selector("[data-test=tags] td:has-text('Logo')")
        colleague.goto("/my/conversations/")
        colleague.click("text=Anna Becker")
        colleague.select_option("#tag_id", label="Logo")
        colleague.click("[data-test=apply-tags] button[type=submit]")
        colleague.wait_for_selector("[data-test=tags] .label:has-text('Logo')")
        colleague.goto("/my/conversations/")
        colleague.select_option("#tag", label="Logo")
        colleague.click("[data-test=conversation-filter] button[type=submit]")
        colleague.wait_for_selector("[data-test=conversations] td:has-text('Logo')")
        assert 'data-unread="1"' not in colleague.inner_html("[data-test=conversations]")
        colleague.fill("#q", "Steuerberatung")
        colleague.click("[data-test=conversation-filter] button[type=submit]")
        colleague.wait_for_selector("[data-test=no-conversations]")
        assert text["none"] in colleague.content()
        colleague.fill("#q", "Briefing")
        colleague.click("[data-test=conversation-filter] button[type=submit]")
        colleague.wait_for_selector("[data-test=conversations] >> text=Anna Becker")
    finally:
        context.close()

    # The customer reads the answer and writes again; the hourly digest mails it once.
    page.goto(conversation_url)
    assert "Gern, wir melden uns morgen." in page.inner_text("[data-test=messages]")
    page.fill("#body", "Danke, bis morgen!")
    page.click("[data-test=reply-form] button[type=submit]")
    page.wait_for_selector("text=Danke, bis morgen!")
    _accessible(page)
    next_hour = utcnow() + timedelta(hours=1)
    assert run_digest(db.session, now=next_hour)["mails"] == 1
    assert run_digest(db.session, now=next_hour)["mails"] == 0
    deliver(db.session)
    mails = smtp_server.wait_for(2)
    digest = [m for m in mails if "letzten Stunde" in m["Subject"]]
    assert [(m["To"], m["Subject"]) for m in digest] == [
        ("anfragen@schulz.example", "1 ungelesene Nachricht in der letzten Stunde")
    ]
    assert "Anna Becker (1): Danke, bis morgen!" in parts(digest[0])["text/plain"]

    # The owner blocks the customer (confirmed); the customer can no longer write.
    context, owner = _desk_login(browser, live_server, "schulz", lang)
    try:
        owner.goto(conversation_url.replace("/c/conversations/", "/my/conversations/"))
        owner.click("[data-test=block-form] >> xpath=.. >> summary")
        owner.check("[data-test=block-form] input[name=confirm]")
        owner.click("[data-test=block-form] button[type=submit]")
        owner.wait_for_selector("[data-test=blocked]")
    finally:
        context.close()
    page.goto(conversation_url)
    page.wait_for_selector("[data-test=blocked]")
    assert text["blocked"] in page.content()
    _accessible(page)
