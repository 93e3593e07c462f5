"""Application factory: `flask --app app run`, `gunicorn 'app:create_app()'`."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, abort, request
from flask_appbuilder import AppBuilder, IndexView
from flask_babel import lazy_gettext as _l

# Modules that define background tasks register them (and their schedules) when imported:
# web processes and workers know the same task kinds.
import backoffice.tasks.cleanup  # noqa: F401
import downline.tasks  # noqa: F401
import imports.tasks  # noqa: F401
from backoffice.api import errors as api_errors
from config import BASE_DIR, Config


class DeskIndexView(IndexView):
    index_template = "partnerdesk/index.html"


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
    if overrides:
        app.config.update(overrides)

    from backoffice.security import ROLES, SecurityManager

    app.config.setdefault("FAB_ROLES", ROLES)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES",
                          str(BASE_DIR / "backoffice" / "translations"))
    (BASE_DIR / "instance").mkdir(exist_ok=True)

    from backoffice import audit, models  # noqa: F401  (models register on FAB's metadata)
    from backoffice.extensions import csrf, db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    audit.install()
    from downline import tree

    tree.install()

    # Every form POST needs its token, also on our own BaseView pages; FAB exempts its
    # token-authenticated REST APIs when it finds this extension.
    csrf.init_app(app)
    with app.app_context():
        appbuilder = AppBuilder(indexview=DeskIndexView, security_manager_class=SecurityManager)
        appbuilder.init_app(app, db.session)
        _register_views(appbuilder)
        from backoffice.timezones import viewer_time_zone

        app.extensions["babel"].timezone_selector = viewer_time_zone

    from backoffice.cli import register_cli

    register_cli(app)
    from downline.cli import downline_cli

    app.cli.add_command(downline_cli)
    from backoffice.tasks.cli import tasks_cli

    app.cli.add_command(tasks_cli)
    from imports.cli import import_command

    app.cli.add_command(import_command)
    _guard_unknown_actions(app)
    api_errors.install(app)
    return app


def _guard_unknown_actions(app: Flask) -> None:
    """FAB answers an unknown `/action/<name>/<pk>` with a 500 (AttributeError): make it 404."""
    views = {view.blueprint.name: view for view in app.appbuilder.baseviews
             if getattr(view, "blueprint", None) is not None}

    @app.before_request
    def _unknown_action_is_not_found():
        if request.endpoint and request.endpoint.endswith(".action"):
            view = views.get(request.blueprint)
            if view is None or request.view_args.get("name") not in getattr(view, "actions", {}):
                abort(404)


def _register_views(appbuilder: AppBuilder) -> None:
    from backoffice.api.resources import (
        AddressApi,
        ArticleApi,
        MyAddressesApi,
        MyProfileApi,
        PartnerApi,
    )
    from backoffice.views.addresses import AddressView, AuditEntryView, NeverOrderedView
    from backoffice.views.articles import ArticleView
    from backoffice.views.downline import DeskDownlineView, MyDownlineView
    from backoffice.views.partner_area import MyAddressesView, MyProfileView
    from backoffice.views.partners import PartnerView

    desk = "Desk"
    appbuilder.add_view(AddressView, "Addresses", label=_l("Addresses"), icon="fa-address-book",
                        category=desk, category_label=_l("Desk"))
    appbuilder.add_view(NeverOrderedView, "Never ordered", label=_l("Registered, never ordered"),
                        icon="fa-user-clock", category=desk)
    appbuilder.add_view(PartnerView, "Partners", label=_l("Partners"), icon="fa-handshake-o",
                        category=desk)
    appbuilder.add_view(ArticleView, "Articles", label=_l("Articles"), icon="fa-cube",
                        category=desk)
    appbuilder.add_view(AuditEntryView, "Audit trail", label=_l("Audit trail"), icon="fa-history",
                        category=desk)
    appbuilder.add_view(DeskDownlineView, "Downline", label=_l("Downline"), icon="fa-sitemap",
                        category=desk)
    _register_import_views(appbuilder, desk)
    mine = "My area"
    appbuilder.add_view(MyProfileView, "My profile", label=_l("My profile"), icon="fa-user",
                        category=mine, category_label=_l("My area"))
    appbuilder.add_view(MyAddressesView, "My addresses", label=_l("My addresses"),
                        icon="fa-users", category=mine)
    appbuilder.add_view(MyDownlineView, "My downline", label=_l("My downline"), icon="fa-sitemap",
                        category=mine)
    appbuilder.add_link("My new customers", label=_l("My new customers"),
                        href="/my/downline/new-customers/", icon="fa-user-plus", category=mine)
    for api in (AddressApi, PartnerApi, ArticleApi, MyProfileApi, MyAddressesApi):
        appbuilder.add_api(api)
    from backoffice.api.downline import DownlineApi

    appbuilder.add_api(DownlineApi)
    _register_voucher_views(appbuilder)
    from backoffice.views.tasks import TasksView

    appbuilder.add_view(TasksView, "Background tasks", label=_l("Background tasks"), icon="fa-tasks")


def _register_voucher_views(appbuilder: AppBuilder) -> None:
    """Vouchers, orders and the shop API (issue 3)."""
    from backoffice.api.shop import ShopApi
    from backoffice.api.vouchers import VoucherApi
    from backoffice.views.voucher_partner_area import MyRedemptionsView, MyVoucherCodesView
    from backoffice.views.voucher_reports import VoucherReportsView
    from backoffice.views.vouchers import OrderView, RedemptionView, VoucherCodeView, VoucherView

    vouchers = "Vouchers"
    appbuilder.add_view(VoucherView, "Vouchers", label=_l("Vouchers"), icon="fa-ticket",
                        category=vouchers, category_label=_l("Vouchers"))
    appbuilder.add_view(VoucherCodeView, "Voucher codes", label=_l("Voucher codes"), icon="fa-barcode",
                        category=vouchers)
    appbuilder.add_view(RedemptionView, "Redemptions", label=_l("Redemptions"), icon="fa-check",
                        category=vouchers)
    appbuilder.add_view(OrderView, "Orders", label=_l("Orders"), icon="fa-shopping-cart",
                        category=vouchers)
    appbuilder.add_view(VoucherReportsView, "Voucher reports", label=_l("Voucher reports"),
                        icon="fa-bar-chart", category=vouchers)
    mine = "My area"
    appbuilder.add_view(MyVoucherCodesView, "My voucher codes", label=_l("My voucher codes"),
                        icon="fa-ticket", category=mine)
    appbuilder.add_view(MyRedemptionsView, "My redemptions", label=_l("Redemptions of my codes"),
                        icon="fa-check", category=mine)
    appbuilder.add_api(ShopApi)
    appbuilder.add_api(VoucherApi)


def _register_import_views(appbuilder: AppBuilder, desk: str) -> None:
    """CSV imports (issue 5): Desk upload and history, REST endpoint."""
    from backoffice.api.imports import ImportApi
    from backoffice.views.imports import ImportsView

    appbuilder.add_view(ImportsView, "Imports", label=_l("Imports"), icon="fa-upload", category=desk)
    appbuilder.add_api(ImportApi)
