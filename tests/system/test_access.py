"""FAB's side doors, sort keys, writes without tokens, signing key, sessions, login throttle,
shared rate limits and security headers: each walked over every route or view it concerns."""

from __future__ import annotations

import pytest
from flask_appbuilder import ModelView
from flask_appbuilder.api import ModelRestApi

from app import create_app
from backoffice.extensions import db
from backoffice.services.sessions import end_sessions
from backoffice.services.throttle import Throttle
from backoffice.web_security import InsecureConfiguration
from tests.support.http import api_token, csrf_token, login

from .test_partner_isolation import B_MARKERS, two_partners  # noqa: F401 - fixture

ROLES = ["admin", "staff", "finance", "meier", "shop"]


@pytest.fixture
def everybody(make, two_partners):  # noqa: F811
    make.user("admin", "Admin")
    make.user("staff", "Staff")
    make.user("finance", "Finance")
    make.user("shop", "Shop")
    return two_partners


def _model_apis(app):
    return [v for v in app.appbuilder.baseviews if isinstance(v, ModelRestApi)]


def _model_views(app):
    return [v for v in app.appbuilder.baseviews if isinstance(v, ModelView)]


# The model APIs whose `_info` each role may read; every other answers 403 (a new API too).
INFO_READABLE = {"meier": {"my_profile", "my_addresses", "my_payment_profile"}, "shop": {"article"},
                 "finance": {"address", "article"}, "staff": {"address", "partner", "article", "voucher"}}


def test_no_info_endpoint_lists_related_records(app, client, everybody):
    """Every `_info` of every model API, for every role, paged through each add/edit column."""
    walked = 0
    for role in ["meier", "shop", "finance", "staff"]:
        headers = api_token(client, role)
        for api in _model_apis(app):
            columns = list(api.add_columns or []) + list(api.edit_columns or [])
            paging = ",".join(f"{c}:(page:0,page_size:100)" for c in columns)
            url = f"/api/v1/{api.resource_name}/_info?q=(add_columns:({paging}),edit_columns:({paging}))"
            response = client.get(url, headers=headers)
            readable = api.resource_name in INFO_READABLE[role]
            assert response.status_code == (200 if readable else 403), (role, url, response.status_code)
            if readable:
                for key in ("add_columns", "edit_columns"):
                    for field in response.json.get(key, []):
                        assert not field.get("values"), (role, url, field["name"])
                text = response.get_data(as_text=True)
                assert not [m for m in B_MARKERS if m in text], (role, url)
            walked += 1
    assert walked >= 4 * 6


def test_partner_info_describes_no_add_form(app, client, everybody):
    headers = api_token(client, "meier")
    for name in ("my_profile", "my_addresses"):
        info = client.get(f"/api/v1/{name}/_info", headers=headers).json
        assert info.get("add_columns", []) == []
    assert client.get("/api/v1/my_addresses/_info", headers=headers).json.get("edit_columns", []) == []


def test_sort_keys_are_visible_columns_only(app):
    ours = [v for v in _model_views(app) + _model_apis(app) if type(v).__module__.startswith("backoffice")]
    assert len(ours) > 15
    for view in ours:
        hidden = [c for c in view.order_columns if c not in view.list_columns]
        assert not hidden, f"{type(view).__name__} sorts by unlisted {hidden}"


def test_hidden_columns_are_no_sort_key_in_lists_or_exports(app, client, everybody):
    login(client, "meier")
    walked = 0
    for view in _model_views(app):
        base = view.route_base
        hidden = [c.key for c in view.datamodel.obj.__table__.columns if c.key not in view.order_columns]
        for column in hidden:
            for path in ("/list/", "/export/csv", "/export/xlsx"):
                name = type(view).__name__
                response = client.get(f"{base}{path}?_oc_{name}={column}&_od_{name}=asc")
                assert response.status_code in (302, 400, 403, 404), (base, path, column)
                walked += 1
    assert walked > 50
    ok = client.get("/my/redemptions/export/csv?_oc_MyRedemptionsView=amount&_od_MyRedemptionsView=asc")
    assert ok.status_code == 200
    refused = client.get("/my/redemptions/export/csv?_oc_MyRedemptionsView=code_id&_od_MyRedemptionsView=asc")
    assert refused.status_code == 400


def test_apis_that_write_refuse_a_browser_session(app, client, everybody):
    """Logged in at the Desk, without a token: no write route of any API answers but 401."""
    login(client, "staff")
    walked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or "security" in rule.rule:
            continue
        for method in {"POST", "PUT", "DELETE"} & set(rule.methods):
            url = rule.rule
            for arg in rule.arguments:
                for pattern in (f"<{arg}>", f"<int:{arg}>", f"<string:{arg}>"):
                    url = url.replace(pattern, "1")
            if "<" in url:
                url = url.split("<")[0] + "addresses"
            response = client.open(url, method=method, data={})
            assert response.status_code == 401, (method, url, response.status_code)
            walked += 1
    assert walked >= 10


