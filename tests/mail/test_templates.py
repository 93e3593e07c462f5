"""Every mail kind the system queues has a text and an HTML part in German and English, and
the HTML part escapes what customers and partners wrote, declares its language and links
with real addresses.

The kinds are read from the code: every `queue_mail` / `queue_mails` call in `backoffice/`,
its kind followed through string constants, `a if c else b`, local and module constants and
the parameters of the helpers that pass it on. A call whose kind cannot be read this way fails
the test, so a new mail cannot slip past it.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from jinja2 import meta
from markupsafe import escape

import backoffice
from backoffice.errors import InvalidInput
from backoffice.services import mail

PACKAGE = Path(backoffice.__file__).parent
FOLDER = PACKAGE / "templates" / "mail"
PART = re.compile(r"^(?P<kind>[a-z_]+)\.(?P<language>de|en)\.(?P<part>txt|html)$")
NOT_MAILS = {"layout.html", "macros.html", "outbox_show.html"}  # the frame, its pieces, a Desk page
QUEUE = {"queue_mail", "queue_mails"}
SCRIPT = '<script>alert("x")</script>'
LINK = "https://desk.example/my/service-orders/"


def template_parts() -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = {}
    for path in FOLDER.iterdir():
        match = PART.match(path.name)
        assert match or path.name in NOT_MAILS, f"{path.name} is neither a mail part nor a known helper"
        if match:
            found.setdefault(match["kind"], set()).add((match["language"], match["part"]))
    return found


class _Kinds(ast.NodeVisitor):
    """The kinds one module queues (see the module's docstring)."""

    def __init__(self, tree: ast.Module, where: str):
        self.where, self.kinds, self.unread = where, set(), []
        self.constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                          and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                          for target in node.targets if isinstance(target, ast.Name)}
        self.functions = {node.name: node for node in ast.walk(tree)
                          if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
        self.calls = [(node, function) for function in self.functions.values()
                      for node in ast.walk(function) if isinstance(node, ast.Call)]
        for call, function in self.calls:
            if _name(call.func) in QUEUE:
                self.resolve(_argument(call, 1, "kind"), function, set())

    def resolve(self, node, function, seen) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.kinds.add(node.value)
        elif isinstance(node, ast.IfExp):
            self.resolve(node.body, function, seen)
            self.resolve(node.orelse, function, seen)
        elif isinstance(node, ast.Name) and node.id in self.constants:
            self.kinds.add(self.constants[node.id])
        elif isinstance(node, ast.Name) and function is not None and (assigned := [
                n.value for n in ast.walk(function) if isinstance(n, ast.Assign)
                and [getattr(t, "id", None) for t in n.targets] == [node.id]]):
            for value in assigned:
                self.resolve(value, function, seen)
        elif (isinstance(node, ast.Name) and function is not None and function.name not in seen
              and node.id in [a.arg for a in function.args.args]):
            position = [a.arg for a in function.args.args].index(node.id)
            callers = [(call, caller) for call, caller in self.calls if _name(call.func) == function.name]
            if not callers:
                self.unread.append(f"{self.where}: {function.name} is never called")
            for call, caller in callers:
                self.resolve(_argument(call, position, node.id), caller, seen | {function.name})
        else:
            line = getattr(node, "lineno", "?")
            self.unread.append(f"{self.where}:{line}: {ast.unparse(node) if node else 'no kind'}")


def _name(func) -> str | None:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _argument(call: ast.Call, position: int, keyword: str):
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def queued_kinds() -> tuple[set[str], list[str]]:
    kinds, unread = set(), []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if not any(name in source for name in QUEUE):
            continue
        visitor = _Kinds(ast.parse(source), str(path.relative_to(PACKAGE)))
        kinds |= visitor.kinds
        unread += visitor.unread
    return kinds, unread


def test_every_queued_kind_has_text_and_html_in_german_and_english():
    parts = template_parts()
    kinds, unread = queued_kinds()
    assert unread == []
    assert "service_order_offer_accepted" in kinds and "job_new" in kinds and "partner_invoice" in kinds
    every_part = {(language, part) for language in ("de", "en") for part in ("txt", "html")}
    assert {kind: sorted(every_part - parts.get(kind, set())) for kind in kinds
            if parts.get(kind) != every_part} == {}
    assert sorted(set(parts) - kinds) == []  # no template of a mail nothing queues


def test_a_kind_without_its_html_part_cannot_be_queued(app, tmp_path, monkeypatch):
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "half.de.txt").write_text('{% set subject = "Halb" %}Nur Text')
    from jinja2 import ChoiceLoader, FileSystemLoader

    with app.app_context():
        env = mail.templates()
        monkeypatch.setattr(env, "loader", ChoiceLoader([env.loader, FileSystemLoader(str(tmp_path))]))
        with pytest.raises(InvalidInput) as refused:
            mail.render("half", "de", {})
    assert refused.value.code == "unknown_mail" and "mail/half.de.html" in refused.value.message


