"""The public partner directory: pages for visitors without a login."""

from flask import Flask

from ..views.directory import blueprint
from . import Area


def _register(app: Flask) -> None:
    app.register_blueprint(blueprint)


AREA = Area(name="directory", order=95, setup=_register)
