"""Application factory: `flask --app app run`, `gunicorn 'app:create_app()'`.

The factory binds the extensions, installs the session hooks (audit trail, sponsor tree),
builds FAB's AppBuilder and lets every area of `backoffice.areas` register its pages, APIs,
commands and tasks; the roles are composed from the areas' grants.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, abort, request
from flask_appbuilder import AppBuilder
from flask_babel import gettext as _

from backoffice import areas, audit, input_guard, web_security
from backoffice.api import errors as api_errors
from backoffice.api import language as api_language
from backoffice.errors import InvalidInput
from backoffice.extensions import csrf, db, migrate
from backoffice.local_values import day_text, month_text
from backoffice.security import SecurityManager
from backoffice.timezones import viewer_time_zone
from backoffice.views.localized import date_text
from backoffice.views.start import StartView
from config import BASE_DIR, Config
from downline import counters, tree


def create_app(overrides: Mapping | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "backoffice" / "templates"),
        static_folder=str(BASE_DIR / "backoffice" / "static"),
        instance_path=str(BASE_DIR / "instance"),
    )
    app.config.from_object(Config)
    # Empty, not "None", wherever a template prints a missing value.
    app.jinja_env.finalize = lambda value: "" if value is None else value
    # Days and months in the UI language (`31.12.2027` / `Dec 31, 2027`); `day_input`: as the
    # date picker of the UI language writes it, for a form field's value.
    app.jinja_env.filters.update(day=day_text, month=month_text, day_input=date_text)
    if overrides:
        app.config.update(overrides)
    web_security.check_secret_key(app)

    every_area = areas.all_areas()
    app.config.setdefault("FAB_ROLES", areas.roles(every_area))
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES",
                          str(BASE_DIR / "backoffice" / "translations"))
    (BASE_DIR / "instance").mkdir(exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    audit.install()
    tree.install()
    counters.install()

    # Every form POST needs its token, also on our own BaseView pages; FAB exempts its
    # token-authenticated REST APIs when it finds this extension.
    csrf.init_app(app)
    with app.app_context():
        appbuilder = AppBuilder(indexview=StartView, security_manager_class=SecurityManager)
        appbuilder.init_app(app, db.session)
        areas.register(app, appbuilder, every_area)
        app.extensions["babel"].timezone_selector = viewer_time_zone

    _guard_unknown_actions(app)
    web_security.install(app)
    api_errors.install(app)
    api_language.install(app)
    input_guard.install(app)
    return app


def _guard_unknown_actions(app: Flask) -> None:
    """FAB answers an unknown `/action/<name>/<pk>` or `action_post` name with a 500
    (AttributeError): the first is a 404, the second a message; row ids must be numbers."""
    views = {view.blueprint.name: view for view in app.appbuilder.baseviews
             if getattr(view, "blueprint", None) is not None}

    @app.before_request
    def _unknown_action_is_not_found():
        if request.endpoint and request.endpoint.endswith(".action"):
            view = views.get(request.blueprint)
            if view is None or request.view_args.get("name") not in getattr(view, "actions", {}):
                abort(404)
        if request.endpoint and request.endpoint.endswith(".action_post"):
            view = views.get(request.blueprint)
            rows = request.form.getlist("rowid")
            if view is None or request.form.get("action") not in getattr(view, "actions", {}) \
                    or not all(row.isdigit() and int(row) <= input_guard.INT_MAX for row in rows):
                raise InvalidInput("unknown_action", _("Unknown action or rows."))