def test_import_api_takes_a_token(client, make):
    make.user("staff", "Staff")
    headers = api_token(client, "staff")
    response = client.post("/api/v1/imports/articles", headers=headers, data={})
    assert response.status_code == 400 and response.json["error"] == "no_file"


@pytest.mark.parametrize("env", ["production", "", "staging"])
def test_no_start_without_a_secret_key_outside_development(monkeypatch, env):
    monkeypatch.setenv("PARTNERDESK_ENV", env)
    with pytest.raises(InsecureConfiguration):
        create_app({"SECRET_KEY": None})


def test_development_and_a_real_key_start(monkeypatch):
    monkeypatch.setenv("PARTNERDESK_ENV", "production")
    assert create_app({"SECRET_KEY": "x" * 64}).config["SECRET_KEY"] == "x" * 64
    monkeypatch.setenv("PARTNERDESK_ENV", "development")
    assert create_app({"SECRET_KEY": None}).config["SECRET_KEY"]


def test_logout_ends_other_sessions_and_tokens(app, make):
    make.user("staff", "Staff")
    desk, other = app.test_client(), app.test_client()
    login(desk, "staff")
    login(other, "staff")
    headers = api_token(other, "staff")
    assert other.get("/addressview/list/").status_code == 200
    assert other.get("/api/v1/address/", headers=headers).status_code == 200
    desk.get("/logout/")
    assert other.get("/addressview/list/").status_code == 302
    assert other.get("/api/v1/address/", headers=headers).status_code == 401


def test_refresh_token_ends_with_the_sessions(app, client, make):
    user = make.user("staff", "Staff")
    tokens = client.post("/api/v1/security/login", json={
        "username": "staff", "password": "staff", "provider": "db", "refresh": True}).json
    refresh = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert client.post("/api/v1/security/refresh", headers=refresh).status_code == 200
    with app.app_context():
        end_sessions(db.session, user.id)
        db.session.commit()
    assert client.post("/api/v1/security/refresh", headers=refresh).status_code == 401


def test_password_change_asks_for_the_current_one_and_ends_other_sessions(app, make):
    make.user("staff", "Staff")
    desk, other = app.test_client(), app.test_client()
    login(desk, "staff")
    login(other, "staff")
    token = csrf_token(desk, "/resetmypassword/form")
    wrong = desk.post("/resetmypassword/form", data={
        "csrf_token": token, "current_password": "falsch", "password": "N3ues-Passwort!",
        "conf_password": "N3ues-Passwort!"})
    assert wrong.status_code == 200  # the form again, with the message at the field
    assert other.get("/addressview/list/").status_code == 200
    changed = desk.post("/resetmypassword/form", data={
        "csrf_token": token, "current_password": "staff", "password": "N3ues-Passwort!",
        "conf_password": "N3ues-Passwort!"})
    assert changed.status_code == 302
    assert desk.get("/addressview/list/").status_code == 200  # the changing session lives on
    assert other.get("/addressview/list/").status_code == 302
    login(app.test_client(), "staff", "N3ues-Passwort!")


def test_failed_logins_are_throttled_per_account(app, client, make):
    make.user("staff", "Staff")
    app.config["LOGIN_FAILURES_PER_ACCOUNT"] = 3
    try:
        for _ in range(3):
            answer = client.post("/api/v1/security/login", json={
                "username": "staff", "password": "falsch", "provider": "db"})
            assert answer.status_code == 401
        blocked = client.post("/api/v1/security/login", json={
            "username": "staff", "password": "staff", "provider": "db"})
        assert blocked.status_code == 429 and blocked.json["error"] == "too_many_logins"
        assert "Retry-After" in blocked.headers
        token = csrf_token(client, "/login/")
        page = client.post("/login/", data={"username": "staff", "password": "staff", "csrf_token": token},
                           follow_redirects=True).get_data(as_text=True)
        assert "Minuten" in page or "minutes" in page
        assert client.get("/addressview/list/").status_code == 302
    finally:
        app.config["LOGIN_FAILURES_PER_ACCOUNT"] = 10


def test_failed_logins_are_throttled_per_client(app, client, make):
    make.user("staff", "Staff")
    app.config["LOGIN_FAILURES_PER_CLIENT"] = 4
    try:
        for i in range(4):
            client.post("/api/v1/security/login", json={
                "username": f"rate{i}", "password": "x", "provider": "db"})
        blocked = client.post("/api/v1/security/login", json={
            "username": "staff", "password": "staff", "provider": "db"})
        assert blocked.status_code == 429
    finally:
        app.config["LOGIN_FAILURES_PER_CLIENT"] = 50