def _hostile_context() -> dict:
    """A value for every variable any mail template reads; everything a person writes is a script."""
    job = SimpleNamespace(kind=SimpleNamespace(value="direct"), requirements=SCRIPT, business_info=SCRIPT,
                          merchant_name=SCRIPT, contact_email="kim@example.org", contact_phone=SCRIPT)
    request = SimpleNamespace(postal_code=SCRIPT, description=SCRIPT, preferred_dates=SCRIPT,
                              customer_name=SCRIPT, email="kim@example.org", phone=SCRIPT)
    item = SimpleNamespace(contact=SCRIPT, count=2, excerpt=SCRIPT, conversation_id=7)
    texts = ["name", "partner", "customer", "service", "package", "needs", "scope", "title", "message",
             "expires", "due", "gross", "answer_due", "category", "description", "amount", "invoice_number",
             "returned_on", "reason", "fee", "number", "month", "corrects", "mandate", "inviter_name",
             "partner_name", "contact", "store_name", "store_url", "requirements", "body"]
    return dict({key: SCRIPT for key in texts}, link=LINK, price=Decimal("149.00"), days=4, order_id=12,
                wished_start=date(2026, 11, 9), expires_at=datetime(2026, 11, 6, 22, 30, tzinfo=UTC),
                credit_note=False, files=1, items=[item], count=2, job=job, request=request)


def _variables(env, name: str) -> set[str]:
    source = env.loader.get_source(env, name)[0]
    return meta.find_undeclared_variables(env.parse(source))


def test_every_html_part_escapes_what_people_wrote_declares_its_language_and_links_for_real(app):
    context = _hostile_context()
    anchor = re.compile(r"<a\s([^>]*)>(.*?)</a>", re.S)
    with app.app_context():
        env = app.jinja_env
        for kind in sorted(template_parts()):
            for language in ("de", "en"):
                used = _variables(env, f"mail/{kind}.{language}.txt") | _variables(
                    env, f"mail/{kind}.{language}.html")
                assert used - {"subject", "language", "button", "text"} <= set(context), (kind, language)
                subject, text, html = mail.render(kind, language, context)
                assert subject and text.strip(), (kind, language)
                assert "<script" not in html and "&lt;script&gt;" in html, (kind, language)
                assert html.startswith("<!DOCTYPE html>") and f'<html lang="{language}">' in html
                assert f"<title>{escape(subject)}</title>" in html, (kind, language)
                for attributes, label in anchor.findall(html):
                    href = re.fullmatch(r'href="([^"]+)"(?: style="[^"]*")?', attributes.strip())
                    assert href, (kind, language, attributes)
                    assert href[1].startswith((LINK, "mailto:kim@example.org")), (kind, language, href[1])
                    assert label.strip(), (kind, language)


def test_every_queued_kind_has_a_name_staff_read_in_the_outbox():
    from backoffice.views.mail import MAIL_KINDS

    kinds, _unread = queued_kinds()
    assert sorted(kinds - set(MAIL_KINDS)) == [] and sorted(set(MAIL_KINDS) - kinds) == []

