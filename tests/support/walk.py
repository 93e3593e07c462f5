"""Walking every GET route of the app and asserting the exact answer of each.

The routes come from the URL map, so a new route is walked without touching a test. Each
route belongs to a route family (a regular expression over the rule, first match wins) that
says what the caller must get: a status and, for a redirect, its exact target. A route no
family matches fails the walk, with the message telling the developer to classify it.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import openpyxl

OK = (200, None)
FORBIDDEN = (403, None)
MISSING = (404, None)
UNAUTHENTICATED = (401, None)


def redirect(location: str, status: int = 302) -> tuple[int, str]:
    return (status, location)


@dataclass(frozen=True)
class Visit:
    """One URL of the walk: its rule, the value put into the rule's arguments (None for a
    route without arguments) and who walks (whatever the walk's families need)."""

    rule: str
    url: str
    value: int | None
    who: object


Outcome = tuple[int, str | None]


@dataclass(frozen=True)
class Family:
    name: str
    pattern: str
    expect: Outcome | Callable[[Visit], Outcome]

    def outcome(self, visit: Visit) -> Outcome:
        return self.expect(visit) if callable(self.expect) else self.expect


def get_routes(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.rule.startswith("/static") and "logout" not in rule.rule:
            yield rule


def urls(rule, ids):
    """The rule's URLs with each id put into every argument (a format as csv and xlsx)."""
    if not rule.arguments:
        yield rule.rule, None
        return
    values = {"fmt": "csv", "version": "v1"}
    for pk in ids:
        url = rule.rule
        for a in sorted(rule.arguments):
            url = re.sub(rf"<(?:[a-z]+:)?{a}>", str(values.get(a, pk)), url)
        yield url, pk
        if "fmt" in rule.arguments:
            yield url.replace("/csv", "/xlsx"), pk


def text(response) -> str:
    ctype = response.headers.get("Content-Type", "")
    if "spreadsheetml" in ctype:
        book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
        return "\n".join(str(v) for row in book.active.iter_rows(values_only=True) for v in row)
    return response.get_data(as_text=True)


def family_of(families: Iterable[Family], rule: str, where: str) -> Family:
    for family in families:
        if re.fullmatch(family.pattern, rule):
            return family
    raise AssertionError(
        f"The route {rule} belongs to no route family of this walk. Classify it: add a Family "
        f"(pattern, expected status) for it to {where}, saying what this caller must get.")


@dataclass
class Walk:
    """Walks `app`'s GET routes with `ids` as `client`; asserts each answer exactly and that
    no page answered 200 shows one of `markers` (`allowed(url)` names markers a URL may show)."""

    families: list[Family]
    where: str
    markers: list[str]
    allowed: Callable[[str], Iterable[str]] = lambda url: ()
    statuses: Counter = field(default_factory=Counter)

    def run(self, app, client, ids, who=None, headers: Callable[[str], dict | None] = lambda url: None,
            only: Callable[[str], bool] = lambda rule: True) -> Counter:
        for rule in get_routes(app):
            if not only(rule.rule):
                continue
            family = family_of(self.families, rule.rule, self.where)
            for url, value in urls(rule, ids):
                self.check(client.get(url, headers=headers(url)), family, Visit(rule.rule, url, value, who))
        return self.statuses

    def check(self, response, family: Family, visit: Visit) -> None:
        status, location = family.outcome(visit)
        moved = response.status_code in (301, 302)
        got = (response.status_code, response.headers.get("Location") if moved else None)
        assert got == (status, location), (f"{visit.url} ({family.name}) answered {got[0]} {got[1] or ''}, "
                                           f"expected {status} {location or ''}")
        if status == 200:
            shown = text(response)
            leaks = [m for m in self.markers if m in shown and m not in set(self.allowed(visit.url))]
            assert not leaks, f"{visit.url} ({family.name}) shows another's data: {leaks}"
        self.statuses[status] += 1
