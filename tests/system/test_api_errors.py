"""Every API route answers bad requests in the one error shape, and never with a 5xx.

The walk takes the routes from the app itself, so an API added later is walked too: without
a token, with a garbage token, with a valid admin token and an unknown id, and with a
body that is no JSON object (400 `invalid_json` on every write). Each answer is in the one
shape: a string `error` and `message` (and `fields` only as messages per field), with no
database text in it. The walks of wrong types, overlong texts and unknown choices take the
operations from the OpenAPI spec and assert the exact answer of each write's route family
(`BODY_FAMILIES` in tests/support/route_families.py); a write no family covers fails.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

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


def assert_error_shape(response, method: str, url: str, status: int | None = None,
                       error: str | set[str] | None = None) -> None:
    """The one error shape; with `status` (and `error`, one code or a set of them) the exact answer."""
    where = f"{method} {url} -> {response.status_code}: {response.get_data(as_text=True)[:300]}"
    if status is None:
        assert 400 <= response.status_code < 500, where
    else:
        assert response.status_code == status, where
    body = response.get_json(silent=True)
    assert isinstance(body, dict), where
    assert isinstance(body.get("error"), str) and body["error"], where
    assert isinstance(body.get("message"), str), where
    if "fields" in body:
        assert isinstance(body["fields"], dict), where
        assert all(isinstance(m, list) and all(isinstance(t, str) for t in m)
                   for m in body["fields"].values()), where
    if error is not None:
        assert body["error"] in ({error} if isinstance(error, str) else error), where
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
            "shop", "voucher", "security", "directory", "my_services"} <= resources
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


# Writes whose body is checked before the id: the walk's body {"reason": "x"} is refused first.
BODY_CHECKED_FIRST = {("POST", "/api/v1/marketplace/requests/<int:pk>/direct"): (422, "invalid_fields"),
                      ("POST", "/api/v1/service_orders/offers/<int:pk>/accept"): (422, "invalid_fields")}


def test_unknown_ids_answer_404_in_the_one_shape(app, client, admin_headers):
    for method, rule in api_routes(app):
        if "<" not in rule or "<version>" in rule:
            continue
        url = url_of(rule)
        response = call(client, method, url, json={"reason": "x"}, headers=admin_headers)
        assert_error_shape(response, method, url, *BODY_CHECKED_FIRST.get((method, rule), (404, None)))


@pytest.mark.parametrize("body", ["{not json", "[]", '"text"', "5", "null"],
                         ids=["broken", "list", "string", "number", "null"])
def test_a_body_that_is_no_json_object_answers_400_invalid_json_on_every_write(app, client, admin_headers,
                                                                               body):
    """Every API takes an object: anything else is refused before the route's id or fields are
    looked at, on every route (an unknown id does not turn it into a 404)."""
    before = counts(app)
    walked = 0
    for method, rule in api_routes(app):
        if method not in ("POST", "PUT", "PATCH"):
            continue
        url = url_of(rule)
        response = call(client, method, url, data=body, content_type="application/json",
                        headers=admin_headers)
        assert_error_shape(response, method, url, 400, "invalid_json")
        assert response.json == {"error": "invalid_json", "message": "Senden Sie ein JSON-Objekt."}, url
        walked += 1
    assert walked >= 25
    assert counts(app) == before


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


@pytest.mark.parametrize(("language", "fields", "message"), [
    ("de", {"last_name": ["Länger als die Höchstlänge von 100 Zeichen."],
            "first_name": ["Kein gültiger Text."],
            "sponsor_id": ["Keine gültige ganze Zahl."], "nosuch": ["Unbekanntes Feld."],
            "type": ["Muss einer dieser Werte sein: new_customer, customer, partner."]},
     "Einige Felder sind ungültig."),
    ("en", {"last_name": ["Longer than maximum length 100."], "first_name": ["Not a valid string."],
            "sponsor_id": ["Not a valid integer."], "nosuch": ["Unknown field."],
            "type": ["Must be one of: new_customer, customer, partner."]},
     "Some fields are invalid."),
])
def test_the_model_apis_field_messages_speak_the_callers_language(client, admin_headers, language, fields,
                                                                  message):
    """FAB's model APIs check bodies with marshmallow, whose messages are English."""
    headers = {**admin_headers, "Accept-Language": language}
    response = client.post("/api/v1/address/", headers=headers, json={
        "last_name": "x" * 101, "first_name": 5, "sponsor_id": "abc", "type": "kaiser", "nosuch": 1})
    assert (response.status_code, response.json) == (
        422, {"error": "invalid_fields", "fields": fields, "message": message})
    missing = client.post("/api/v1/article/", headers=headers, json={"name": None, "gross_price": "viel"})
    assert missing.json["fields"] == {
        "de": {"article_no": ["Dieses Feld ist erforderlich."],
               "name": ["Dieses Feld darf nicht leer (null) sein."],
               "gross_price": ["Keine gültige Zahl."]},
        "en": {"article_no": ["Missing data for required field."], "name": ["Field may not be null."],
               "gross_price": ["Not a valid number."]},
    }[language]
    # FAB's own token login, answered in the one shape after the fact, says the same.
    login = client.post("/api/v1/security/login", headers={"Accept-Language": language},
                        json={"username": 5, "password": "x", "provider": "db"})
    assert login.json["fields"] == {"username": [fields["first_name"][0]]}


