"""The customer portal (`/c/…`): sign in by link, see the own orders, edit the store details.

Customers are no FAB users: the portal is a blueprint of its own, its session holds only the
customer's address id, and every page reads through `services.customer_portal` scoped to
that id. A sign-in link opens a page with a button; only the button's POST uses the link, so
a mail scanner that fetches the link does not use it up.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import format_currency, get_locale
from flask_babel import gettext as _

from .. import transaction
from ..errors import DomainError
from ..extensions import db
from ..local_values import moment_text
from ..models import OrderStatus
from ..services import customer_portal as portal

bp = Blueprint("portal", __name__, url_prefix="/c")
SESSION_KEY = "customer_id"


def _portal_url() -> str:
    return url_for("portal.index", _external=True).rstrip("/")


def signed_in_customer():
    return portal.customer(db.session, session.get(SESSION_KEY))


def customer_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        customer = signed_in_customer()
        if customer is None:
            session.pop(SESSION_KEY, None)
            return redirect(url_for("portal.sign_in", next=request.path))
        return view(customer, *args, **kwargs)

    return wrapped


def _render(template: str, status: int = 200, **values):
    values.setdefault("customer", signed_in_customer())
    lang = "en" if str(get_locale() or "de") == "en" else "de"
    return render_template(template, lang=lang, money=lambda v: format_currency(v, "EUR"),
                           when=moment_text, **values), status


@bp.route("/")
@customer_required
def index(customer):
    with transaction.unit_of_work(db.session):
        account = portal.account(db.session, customer)
        store = (account.store_name, account.store_url)
    return _render("portal/index.html", orders=portal.orders(db.session, customer.id), store=store,
                   cancelled=OrderStatus.cancelled)


@bp.route("/orders/<int:order_id>")
@customer_required
def order(customer, order_id):
    try:
        found = portal.order(db.session, customer.id, order_id)
    except DomainError:
        abort(404)
    return _render("portal/order.html", order=found, cancelled=OrderStatus.cancelled)


@bp.route("/store", methods=["GET", "POST"])
@customer_required
def store(customer):
    errors = {}
    if request.method == "POST":
        try:
            with transaction.guarded(db.session):
                portal.update_store(db.session, customer.id, request.form.get("store_name", ""),
                                    request.form.get("store_url", ""))
        except DomainError as exc:
            errors = exc.fields or {"store_url": [exc.message]}
        else:
            flash(_("Your store details have been saved."))
            return redirect(url_for("portal.index"))
    account = portal.account(db.session, customer)
    values = request.form if request.method == "POST" else {"store_name": account.store_name or "",
                                                             "store_url": account.store_url or ""}
    transaction.discard(db.session)
    return _render("portal/store.html", 422 if errors else 200, errors=errors, values=values)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if request.method == "POST":
        with transaction.unit_of_work(db.session):
            portal.request_link(db.session, request.form.get("email", ""), _portal_url())
        return _render("portal/link_sent.html", email=request.form.get("email", ""))
    return _render("portal/sign_in.html")


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
def use_link(token):
    if request.method == "POST":
        try:
            with transaction.guarded(db.session):
                address_id = portal.redeem(db.session, token)
        except DomainError as exc:
            return _render("portal/link_problem.html", exc.status, problem=exc.message)
        session[SESSION_KEY] = address_id
        return redirect(url_for("portal.index"))
    return _render("portal/use_link.html", token=token)


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    session.pop(SESSION_KEY, None)
    flash(_("You have been signed out."))
    return redirect(url_for("portal.sign_in"))


@bp.route("/language/<code>")
def language(code):
    if code in ("de", "en"):
        session["locale"] = code
    target = request.args.get("next", "")
    return redirect(target if target.startswith("/c/") else url_for("portal.index"))
