"""What every request passes through: the signing key, security headers, sort keys, the
login throttle and the login generation of browser sessions.

- **Signing key.** Sessions and API tokens are signed with `SECRET_KEY`. A known key lets
  anybody forge an admin session, so only development and tests (`PARTNERDESK_ENV`
  development/test, or `TESTING`) get a fixed development key; anywhere else the app
  refuses to start without a real one.
- **Headers** on every answer: a Content-Security-Policy (own origin only, no framing by
  other sites), `nosniff`, a Referrer-Policy and, when served over HTTPS (`HTTPS=1`), HSTS.
  Inline scripts run only with the answer's nonce (FAB's templates ask `csp_nonce()` for
  it); objects, base URIs and foreign origins are closed.
- **Sort keys.** FAB sorts a Desk list (and our exports) by any `_oc_<View>` column, also a
  hidden one, whose order then reveals the hidden values. Only a view's `order_columns`
  (all of them listed columns) are accepted.
- **Failed logins** are throttled per account and per client address in the shared store
  (`backoffice.services.throttle`), for the Desk form and the token login alike.
"""

from __future__ import annotations

import math
import os
import secrets

from flask import Flask, abort, current_app, g, request
from flask_babel import gettext as _
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import TooManyRequests
from .services.throttle import failed_logins

DEVELOPMENT_KEY = "dev-only-secret-key-never-used-in-production-0123456789"
DEVELOPMENT_ENVS = {"development", "test"}
LOGIN_PATHS = {"/login/", "/api/v1/security/login"}
SORT_PREFIX = "_oc_"

# Scripts: our own files and inline blocks carrying this answer's nonce (FAB's templates
# ask `csp_nonce()` for it); no other inline script. Styles may be inline (FAB's widgets).
CSP = ("default-src 'self'; script-src 'self'{nonce}; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'self'")


def csp_nonce() -> str:
    """The nonce of this answer's inline scripts (`nonce="{{ csp_nonce() }}"` in a template)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


class InsecureConfiguration(RuntimeError):
    """The app would run with a setting that lets others forge logins."""


def check_secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    env = os.environ.get("PARTNERDESK_ENV", app.config.get("PARTNERDESK_ENV"))
    if app.testing or app.debug or env in DEVELOPMENT_ENVS:
        app.config["SECRET_KEY"] = DEVELOPMENT_KEY
        return
    raise InsecureConfiguration(
        "SECRET_KEY is not set. Set it to a long random value (see README, Production), or set "
        "PARTNERDESK_ENV=development on a development machine.")


def install(app: Flask) -> None:
    if app.config.get("BEHIND_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    views = {type(view).__name__: view for view in app.appbuilder.baseviews}

    @app.before_request
    def _only_visible_sort_keys():
        for name, value in request.args.items():
            if name.startswith(SORT_PREFIX):
                view = views.get(name[len(SORT_PREFIX):])
                if view is None or value not in (getattr(view, "order_columns", None) or ()):
                    abort(400, _("This list cannot be sorted by that column."))

    @app.before_request
    def _throttle_failed_logins():
        if request.method == "POST" and request.path in LOGIN_PATHS:
            wait = login_blocked(login_name(), request.remote_addr)
            if wait is not None:
                minutes = max(1, math.ceil(wait / 60))
                raise TooManyRequests("too_many_logins", _(
                    "Too many failed logins. Please wait %(n)s minutes and try again.", n=minutes),
                    retry_after=math.ceil(wait))

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        nonce = f" 'nonce-{g.csp_nonce}'" if "csp_nonce" in g else ""
        headers.setdefault("Content-Security-Policy", CSP.format(nonce=nonce))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if current_app.config.get("HTTPS"):
            headers.setdefault("Strict-Transport-Security",
                               f"max-age={int(current_app.config.get('HSTS_SECONDS', 31536000))}")
        return response


def login_name() -> str:
    """The account a login request names (form or JSON), normalised."""
    if request.is_json:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    else:
        name = request.form.get("username")
    return str(name or "").strip().lower()[:256]


def _limits():
    config = current_app.config
    window = int(config.get("LOGIN_FAILURE_WINDOW_SECONDS", 900))
    return (int(config.get("LOGIN_FAILURES_PER_ACCOUNT", 10)),
            int(config.get("LOGIN_FAILURES_PER_CLIENT", 50)), window)


def login_blocked(username: str, client: str | None) -> float | None:
    per_account, per_client, window = _limits()
    waits = [failed_logins.blocked(f"account:{username}", per_account, window),
             failed_logins.blocked(f"client:{client}", per_client, window)]
    waits = [w for w in waits if w is not None]
    return max(waits) if waits else None


def login_failed(username: str, client: str | None) -> None:
    per_account, per_client, window = _limits()
    failed_logins.hit(f"account:{username}", per_account, window)
    failed_logins.hit(f"client:{client}", per_client, window)


def login_succeeded(username: str) -> None:
    """A right password forgets the account's earlier typos (the client's count stays)."""
    per_account, _per_client, window = _limits()
    failed_logins.clear(f"account:{username}", per_account, window)