@pytest.mark.parametrize(("language", "messages"), [
    ("de", ["Nach nosuch kann nicht gefiltert werden.", "Nach nosuch kann nicht sortiert werden."]),
    ("en", ["Filtering by nosuch is not allowed.", "Sorting by nosuch is not allowed."]),
])
def test_fabs_refusals_of_a_query_speak_the_callers_language(client, admin_headers, language, messages):
    headers = {**admin_headers, "Accept-Language": language}
    answers = [client.get("/api/v1/address/", headers=headers, query_string={"q": q}) for q in (
        "(filters:!((col:nosuch,opr:eq,value:1)))", "(order_column:nosuch,order_direction:asc)")]
    assert [(a.status_code, a.json) for a in answers] == [
        (400, {"error": "invalid_input", "message": message}) for message in messages]


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


# --- Bad input, one walk per class over every route ------------------------------------------

BIG_NUMBERS = [2**31, 10**20]
TEXT_PARAMS = re.compile(r"<(?:string:)?([a-z_]+)>")


def counts(app) -> dict[str, int]:
    """Rows per table of the app: a refused request writes none."""
    from backoffice.extensions import db
    from tests.conftest import our_tables

    with app.app_context():
        return {table: db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
                for table in our_tables()}


def openapi(client, headers) -> dict:
    return client.get("/api/v1/_openapi", headers=headers).json


def json_bodies(spec, keep_paths: bool = False) -> list[tuple[str, str, dict]]:
    """(method, url, request body schema) of every operation that takes a JSON body; with
    `keep_paths` the spec's path ("/api/v1/address/{pk}") instead of a url."""
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            schema = (operation.get("requestBody") or {}).get("content", {}) \
                .get("application/json", {}).get("schema")
            if schema is None:
                continue
            url = path if keep_paths else re.sub(r"\{[a-z_]+\}", "1", path)
            found.append((method.upper(), url, resolve(spec, schema)))
    return found


