"""Reading request input in the APIs: one check per kind of value, one refusal shape.

Query parameters are text: a whole number is ASCII digits within bounds (`whole_arg`); a
wrong one is refused with 400 `invalid_parameter` and a message at the parameter, the shape
`backoffice.input_guard` gives a number beyond the database's range.

JSON bodies keep JSON's types: a whole number is a JSON integer (not true/false, not "5"), a
flag is true or false, an amount a decimal string with a point ("49.90": the Desk reads
German amounts, but a machine's "1.234" means 1.234 and must not become 1234), a date is
written as on the Desk or in ISO form. A wrong field is refused with 422 `invalid_fields` and
its message at the field: at once (`whole`, `date`), or every wrong field of a body together
(`Fields`, then `Fields.check`).
"""

from __future__ import annotations

import re
from datetime import date as Date
from typing import NoReturn

from flask import request
from flask_babel import gettext as _

from ..errors import DomainError, InvalidInput, RuleViolations
from ..input_guard import INT_MAX
from ..local_values import parse_date

API_AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")
_DIGITS = re.compile(r"\d{1,10}", re.ASCII)


def is_whole(value) -> bool:
    """A JSON integer: Python's bool is an int too, JSON's true is no number."""
    return isinstance(value, int) and not isinstance(value, bool)


def refuse(name: str, message, *, code: str = "invalid_fields", status: int = 422) -> NoReturn:
    """One field at fault: its message is the answer's message and stands at the field."""
    raise DomainError(code, message, status=status, fields={name: [message]})


def whole_arg(name: str, default: int | None = None, low: int = 1, high: int = INT_MAX, *,
              required: bool = False) -> int | None:
    """A whole number from the query string, `low` to `high`; `default` when not given."""
    text = request.args.get(name, "")
    if text == "" and not required:
        return default
    if not _DIGITS.fullmatch(text):
        raise InvalidInput("invalid_parameter", _("%(name)s must be a whole number.", name=name),
                           fields={name: [_("Enter a whole number.")]})
    value = int(text)
    if not low <= value <= high:
        raise InvalidInput("invalid_parameter", _("%(name)s must be a number from %(low)s to %(high)s.",
                                                  name=name, low=low, high=high),
                           fields={name: [_("Enter a number from %(low)s to %(high)s.", low=low, high=high)]})
    return value


def whole(data: dict, name: str, *, required: bool = True, code: str = "invalid_fields") -> int | None:
    """A JSON integer from a body; absent or null is None where it is not `required`."""
    value = data.get(name)
    if value is None and not required:
        return None
    if not is_whole(value):
        refuse(name, _("%(name)s must be a number.", name=name), code=code)
    return value


def date(data: dict, name: str) -> Date | None:
    """An optional date from a body ("31.12.2026" or "2026-12-31"); absent, null or "" is None."""
    body = Fields(data)
    found = body.date(name)
    if body.errors:
        refuse(name, body.errors[name][0])
    return found


class Fields:
    """Reads a body's fields with their JSON types; every wrong field is noted, and `check`
    refuses them all at once. `prefix` names the fields of an item in a list
    (`packages-0-name`)."""

    def __init__(self, data: dict, prefix: str = ""):
        self.data, self.prefix, self.errors = data, prefix, {}

    def fail(self, name: str, message) -> None:
        self.errors.setdefault(self.prefix + name, []).append(str(message))

    def text(self, name: str, required: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.fail(name, _("This field is required."))
            return None
        if not isinstance(value, str):
            self.fail(name, _("Send text."))
            return None
        return value

    def whole(self, name: str, required: bool = False, message=None) -> int | None:
        value = self.data.get(name)
        if value is None and not required:
            return None
        if not is_whole(value):
            self.fail(name, message or _("Enter a whole number."))
            return None
        return value

    def amount(self, name: str) -> str | None:
        """A decimal string with a point ("49.90"), as sent; the service checks its value."""
        value = self.data.get(name)
        if value is not None and not (isinstance(value, str) and API_AMOUNT.fullmatch(value.strip())):
            self.fail(name, _("Enter an amount such as 49.90."))
            return None
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            self.fail(name, _("Send true or false."))
            return default
        return value

    def date(self, name: str) -> Date | None:
        """An optional date ("31.12.2026" or "2026-12-31"); absent, null or "" is None."""
        value = self.data.get(name)
        if value in (None, ""):
            return None
        found = parse_date(value) if isinstance(value, str) else None
        if found is None:
            self.fail(name, _("Write the date as 31.12.2026."))
        return found

    def check(self, message=None) -> None:
        """Refuse every noted field at once (422 `invalid_fields`)."""
        if self.errors:
            raise RuleViolations(self.errors, message)
