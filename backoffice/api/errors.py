"""The one JSON error shape of every API, and the handler that produces it.

    {"error": "<machine code>", "message": "<text for people>", "fields": {"<field>": ["…"]}}

A `DomainError` raised anywhere below an API handler, FAB's own refusals (`response_4xx`),
the token check (a missing, garbage or expired token is 401), Werkzeug's 404/405 for unknown
routes under `/api/` and database refusals all answer in this shape; the OpenAPI spec
documents it once as the `Error` schema and every operation's 4xx answers point to it. The
database's own text (tables, columns, values) never reaches a client. Outside `/api/` a
domain error becomes a flash message on the page the user came from.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from flask import Flask, flash, jsonify, redirect, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from ..errors import Conflict, DomainError, InvalidInput, NotAuthenticated, RuleViolations, code_for_status
from ..transaction import discard

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "machine code, e.g. `invalid_fields`, `not_found`"},
        "message": {"type": "string", "description": "what went wrong, in the caller's language"},
        "fields": {"type": "object", "description": "messages per field at fault",
                   "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "additionalProperties": True,
}

_DESCRIPTIONS = {"400": "Malformed request", "401": "No valid token", "403": "Not allowed",
                 "404": "Not found", "405": "Method not allowed", "409": "Conflict",
                 "413": "The request or upload is too large",
                 "422": "Refused: invalid fields or a broken rule", "429": "Too many requests",
                 "500": "Internal error"}
ERROR_RESPONSES = {
    status: {"description": text,
             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for status, text in _DESCRIPTIONS.items()
}


# What any operation may answer, whatever it does.
ALWAYS_POSSIBLE = ("400", "401", "403", "404", "405", "409", "413", "422", "500")


def _decimals_as_strings(schema: dict) -> None:
    """Money and rates are sent as decimal strings ("10.00"), never as JSON numbers: the
    model schemas say so (marshmallow's Decimal becomes `number` in the generated spec)."""
    for prop in (schema.get("properties") or {}).values():
        if isinstance(prop, dict) and prop.get("type") == "number":
            prop.update(type="string", format="decimal", pattern=r"^-?\d+(\.\d+)?$")


def _fab_answer_types(schema: dict) -> None:
    """FAB's generic answers as they are: ids are integers (its docstrings say strings), the
    `_info` answer's add and edit columns are lists of column descriptions."""
    props = schema.get("properties") or {}
    if props.get("id", {}).get("type") == "string":
        props["id"] = {"type": "integer"}
    if props.get("ids", {}).get("items", {}).get("type") == "string":
        props["ids"]["items"] = {"type": "integer"}
    for name in ("add_columns", "edit_columns"):
        if props.get(name, {}).get("type") == "object":
            props[name] = {"type": "array", "items": {"type": "object"}}
    # The menu's children include separators, given as "-".
    for prop in props.values():
        item = prop.get("items") if isinstance(prop, dict) else None
        if isinstance(item, dict):
            childs = (item.get("properties") or {}).get("childs")
            if childs and childs.get("items") == {"type": "object"}:
                childs["items"] = {"oneOf": [{"type": "object"}, {"type": "string"}]}


def json_object(*texts: str) -> dict:
    """The request's JSON body, which must be an object (`InvalidInput`, 400, otherwise).
    The fields named in `texts` must be JSON strings where given: any other type is refused
    with 422 `invalid_fields` naming each such field, never turned into text."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("invalid_json", _("Send a JSON object."))
    wrong = {name: [_("Send text.")] for name in texts
             if data.get(name) is not None and not isinstance(data[name], str)}
    if wrong:
        raise RuleViolations(wrong, _("Some fields are invalid."))
    return data


def error_response(status: int, code: str | None = None, message=None, **extra):
    body = {"error": code or code_for_status(status), "message": str(message or "")}
    body.update({k: v for k, v in extra.items() if v is not None})
    response = jsonify(body)
    response.status_code = status
    return response


def domain_error_response(exc: DomainError):
    status = exc.status if 400 <= exc.status < 600 else 422
    response = jsonify(exc.as_json())
    response.status_code = status
    if exc.details.get("retry_after") is not None:
        response.headers["Retry-After"] = str(exc.details["retry_after"])
    return response


# The framework's own messages in the caller's language: marshmallow's field messages (FAB's
# model APIs read bodies with it) and FAB's refusals of a query. Each is the English text, its
# `{placeholders}` as the framework fills them in, and the translation to give instead; the
# English msgids are the framework's texts where they read well, so an English answer says
# what the framework says.
_FRAMEWORK = (
    ("Missing data for required field.", _l("Missing data for required field.")),
    ("Field may not be null.", _l("Field may not be null.")),
    ("Unknown field.", _l("Unknown field.")),
    ("Invalid input type.", _l("Invalid input type.")),
    ("Invalid input.", _l("Invalid input.")),
    ("Invalid value.", _l("Invalid value.")),
    ("Invalid type.", _l("Invalid type.")),
    ("Not a valid string.", _l("Not a valid string.")),
    ("Not a valid utf-8 string.", _l("Not a valid utf-8 string.")),
    ("Not a valid integer.", _l("Not a valid integer.")),
    ("Not a valid number.", _l("Not a valid number.")),
    ("Number too large.", _l("Number too large.")),
    ("Special numeric values (nan or infinity) are not permitted.",
     _l("Special numeric values (nan or infinity) are not permitted.")),
    ("Not a valid boolean.", _l("Not a valid boolean.")),
    ("Not a valid datetime.", _l("Not a valid datetime.")),
    ("Not a valid date.", _l("Not a valid date.")),
    ("Not a valid time.", _l("Not a valid time.")),
    ("Not a valid email address.", _l("Not a valid email address.")),
    ("Not a valid URL.", _l("Not a valid URL.")),
    ("Not a valid UUID.", _l("Not a valid UUID.")),
    ("Not a valid list.", _l("Not a valid list.")),
    ("Not a valid mapping type.", _l("Not a valid mapping type.")),
    ("String does not match expected pattern.", _l("String does not match expected pattern.")),
    ("Must be one of: {choices}.", _l("Must be one of: %(choices)s.")),
    ("Longer than maximum length {max}.", _l("Longer than maximum length %(max)s.")),
    ("Shorter than minimum length {min}.", _l("Shorter than minimum length %(min)s.")),
    ("Length must be between {min} and {max}.", _l("Length must be between %(min)s and %(max)s.")),
    ("Length must be {equal}.", _l("Length must be %(equal)s.")),
    ("Must be greater than or equal to {min}.", _l("Must be greater than or equal to %(min)s.")),
    ("Must be less than or equal to {max}.", _l("Must be less than or equal to %(max)s.")),
    ("Must be greater than or equal to {min} and less than or equal to {max}.",
     _l("Must be greater than or equal to %(min)s and less than or equal to %(max)s.")),
    # marshmallow-sqlalchemy's related field (a relation sent as something else than its key)
    ("Could not deserialize related value {value}; expected a dictionary with keys {keys}",
     _l("Not a valid reference to a record.")),
    # FAB's refusals of the `q` parameter (its rison arguments)
    ("Not a valid rison argument", _l("The q parameter is not valid rison.")),
    ("Not a valid rison/json argument", _l("The q parameter is neither valid rison nor JSON.")),
    ("Not a valid rison schema {detail}", _l("The q parameter does not fit this route: %(detail)s")),
    ("Filter column: {column} not allowed to filter", _l("Filtering by %(column)s is not allowed.")),
    ("Filter operation: {operation} not allowed on column: {column}",
     _l("The filter %(operation)s is not allowed on %(column)s.")),
    ("Invalid order by column: {column}", _l("Sorting by %(column)s is not allowed.")),
    ("Cannot use both select and sel columns", _l("Send either columns or select_columns, not both.")),
)


def _pattern(template: str) -> re.Pattern:
    pieces = re.split(r"\{(\w+)\}", template)  # text, name, text, name, …, text
    return re.compile("".join(re.escape(piece) if i % 2 == 0 else f"(?P<{piece}>.*)"
                              for i, piece in enumerate(pieces)))


_FRAMEWORK_PATTERNS = tuple((_pattern(english), translated) for english, translated in _FRAMEWORK)


def in_callers_language(message) -> str:
    """A message in the caller's language: the framework's own ones translated, ours (already
    translated where raised) as they are."""
    text = str(message)
    for pattern, translated in _FRAMEWORK_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return str(translated) % match.groupdict() if match.groupdict() else str(translated)
    return text


def _fields_of(message) -> dict | None:
    """FAB/marshmallow give field errors as a dict (possibly nested): messages per field."""
    if not isinstance(message, dict):
        return None
    return {str(name): [in_callers_language(m) for m in (value if isinstance(value, list) else [value])]
            for name, value in message.items()}


class JsonErrors:
    """Mixed into every API class: FAB's own answers in the one shape, the shape in the spec."""

    responses = ERROR_RESPONSES

    def add_apispec_components(self, api_spec):
        super().add_apispec_components(api_spec)
        for schema in api_spec.components.schemas.values():
            _decimals_as_strings(schema)
        if "Error" not in api_spec.components.schemas:
            api_spec.components.schema("Error", ERROR_SCHEMA)
        # FAB's own APIs (login, menu) register their `{message}` answers under the same
        # names, first come first kept: ours replace them, so every reference means `Error`.
        api_spec.components.responses.update(ERROR_RESPONSES)

    def add_api_spec(self, api_spec):
        """Every 4xx answer of the spec's operations points at the shared `Error` schema,
        also where a docstring only describes when it happens; and every operation lists the
        refusals any request may get (a bad token, a role without the right, malformed input
        or a number out of range: `backoffice.input_guard`, a body too large, a write that
        meets a concurrent change)."""
        super().add_api_spec(api_spec)
        for operations in api_spec._paths.values():
            for operation in operations.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                for status in ALWAYS_POSSIBLE:
                    operation["responses"].setdefault(status, {"$ref": f"#/components/responses/{status}"})
                for answer in operation["responses"].values():
                    schema = answer.get("content", {}).get("application/json", {}).get("schema")
                    if isinstance(schema, dict):
                        _fab_answer_types(schema)
                for status, answer in (operation.get("responses") or {}).items():
                    if str(status).startswith("4") and "$ref" not in answer:
                        answer.setdefault("content", {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Error"}}})

    def response_400(self, message=None):
        fields = _fields_of(message)
        text = _("The request is malformed.") if fields or not message else in_callers_language(message)
        return error_response(400, "invalid_input", text, fields=fields)

    def response_401(self):
        return error_response(401, "not_authenticated", _("Log in or send a valid access token."))

    def response_403(self):
        return error_response(403, "forbidden", _("You may not do this."))

    def response_404(self):
        return error_response(404, "not_found", _("There is no such record."))

    def response_422(self, message=None):
        fields = _fields_of(message)
        text = _("Some fields are invalid.") if fields or not message else in_callers_language(message)
        return error_response(422, "invalid_fields", text, fields=fields)

    def response_500(self, message=None):
        return error_response(500, "error", _("Internal error."))


def _is_api() -> bool:
    return request.path.startswith(API_PREFIX)


def _back():
    """The page the user came from (same host only), else the start page."""
    target = request.referrer
    if target and urlsplit(target).netloc in ("", request.host):
        return redirect(target)
    return redirect(request.script_root + "/")


def handle_domain_error(exc: DomainError):
    discard()
    if _is_api():
        return domain_error_response(exc)
    flash(exc.message, "danger")
    return _back()


def handle_database_error(exc: SQLAlchemyError):
    """A refusal no rule foresaw (a race on a unique value): a conflict, without its SQL."""
    discard()
    log.warning("database error answered as a conflict: %s", exc.__class__.__name__, exc_info=True)
    return handle_domain_error(Conflict())


def handle_http_error(exc: HTTPException):
    if not _is_api():
        return exc
    message = exc.description if exc.code != 500 else _("Internal error.")
    return error_response(exc.code or 500, code_for_status(exc.code or 500), message)


def one_shape(response):
    """After every `/api/` request: an error answer that some framework part wrote in its own
    shape (FAB's login, menu and spec endpoints: `{"message": …}`, the token library's
    `{"msg": …}`) is rewritten into the one shape, so no client sees two kinds."""
    if response.status_code < 400 or not _is_api() or not response.is_json:
        return response
    body = response.get_json(silent=True)
    if not isinstance(body, dict) or isinstance(body.get("error"), str):
        return response
    message = body.get("message", body.get("msg"))
    fields = _fields_of(message)
    if fields and response.status_code == 400:
        # FAB's own APIs (the token login) answer field errors with 400; ours with 422.
        response.status_code = 422
    if fields or not isinstance(message, str) or response.status_code >= 500:
        message = _DEFAULT_MESSAGES.get(response.status_code, _("The request was refused."))
        if response.status_code >= 500:
            message = _("Internal error.")
    body = {"error": code_for_status(response.status_code), "message": str(message)}
    if fields:
        body["fields"] = fields
    response.set_data(jsonify(body).get_data())
    return response


_DEFAULT_MESSAGES = {400: _l("The request is malformed."), 401: _l("Log in or send a valid access token."),
                     403: _l("You may not do this."), 404: _l("There is no such record."),
                     422: _l("Some fields are invalid.")}


def _token_refused(*_args):
    return domain_error_response(NotAuthenticated())


def install(app: Flask) -> None:
    """Register the handlers on the app and the token checks' answers on FAB's JWT manager."""
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(SQLAlchemyError, handle_database_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.after_request(one_shape)
    jwt = app.appbuilder.sm.jwt_manager
    for loader in (jwt.unauthorized_loader, jwt.invalid_token_loader, jwt.expired_token_loader,
                   jwt.revoked_token_loader, jwt.needs_fresh_token_loader, jwt.user_lookup_error_loader,
                   jwt.token_verification_failed_loader):
        loader(_token_refused)