def resolve(spec, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


PLAUSIBLE = {"email": "walk@example.org", "postal_code": "10115", "description": "Die Wohnung streichen",
             "amount": "5.00", "gross_price": "10.00"}


def body_with(spec, schema: dict, kind: str, bad) -> dict:
    """A body whose properties of `kind` ("string", "enum", "integer") are all `bad`, the rest
    plausible (required texts filled in, numbers 1, flags false)."""
    body = {}
    required = set(schema.get("required") or ())
    for name, prop in (schema.get("properties") or {}).items():
        prop = resolve(spec, prop)
        # A decimal string ("10.00") also takes a JSON number: no wrong type for it.
        number_for_decimal = (prop.get("format") == "decimal" and isinstance(bad, (int, float))
                              and not isinstance(bad, bool))
        if kind == "enum" and "enum" in prop:
            body[name] = bad
        elif prop.get("type") == kind and "enum" not in prop and not number_for_decimal:
            body[name] = bad
        elif prop.get("type") == "string" and "enum" not in prop and name in required:
            body[name] = PLAUSIBLE.get(name, "1.00" if prop.get("format") == "decimal" else "Walk")
        elif prop.get("type") == "array":
            item = resolve(spec, prop.get("items") or {})
            body[name] = [body_with(spec, item, kind, bad) if item.get("properties") else bad]
        elif prop.get("type") == "integer" or name.endswith("_id"):
            body[name] = 1
        elif prop.get("type") == "boolean":
            body[name] = False
    return body


def carries(value, bad) -> bool:
    if type(value) is type(bad) and value == bad:
        return True
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(carries(item, bad) for item in items)


# Reads, not writes: an unusable code in a voucher check is an unknown code (200, valid false).
READS = {("POST", "/api/v1/shop/vouchers/check")}


@pytest.fixture
def shop_world(make):
    make.article(article_no="A-1", gross_price=Decimal("10.00"))
    return make.address(email="kundin@example.org")


def walk_bodies(app, client, headers, kind: str, bad, expect: tuple[int, str] | tuple[()] = ()) -> int:
    spec = openapi(client, headers)
    before = counts(app)
    walked = 0
    for method, url, schema in json_bodies(spec):
        body = body_with(spec, schema, kind, bad)
        if not carries(body, bad):
            continue
        response = call(client, method, url, json=body, headers=headers)
        if (method, url) in READS and response.status_code == 200:
            continue
        assert_error_shape(response, method, url, *expect)
        walked += 1
    assert counts(app) == before, kind
    return walked


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b"], ids=["nul", "surrogate"])
def test_nul_bytes_and_lone_surrogates_in_any_body_string_are_refused(app, client, admin_headers,
                                                                      shop_world, bad):
    assert walk_bodies(app, client, admin_headers, "string", bad, (400, "invalid_characters")) >= 12


# --- Wrong types, overlong texts, unknown choices: the exact answer per route family -------

@pytest.fixture
def api_world(make):
    """Records for every id a write's path or body names, so that each walk reaches the
    route's own checks of the body (not its 404 for an unknown id)."""
    from backoffice.extensions import db
    from backoffice.models import Service, ServicePackage
    from tests.support.directory import category, published_partner
    from tests.support.vouchers import permanent_voucher

    article = make.article(article_no="A-1", gross_price=Decimal("10.00"))
    customer = make.address(email="kundin@example.org")
    erased = make.address(email="loeschen@example.org")
    kind = category("Maler", "Painter")
    anna = published_partner(make, "anna", kind)
    voucher = permanent_voucher()
    service_id = db.session.execute(sa.select(Service.id).where(Service.partner_id == anna.id)).scalar_one()
    package_id = db.session.execute(sa.select(ServicePackage.id)
                                    .where(ServicePackage.service_id == service_id).limit(1)).scalar_one()
    paths = {"/api/v1/address/{pk}/erase": erased.id, "/api/v1/address/{pk}": customer.id,
             "/api/v1/article/{pk}": article.id, "/api/v1/partner/{pk}": anna.id,
             "/api/v1/voucher/{pk}": voucher.id, "/api/v1/voucher/{pk}/codes": voucher.id,
             "/api/v1/my_profile/{pk}": anna.id, "/api/v1/my_payment_profile/{pk}": anna.id,
             "/api/v1/my_services/{pk}": service_id}
    body_ids = {"category_id": kind.id, "customer_id": customer.id, "address_id": customer.id,
                "for_customer_id": customer.id, "package_id": package_id, "partner_id": anna.id,
                "new_sponsor_id": anna.address_id, "user_id": None}
    return paths, body_ids


WHERE_BODY_FAMILIES = "BODY_FAMILIES in tests/support/route_families.py"


def walk_families(app, client, admin_headers, api_world, walk: str, kind: str, bad) -> int:
    """Sends every JSON body of the spec with its `kind` fields set to `bad` and asserts the
    answer its route family gives for `walk`: status, error code and the fields named."""
    from tests.support.route_families import BODY_FAMILIES, CARRIED, SKIP
    from tests.support.walk import family_of

    paths, body_ids = api_world
    partner_headers = api_token(client, "anna")
    spec = openapi(client, admin_headers)
    before = counts(app)
    walked = 0
    for method, path, schema in json_bodies(spec, keep_paths=True):
        body = body_with(spec, schema, kind, bad)
        if not carries(body, bad):
            continue
        family = family_of(BODY_FAMILIES, f"{method} {path}", WHERE_BODY_FAMILIES)
        if walk not in family.answers:
            raise AssertionError(f"{method} {path} ({family.name}) takes {kind} fields: say in its family "
                                 f"what the {walk!r} walk must get")
        expected = family.answers[walk]
        if expected is SKIP:
            continue
        body.update({name: body_ids[name] for name, value in body.items()
                     if type(value) is int and value == 1 and name in body_ids})
        body.update(family.plain)
        url = path.replace("{pk}", str(paths.get(path, UNKNOWN_ID)))
        headers = partner_headers if path.startswith("/api/v1/my_") else admin_headers
        response = call(client, method, url, json=body, headers=headers)
        status, error, fields = expected
        # A field of a list's item is named by its position: "packages-0-price".
        carried = {name for name, value in body.items() if carries(value, bad)} | {
            f"{name}-{i}-{sub}" for name, value in body.items() if isinstance(value, list)
            for i, item in enumerate(value) if isinstance(item, dict)
            for sub, v in item.items() if carries(v, bad)}
        named = carried if fields == CARRIED else fields(carried) if callable(fields) else fields
        where = (f"{method} {url} ({family.name}) -> {response.status_code}: "
                 f"{response.get_data(as_text=True)[:300]}")
        if status < 400:
            assert response.status_code == status, where
        else:
            assert_error_shape(response, method, url, status, error)
            assert set(response.json.get("fields") or {}) == set(named), where
        walked += 1
    assert counts(app) == before, walk
    return walked


def test_strings_longer_than_their_column_are_refused(app, client, admin_headers, api_world):
    assert walk_families(app, client, admin_headers, api_world, "long", "string", "x" * 5000) >= 18


@pytest.mark.parametrize("bad", [5, 1.5, ["x"], {"x": 1}, True],
                         ids=["int", "float", "list", "object", "bool"])
def test_wrong_json_types_for_string_fields_are_refused(app, client, admin_headers, api_world, bad):
    assert walk_families(app, client, admin_headers, api_world, "type", "string", bad) >= 20


def test_unknown_enum_values_are_refused(app, client, admin_headers, api_world):
    assert walk_families(app, client, admin_headers, api_world, "enum", "enum", "king") >= 6


def test_a_route_without_a_body_family_fails_with_instructions():
    from tests.support.route_families import BODY_FAMILIES
    from tests.support.walk import family_of

    with pytest.raises(AssertionError, match=r"The route POST /api/v1/new_thing/ belongs to no route family "
                                             r"of this walk\. Classify it: add a Family"):
        family_of(BODY_FAMILIES, "POST /api/v1/new_thing/", WHERE_BODY_FAMILIES)


@pytest.mark.parametrize("bad", BIG_NUMBERS)
def test_ids_beyond_the_integer_range_in_bodies_are_refused(app, client, admin_headers, shop_world, bad):
    assert walk_bodies(app, client, admin_headers, "integer", bad, (400, "number_out_of_range")) >= 6


@pytest.mark.parametrize("bad", BIG_NUMBERS)
def test_ids_beyond_the_integer_range_in_paths_are_not_found(app, client, admin_headers, bad):
    walked = 0
    for method, rule in api_routes(app):
        if "<int:" not in rule and "<pk>" not in rule:
            continue
        url = re.sub(r"<(?:int:)?(pk|[a-z_]*id)>", str(bad), rule.replace("<version>", "v1"))
        url = re.sub(r"<[a-z_:]+>", "x", url)
        response = call(client, method, url, json={}, headers=admin_headers)
        assert_error_shape(response, method, url, 404, "not_found")
        walked += 1
    assert walked >= 15


@pytest.mark.parametrize("query", [
    "page=2147483648", "page_size=99999999999999999999", "customer_id=2147483648",
    "q=(page:2147483648,page_size:10)", "q=(page:0,page_size:99999999999)", "q=(((", "q=(page:'",
    "q=!x", "x=a%00b", "q=(filters:!((col:last_name,opr:ct,value:'a%00b')))",
])
def test_bad_query_strings_are_refused_on_every_get_route(app, client, admin_headers, query):
    walked = 0
    for method, rule in api_routes(app):
        if method != "GET" or rule in OPEN_ROUTES:
            continue
        url = f"{url_of(rule)}?{query}"
        response = call(client, method, url, headers=admin_headers)
        assert_error_shape(response, method, url, 400,
                           "invalid_characters" if "%00" in query else "invalid_parameter")
        walked += 1
    assert walked >= 20


@pytest.mark.parametrize("value", ["a%00b", "%2e%2e", "..%2f..%2fetc%2fpasswd"])
def test_text_path_parameters_with_nul_or_dot_dot_are_refused(app, client, admin_headers, value):
    walked = 0
    for method, rule in api_routes(app):
        if not TEXT_PARAMS.search(rule.replace("<version>", "")):
            continue
        url = TEXT_PARAMS.sub(value, rule.replace("<version>", "v1"))
        url = re.sub(r"<int:[a-z_]+>", "1", url)
        response = call(client, method, url, json={}, headers=admin_headers)
        # NUL: refused as such; a dot-dot name: no such file or kind.
        assert_error_shape(response, method, url, *((400, "invalid_characters") if "%00" in value
                                                    else (404, {"not_found", "unknown_kind"})))
        walked += 1
    assert walked >= 2


def test_a_body_over_the_limit_is_refused_before_it_is_read(app, client, admin_headers):
    before = counts(app)
    body = '{"last_name": "' + "x" * (app.config["MAX_CONTENT_LENGTH"] + 10) + '"}'
    for url in ("/api/v1/address/", "/api/v1/shop/customers"):
        response = client.post(url, data=body, content_type="application/json", headers=admin_headers)
        assert_error_shape(response, "POST", url)
        assert response.status_code == 413 and response.json["error"] == "too_large"
    assert counts(app) == before
