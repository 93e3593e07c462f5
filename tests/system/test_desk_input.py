"""Bad input in the Desk answers with a message (or a 4xx), never a 500, and writes nothing.

One walk per class over every Desk route of the app (taken from its URL map, so a page
added later is walked too), logged in as an admin: ids beyond the integer range in paths
and paging parameters, NUL bytes in query strings and form fields, `..` in download names,
unknown `action_post` names, absurd page sizes (capped).
"""

from __future__ import annotations

import re

import pytest

from tests.support.http import csrf_token, login
from tests.system.test_api_errors import counts

BIG = str(2**31)
SKIP = ("/api/", "/static/", "/appbuilder/", "/login", "/logout", "/lang/", "/swagger/")


def desk_routes(app, method: str = "GET") -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if method in rule.methods and not rule.rule.startswith(SKIP)})


def fill(rule: str, number: str = "1", text: str = "x") -> str:
    url = re.sub(r"<(?:int:)?(pk|[a-z_]*id)>", number, rule)
    url = re.sub(r"<int:[a-z_]+>", number, url)
    return re.sub(r"<(?:string:|path:)?[a-z_]+>", text, url)


def refused_kindly(response, where: str) -> None:
    """A 4xx, or back to a page with a message: never a 5xx."""
    assert response.status_code < 500, f"{where} -> {response.status_code}"


@pytest.fixture
def desk(client, make):
    make.user("chefin", "Admin")
    make.address()
    make.article()
    return login(client, "chefin")


def test_ids_beyond_the_integer_range_in_paths(app, desk):
    walked = 0
    for rule in desk_routes(app):
        if "<" not in rule or "<token>" in rule or "<key>" in rule:
            continue  # a signed link's token is no id: its pages say when a link is not valid
        for number in (BIG, str(10**20)):
            url = fill(rule, number)
            response = desk.get(url)
            refused_kindly(response, url)
            assert response.status_code in (302, 400, 404), (url, response.status_code)
            walked += 1
    assert walked >= 60


@pytest.mark.parametrize("query", ["page_{view}=" + BIG, "psize_{view}=" + BIG, "page=" + BIG,
                                   "_flt_0_last_name=a%00b", "_oc_{view}=a%00b", "q=%00"])
def test_bad_query_strings_on_every_page(app, desk, query):
    before = counts(app)
    walked = 0
    for rule in desk_routes(app):
        view = (app.url_map._rules_by_endpoint and rule.strip("/").split("/")[0])
        url = f"{fill(rule)}?{query.format(view=view)}"
        refused_kindly(desk.get(url), url)
        walked += 1
    assert walked >= 80
    assert counts(app) == before


def test_absurd_page_sizes_are_capped(app, desk, make, monkeypatch):
    make.address(last_name="Zweitperson")
    monkeypatch.setitem(app.config, "MAX_PAGE_SIZE", 1)
    page = desk.get("/addressview/list/?psize_AddressView=100000").get_data(as_text=True)
    shown = [name for name in ("Testperson", "Zweitperson") if name in page]
    assert len(shown) == 1


@pytest.mark.parametrize("name", ["%2e%2e", "..%2f..%2fetc%2fpasswd", "a%00b"])
def test_dot_dot_and_nul_in_download_and_file_routes(app, desk, name):
    walked = 0
    for rule in desk_routes(app):
        if not re.search(r"<(?:string:|path:)?(filename|fmt|kind|name)>", rule):
            continue
        url = fill(rule, "1", name)
        response = desk.get(url)
        refused_kindly(response, url)
        assert response.status_code in (302, 400, 404), (url, response.status_code)
        walked += 1
    assert walked >= 15


@pytest.mark.parametrize("values", [{"action": "no_such_action", "rowid": "1"},
                                    {"action": "muldelete", "rowid": BIG},
                                    {"action": "muldelete", "rowid": "a\x00"}, {}])
def test_unknown_action_post_names_and_rows(app, desk, values):
    before = counts(app)
    walked = 0
    for rule in desk_routes(app, "POST"):
        if not rule.endswith("/action_post"):
            continue
        token = csrf_token(desk, "/addressview/list/")
        response = desk.post(rule, data={**values, "csrf_token": token})
        refused_kindly(response, f"{rule} {values}")
        walked += 1
    assert walked >= 10
    assert counts(app) == before


@pytest.mark.parametrize("bad", ["a\x00b", "x" * 5000, BIG])
def test_forms_with_bad_values_write_nothing(app, desk, bad):
    """Every add form, every field filled with the bad value: a message, nothing stored."""
    before = counts(app)
    walked = 0
    for rule in desk_routes(app, "POST"):
        if not (rule.endswith("/add") or rule.endswith("/new") or rule.endswith("/move")):
            continue
        page = desk.get(rule)
        if page.status_code != 200:
            continue
        html = page.get_data(as_text=True)
        if 'name="csrf_token"' not in html:
            continue  # no form for this login (the admin has no partner codes)
        token = csrf_token(desk, rule)
        names = set(re.findall(r'name="([a-z_]+)"', html)) - {"csrf_token"}
        response = desk.post(rule, data={**{name: bad for name in names}, "csrf_token": token})
        refused_kindly(response, f"{rule} {bad[:10]}")
        walked += 1
    assert walked >= 5
    assert counts(app) == before
