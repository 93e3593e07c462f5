"""The one error hierarchy of Partnerdesk: every area raises a `DomainError`.

A domain error carries what a client needs and nothing of the database: a machine `code`,
a `message` for people (already translated), an HTTP `status`, and optionally messages per
`fields` and a few plain `details` (e.g. the id of the record a conflict is about). The web
layer turns it into the one JSON shape of every API (`backoffice.api.errors`) or into a
message in the Desk; services, `downline/`, `imports/` and `reports/` only raise it.

    {"error": "invalid_fields", "message": "…", "fields": {"email": ["…"]}}
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A request or use case refused: `code` for machines, `message` for people."""

    code = "refused"
    status = 422
    default_message = _l("The request was refused.")

    def __init__(self, code: str | None = None, message=None, *, status: int | None = None,
                 fields: Mapping[str, list[str]] | None = None, **details):
        self.code = code or type(self).code
        self.message = str(message if message is not None else self.default_message)
        if status is not None:
            self.status = status
        self.fields = {name: [str(m) for m in messages] for name, messages in (fields or {}).items()}
        self.details = details
        super().__init__(self.message)

    def as_json(self) -> dict:
        """The body of an API answer: `error`, `message`, `fields` (when a field is at fault)."""
        body = {"error": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.details)
        return body


class InvalidInput(DomainError):
    """The request itself is malformed: not JSON, a parameter of the wrong kind."""

    code, status = "invalid_input", 400
    default_message = _l("The request is malformed.")


class NotAuthenticated(DomainError):
    code, status = "not_authenticated", 401
    default_message = _l("Log in or send a valid access token.")


class Forbidden(DomainError):
    code, status = "forbidden", 403
    default_message = _l("You may not do this.")


class NotFound(DomainError):
    code, status = "not_found", 404
    default_message = _l("There is no such record.")


class Conflict(DomainError):
    """The request clashes with existing data or with a concurrent request."""

    code, status = "conflict", 409
    default_message = _l("The change conflicts with existing data; reload and try again.")


class RuleViolations(DomainError):
    """A record breaks rules: field name → list of messages."""

    code, status = "invalid_fields", 422

    def __init__(self, errors: Mapping[str, list[str]], message=None):
        errors = {name: [str(m) for m in messages] for name, messages in errors.items()}
        # The message is read by people (the Desk flashes it): the messages, not the field keys.
        text = message if message is not None else " ".join(
            dict.fromkeys(m for messages in errors.values() for m in messages))
        super().__init__(message=text, fields=errors)

    @property
    def errors(self) -> dict[str, list[str]]:
        return self.fields


class TooManyRequests(DomainError):
    """A limit was reached; `retry_after` (seconds) is also sent as the Retry-After header."""

    code, status = "too_many_requests", 429
    default_message = _l("Too many requests; try again shortly.")


# What an HTTP status means when FAB, Werkzeug or the token check answer it themselves.
STATUS_CODES = {400: "invalid_input", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 413: "too_large",
                415: "unsupported_media_type", 422: "invalid_fields", 429: "too_many_requests"}


def code_for_status(status: int) -> str:
    return STATUS_CODES.get(status, "error" if status >= 500 else "refused")
