"""The language of API answers: the caller's `Accept-Language`, else the customer's.

A shop relays its customer's language in `Accept-Language`; a call without the header is
answered in the language of the customer it is about (the registration's `language`, the
customer of a checkout, voucher check or order), else in German. The customer's language
is looked up only when a text is actually translated (an error, a message), and then
usually from the session's identity map: the checkout has the customer's row loaded.
"""

from __future__ import annotations

from flask import current_app, g, has_request_context, request
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import Address, Language, Order
from .read import is_whole


def about_customer(customer_id) -> None:
    if is_whole(customer_id):
        g.language_of = (Address, customer_id)


def about_order(order_id: int) -> None:
    g.language_of = (Order, order_id)


def in_language(language) -> None:
    if language in {member.value for member in Language}:
        g.language = language


def _of_record() -> str | None:
    model, pk = g.get("language_of", (None, None))
    if model is None:
        return None
    try:
        with db.session.no_autoflush:
            record = db.session.get(model, pk)
            address = record.address if isinstance(record, Order) else record
            return address.language.value if address is not None else None
    except SQLAlchemyError:  # a transaction the database already aborted: the default
        return None


def install(app) -> None:
    """Wrap FAB's locale selector (the Desk's choice in the session) for `/api/` requests."""
    state = app.extensions["babel"]
    desk_selector = state.locale_selector

    def select_locale():
        if not (has_request_context() and request.path.startswith("/api/")):
            return desk_selector()
        languages = current_app.config["LANGUAGES"]
        if request.headers.get("Accept-Language"):
            best = request.accept_languages.best_match(languages)
            if best:
                return best
        return g.get("language") or _of_record() or current_app.config["BABEL_DEFAULT_LOCALE"]

    state.locale_selector = select_locale