def test_throttle_counts_are_shared_by_processes(app, tmp_path):
    """Two limiters on the same store (two workers) share one count; Redis too when there."""
    uri = f"sqlite:///{tmp_path / 'limits.sqlite'}"
    first, second = Throttle("shared"), Throttle("shared")
    with app.test_request_context():
        app.config["RATELIMIT_STORAGE_URI"], old = uri, app.config["RATELIMIT_STORAGE_URI"]
        try:
            assert first.hit("client:1", 2, 60) is None
            assert second.hit("client:1", 2, 60) is None
            assert first.hit("client:1", 2, 60) is not None
            assert second.hit("client:1", 2, 60) is not None
        finally:
            app.config["RATELIMIT_STORAGE_URI"] = old


def test_throttle_on_redis(app):
    import os

    import redis
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("REQUIRE_REDIS"):
            raise
        pytest.skip("no Redis")
    first, second = Throttle("redis-shared"), Throttle("redis-shared")
    with app.test_request_context():
        app.config["RATELIMIT_STORAGE_URI"], old = url, app.config["RATELIMIT_STORAGE_URI"]
        try:
            first.clear("k", 2, 60)
            assert first.hit("k", 2, 60) is None and second.hit("k", 2, 60) is None
            assert second.hit("k", 2, 60) is not None
        finally:
            first.clear("k", 2, 60)
            app.config["RATELIMIT_STORAGE_URI"] = old


def test_security_headers_on_every_page(app, client, everybody):
    login(client, "staff")
    walked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or "logout" in rule.rule:
            continue
        response = client.get(rule.rule)
        headers = response.headers
        assert "frame-ancestors" in headers.get("Content-Security-Policy", ""), rule.rule
        assert headers.get("X-Content-Type-Options") == "nosniff", rule.rule
        assert headers.get("Referrer-Policy"), rule.rule
        walked += 1
    assert walked > 20
    assert "Strict-Transport-Security" not in client.get("/login/").headers
    app.config["HTTPS"] = True
    try:
        assert "max-age" in client.get("/login/").headers["Strict-Transport-Security"]
    finally:
        app.config["HTTPS"] = False


def test_csrf_tokens_expire(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"]


def test_partner_apis_select_filter_and_sort_by_visible_columns_only(client, everybody):
    """Rison `columns`, `filters` and `order_column` on hidden columns reveal nothing."""
    headers = api_token(client, "meier")
    for api in ("my_addresses", "my_profile"):
        for hidden in ("email", "phone", "street", "sponsor_id", "iban", "user_id", "address_id"):
            for q in (f"(columns:!({hidden}))", f"(filters:!((col:{hidden},opr:sw,value:g)))",
                      f"(order_column:{hidden},order_direction:asc)"):
                response = client.get(f"/api/v1/{api}/?q={q}", headers=headers)
                assert response.status_code in (200, 400), (api, q)
                text = response.get_data(as_text=True)
                assert not [m for m in B_MARKERS if m in text], (api, q)
                if response.status_code == 200 and api == "my_addresses":
                    assert f'"{hidden}"' not in text, (api, q, text[:300])


def test_inline_scripts_run_only_with_the_answers_nonce(client, everybody):
    import re
    login(client, "staff")
    for url in ["/addressview/list/", "/swagger/v1", "/desk/privacy/"]:
        response = client.get(url)
        policy = response.headers["Content-Security-Policy"]
        script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
        assert "unsafe-inline" not in script_src, url
        nonces = set(re.findall(r"<script[^>]*nonce=\"([^\"]*)\"", response.get_data(as_text=True)))
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", response.get_data(as_text=True))
        assert all("nonce=" in attrs for attrs in inline), url
        assert all(f"'nonce-{n}'" in script_src for n in nonces), url


def test_an_admins_password_reset_ends_the_users_sessions(app, make):
    user = make.user("staff", "Staff")
    make.user("admin", "Admin")
    staff = login(app.test_client(), "staff")
    admin = login(app.test_client(), "admin")
    url = f"/resetpassword/form?pk={user.id}"
    token = csrf_token(admin, url)
    answer = admin.post(url, data={"csrf_token": token, "password": "N3ues-Passwort!",
                                   "conf_password": "N3ues-Passwort!"})
    assert answer.status_code == 302
    assert staff.get("/addressview/list/").status_code == 302
    assert admin.get("/addressview/list/").status_code == 200
