"""No dead ends: every menu entry a role sees opens a page for that role, and the pages for
what goes wrong (403, 404, 500) are the Desk's own, in the UI language."""

from __future__ import annotations

import re

import pytest

from tests.support.http import login

ROLES = ["Admin", "Staff", "Finance", "Partner", "Team member"]
REFUSED = ("Access is Denied", "Zugriff verweigert", 'data-test="error-page"')


def _menu_links(html: str) -> list[str]:
    """The hrefs of the navigation bar's entries (dropdown items and top-level links)."""
    navbar = html.split('<div class="navbar-collapse', 1)[-1].split("</nav>", 1)[0]
    links = re.findall(r'<a [^>]*href="(/[^"#]*)"', navbar)
    skip = ("/logout", "/lang/", "/users/userinfo", "/resetmypassword", "/login")
    return sorted({link for link in links if not link.startswith(skip)})


@pytest.mark.parametrize("role", ROLES)
def test_every_menu_entry_opens_a_page_for_the_role_that_sees_it(client, make, role):
    if role == "Partner":
        make.partner("menu_user")
    elif role == "Team member":  # a partner's colleague: the team's pages, not the owner's
        make.team_member(make.partner("menu_owner"), "menu_user")
    else:
        make.user("menu_user", role)
    login(client, "menu_user")
    start = client.get("/")
    assert start.status_code == 200
    links = _menu_links(start.get_data(as_text=True))
    assert links, "no menu entries found"
    for link in links:
        response = client.get(link, follow_redirects=True)
        body = response.get_data(as_text=True)
        assert response.status_code == 200, f"{role}: {link} answered {response.status_code}"
        assert not any(text in body for text in REFUSED), f"{role}: {link} leads to a refusal"
        assert "/login" not in response.request.path, f"{role}: {link} sent back to the login"


def test_an_administrator_without_a_partner_sees_no_partner_area(client, make):
    make.user("chefin", "Admin")
    login(client, "chefin")
    links = _menu_links(client.get("/").get_data(as_text=True))
    assert "/my/downline/" not in links and not any(link.startswith("/my") for link in links)


def test_a_team_member_sees_no_menu_entry_of_the_owners_pages(app, client, make):
    owner = make.partner("inhaberin")
    make.team_member(owner, "kollege")
    login(client, "kollege")
    member_links = _menu_links(client.get("/").get_data(as_text=True))
    assert "/my/billing/" not in member_links and "/my/team/" not in member_links
    assert "/my/downline/" in member_links and "/my/requests/" in member_links
    for link in member_links:  # and what it does see opens
        assert client.get(link, follow_redirects=True).status_code == 200, link
    other = app.test_client()
    login(other, "inhaberin")
    owner_links = _menu_links(other.get("/").get_data(as_text=True))
    assert sorted(set(owner_links) - set(member_links)) == ["/my/billing/", "/my/payment/list/", "/my/team/"]


def test_finance_sees_the_import_history_but_no_upload_form(client, make):
    make.user("fiona", "Finance")
    login(client, "fiona")
    page = client.get("/imports/").get_data(as_text=True)
    assert 'data-test="import-upload"' not in page


def test_missing_page_is_the_desks_own_page_in_german_and_english(client, make):
    make.user("staff", "Staff")
    login(client, "staff")
    response = client.get("/addressview/show/999999")
    if response.status_code == 302:  # FAB sends a missing record back to the list
        response = client.get("/nowhere-at-all/")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert 'data-test="error-page"' in html and "Seite nicht gefunden" in html
    assert "Zur Startseite" in html and "navbar" in html
    client.get("/lang/en")
    html = client.get("/nowhere-at-all/").get_data(as_text=True)
    assert "Page not found" in html and "To the start page" in html


def test_api_paths_keep_their_json_errors(client):
    response = client.get("/api/v1/nowhere/")
    assert response.status_code == 404 and response.is_json and response.json["error"]


def test_a_server_error_shows_the_desks_page_without_details(app):
    propagate = app.config.get("PROPAGATE_EXCEPTIONS")
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        with app.test_request_context("/addressview/list/"):
            app.preprocess_request()
            response = app.handle_exception(RuntimeError("secret detail"))
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = propagate
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and "Etwas ist schiefgegangen" in html
    assert "secret detail" not in html and "Traceback" not in html


def test_a_team_member_sees_none_of_the_owners_entries_and_the_owner_sees_them(client, make):
    owner = make.partner("inhaberin")
    make.team_member(owner, "kollege")
    owner_only = {"/my/billing/", "/my/team/", "/my/payment/list/"}
    login(client, "inhaberin")
    page = client.get("/").get_data(as_text=True)
    assert owner_only <= set(_menu_links(page)) and 'data-test="my-open-amount"' in page
    client.get("/logout/")
    login(client, "kollege")
    page = client.get("/").get_data(as_text=True)
    assert owner_only.isdisjoint(_menu_links(page)) and "/my/downline/" in _menu_links(page)
    assert 'data-test="my-open-amount"' not in page and 'data-test="charges-open"' in page
    assert "/my/billing" not in page


def test_every_page_title_of_a_record_view_is_translated(app):
    """FAB makes up "Show Audit Entry" or "Edit Voucher Code" for a view without its own
    title: English on a German page. Every list/show/add/edit page a view offers has one."""
    from flask_appbuilder import ModelView
    from flask_babel.speaklater import LazyString

    made_up = []
    for view in app.appbuilder.baseviews:
        if not isinstance(view, ModelView):
            continue
        for action in ("list", "show", "add", "edit"):
            if f"can_{action}" in (view.base_permissions or []) and \
                    not isinstance(getattr(view, f"{action}_title"), LazyString):
                made_up.append(f"{type(view).__name__}.{action}_title = {getattr(view, f'{action}_title')!r}")
    assert made_up == []


FINANCE_ACTIONS = ("billing-run", "billing-exports", "bank-statement-link", "make-sepa-file")


def test_staff_reads_partner_invoices_without_finance_actions_it_may_not_use(app, client, make):
    make.user("sachbearbeiter", "Staff")
    login(client, "sachbearbeiter")
    html = client.get("/billing/").get_data(as_text=True)
    assert [a for a in FINANCE_ACTIONS if f'data-test="{a}"' in html] == []
    assert client.get("/billing/bank-statement").status_code == 403  # what the link led to
    make.user("buchhaltung", "Finance")
    finance = login(app.test_client(), "buchhaltung")
    html = finance.get("/billing/").get_data(as_text=True)
    assert [a for a in FINANCE_ACTIONS if f'data-test="{a}"' in html] == list(FINANCE_ACTIONS)


def test_your_user_information_shows_the_active_flag_and_roles_as_people_read_them(client, make):
    make.user("stefan", "Staff")
    login(client, "stefan")
    page = client.get("/users/userinfo/").get_data(as_text=True)
    assert "True" not in page and "[Staff]" not in page
    assert re.search(r'>\s*<i class="fa fa-check"></i>\s*<', page)
    assert re.search(r">\s*Staff\s*<", page)
    make.user("ada", "Admin")
    admin = login(client.application.test_client(), "ada")
    listed = admin.get("/users/list/").get_data(as_text=True)
    assert not re.search(r">\s*(True|False)\s*<", listed)
