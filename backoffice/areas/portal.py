"""Customer accounts (A10): the customer portal `/c/…` and the shop's sign-in link API."""

from flask import Flask

from ..api.customer_links import CustomerLinksApi
from ..security import SHOP
from ..views.portal import bp
from . import Api, Area


def _setup(app: Flask) -> None:
    app.register_blueprint(bp)


AREA = Area(
    name="portal",
    order=95,
    apis=(Api(CustomerLinksApi, {SHOP: "can_post"}),),
    setup=_setup,
)
