"""Every API route answers bad requests in the one error shape, and never with a 5xx.

The walk takes the routes from the app itself, so an API added later is walked too: without
a token, with a garbage token, with a valid admin token and an unknown id, and with a
malformed body. Each answer must be a 4xx whose JSON has a string `error` and `message`
(and `fields` only as messages per field), with no database text in it.
"""

from __future__ import annotations

import re

import pytest

from tests.support.http import api_token

UNKNOWN_ID = "987654"
OPEN_ROUTES = {"/api/v1/security/login", "/api/v1/security/refresh", "/api/<version>/_openapi"}
DATABASE_WORDS = re.compile(r"\b(INSERT|UPDATE|SELECT|psycopg|sqlite3|IntegrityError|violates)\b")


def api_routes(app) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, rule.rule))
    return sorted(routes)


def url_of(rule: str) -> str:
    url = rule.replace("<version>", "v1")
    url = re.sub(r"<int:[a-z_]+>", UNKNOWN_ID, url)
    return re.sub(r"<[a-z_:]+>", UNKNOWN_ID, url)


def assert_error_shape(response, method: str, url: str) -> None:
    where = f"{method} {url} -> {response.status_code}: {response.get_data(as_text=True)[:300]}"
    assert 400 <= response.status_code < 500, where
    body = response.get_json(silent=True)
    assert isinstance(body, dict), where
    assert isinstance(body.get("error"), str) and body["error"], where
    assert isinstance(body.get("message"), str), where
    if "fields" in body:
        assert isinstance(body["fields"], dict), where
        assert all(isinstance(m, list) and all(isinstance(t, str) for t in m)
                   for m in body["fields"].values()), where
    assert not DATABASE_WORDS.search(response.get_data(as_text=True)), where


def call(client, method: str, url: str, **kwargs):
    return client.open(url, method=method, **kwargs)


@pytest.fixture
def admin_headers(client, make):
    make.user("chefin", "Admin")
    return api_token(client, "chefin")


def test_the_walk_covers_every_api_of_the_app(app):
    routes = api_routes(app)
    resources = {url.split("/")[3] for _, url in routes if url.startswith("/api/v1/")}
    assert {"address", "partner", "article", "my_profile", "my_addresses", "downline", "imports",
            "shop", "voucher", "security"} <= resources
    assert len(routes) >= 40


def test_without_a_token_every_protected_route_answers_401_in_the_one_shape(app, client):
    for method, rule in api_routes(app):
        if rule in OPEN_ROUTES:
            continue
        url = url_of(rule)
        response = call(client, method, url, json={})
        assert_error_shape(response, method, url)
        assert response.status_code == 401, (method, url, response.status_code)
        assert response.json["error"] == "not_authenticated"


def test_a_garbage_token_is_401_not_422(app, client):
    headers = {"Authorization": "Bearer not.a.token"}
    for method, rule in api_routes(app):
        if rule in OPEN_ROUTES:
            continue
        url = url_of(rule)
        response = call(client, method, url, json={}, headers=headers)
        assert_error_shape(response, method, url)
        assert response.status_code == 401, (method, url, response.status_code)


def test_unknown_ids_answer_404_in_the_one_shape(app, client, admin_headers):
    for method, rule in api_routes(app):
        if "<" not in rule or "<version>" in rule:
            continue
        url = url_of(rule)
        response = call(client, method, url, json={"reason": "x"}, headers=admin_headers)
        assert_error_shape(response, method, url)
        if method == "GET":
            assert response.status_code == 404, (method, url, response.status_code)


@pytest.mark.parametrize("body", ["{not json", "[]", '"text"', '{"id": "a", "email": 5}'])
def test_malformed_bodies_answer_4xx_in_the_one_shape(app, client, admin_headers, body):
    for method, rule in api_routes(app):
        if method not in ("POST", "PUT") or rule == "/api/v1/security/refresh":
            continue
        url = url_of(rule)
        response = call(client, method, url, data=body, content_type="application/json",
                        headers=admin_headers)
        assert_error_shape(response, method, url)


def test_unknown_routes_and_methods_under_api_answer_json(client, admin_headers):
    missing = client.get("/api/v1/no-such-thing", headers=admin_headers)
    assert_error_shape(missing, "GET", "/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"
    wrong_method = client.patch("/api/v1/shop/customers", headers=admin_headers)
    assert_error_shape(wrong_method, "PATCH", "/api/v1/shop/customers")
    assert wrong_method.status_code == 405 and wrong_method.json["error"] == "method_not_allowed"


def test_field_errors_come_as_fields(client, admin_headers):
    response = client.post("/api/v1/address/", json={"last_name": "X", "email": "kein-at"},
                           headers=admin_headers)
    assert response.status_code == 422 and response.json["error"] == "invalid_fields"
    assert set(response.json["fields"]) == {"email"}


def test_the_shape_is_one_shared_schema_in_the_openapi_spec(client, admin_headers):
    spec = client.get("/api/v1/_openapi", headers=admin_headers).json
    assert spec["components"]["schemas"]["Error"]["required"] == ["error", "message"]
    for status in ("400", "401", "404", "422"):
        schema = spec["components"]["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}, status
    unlinked = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                if not str(status).startswith("4"):
                    continue
                ref = answer.get("$ref") or answer.get("content", {}).get("application/json", {}) \
                    .get("schema", {}).get("$ref")
                if ref not in ("#/components/schemas/Error", f"#/components/responses/{status}"):
                    unlinked.append(f"{method.upper()} {path} {status}")
    assert unlinked == [], unlinked
