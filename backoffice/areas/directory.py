"""The public partner directory: pages for visitors without a login, and its read-only REST
API for the shop."""

from flask import Flask

from ..api.directory import DirectoryApi
from ..security import FINANCE, PARTNER_ROLE, SHOP, STAFF
from ..views.directory import blueprint
from . import Api, Area


def _register(app: Flask) -> None:
    app.register_blueprint(blueprint)


AREA = Area(name="directory", order=95, setup=_register,
            apis=(Api(DirectoryApi, {role: "can_get" for role in (SHOP, STAFF, FINANCE, PARTNER_ROLE)}),))
