"""Logging in from a test: a Desk session (with its CSRF token) or an API token."""

from __future__ import annotations

import re
from decimal import Decimal

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


def login(client, username: str, password: str | None = None):
    token = csrf_token(client, "/login/")
    response = client.post("/login/", data={"username": username, "password": password or username,
                                            "csrf_token": token})
    assert response.status_code == 302 and "/login" not in response.headers["Location"], \
        f"login of {username} failed"
    return client


def api_token(client, username: str, password: str | None = None) -> dict:
    response = client.post("/api/v1/security/login", json={
        "username": username, "password": password or username, "provider": "db"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.json['access_token']}"}


EURO_IN_TEXT = re.compile(r"(?<![\d.,])(-?)(\d{1,3}(?:\.\d{3})*),(\d{2})(?:\s|&nbsp;)?€")


def euros(text: str) -> list[Decimal]:
    """Every euro amount in a page or mail, signed, in reading order: '12,00 €' is not found
    in '-12,00 €' or '112,00 €' as a substring check would find it."""
    return [Decimal(f"{sign}{whole.replace('.', '')}.{cents}")
            for sign, whole, cents in EURO_IN_TEXT.findall(text)]
