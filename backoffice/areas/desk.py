"""The Desk's frame: its error pages (API paths keep their one JSON shape), and the partner's
own menu entries hidden from logins without a partner, the owner's from its team members."""

from flask import Flask, request

from ..api import errors as api_errors
from ..views.error_pages import error_page
from . import Area, all_areas

PARTNER_CATEGORY = "My area"


def _error_pages(app: Flask) -> None:
    def page_or_json(exc):
        if request.path.startswith(api_errors.API_PREFIX):
            return api_errors.handle_http_error(exc)
        return error_page(exc)

    for code in (403, 404, 405, 500):
        app.register_error_handler(code, page_or_json)


def _partner_menus(app: Flask) -> None:
    names = {PARTNER_CATEGORY}
    for area in all_areas():
        names |= {p.name for p in area.pages if p.category == PARTNER_CATEGORY}
        names |= {link.name for link in area.links if link.category == PARTNER_CATEGORY}
    app.appbuilder.sm.partner_menus = frozenset(names)
    app.appbuilder.sm.owner_menus = frozenset(p.name for area in all_areas() for p in area.pages
                                              if p.owner_only)


def _setup(app: Flask) -> None:
    _error_pages(app)
    _partner_menus(app)


AREA = Area(name="desk", order=1, setup=_setup)
