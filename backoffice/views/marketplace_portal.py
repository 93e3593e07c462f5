"""The customer's side of the marketplace, in the customer portal (`/c/requests/…`).

No login is needed: the request form is public, the confirmation link opens the request,
and the request's page is reached by a signed key in its link. Each page parses the form,
calls `backoffice.services.marketplace` in one unit of work and renders the outcome.
"""

from __future__ import annotations

import math

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from .. import transaction
from ..errors import DomainError
from ..extensions import db
from ..services import marketplace
from ..services.categories import category_choices
from ..services.throttle import lead_requests
from .localized import date_text
from .portal import _render, bp, signed_in_customer
from .receipts import formula_text


def _lang() -> str:
    return "en" if str(get_locale() or "de") == "en" else "de"


@bp.route("/requests/new", methods=["GET", "POST"])
def new_request():
    errors, values = {}, request.form
    if request.method == "POST":
        customer = signed_in_customer()
        limit = int(current_app.config.get("MARKETPLACE_REQUESTS_PER_CLIENT_HOUR", 10))
        wait = lead_requests.hit(f"client:{request.remote_addr}", limit, 3600)
        if wait is not None:
            message = _("Too many requests from your connection. Please try again in %(n)s minutes.",
                        n=max(1, math.ceil(wait / 60)))
            return _render("portal/request_new.html", 429, errors={"email": [message]}, values=values,
                           choices=category_choices(db.session, _lang()))
        try:
            with transaction.guarded(db.session):
                marketplace.submit_request(
                    db.session, category_id=request.form.get("category_id", type=int),
                    description=request.form.get("description", ""),
                    preferred_dates=request.form.get("preferred_dates", ""),
                    postal_code=request.form.get("postal_code", ""), name=request.form.get("name", ""),
                    email=request.form.get("email", ""), phone=request.form.get("phone", ""),
                    language=_lang(), address_id=customer.id if customer else None,
                    confirm_url=url_for("portal.confirm_request", token="-", _external=True)[:-1])
        except DomainError as exc:
            errors = exc.fields or {"email": [exc.message]}
        else:
            return _render("portal/request_sent.html", email=request.form.get("email", ""))
    choices = category_choices(db.session, _lang())
    transaction.discard(db.session)
    return _render("portal/request_new.html", 422 if errors else 200, errors=errors, values=values,
                   choices=choices)


@bp.route("/requests/confirm/<token>", methods=["GET", "POST"])
def confirm_request(token):
    if request.method == "POST":
        try:
            with transaction.guarded(db.session):
                request_id = marketplace.confirm_request(db.session, token)
        except DomainError as exc:
            return _render("portal/link_problem.html", exc.status, problem=exc.message)
        return redirect(url_for("portal.request_page", key=marketplace.view_token(request_id)))
    if not marketplace.confirm_token_valid(token):
        return _render("portal/link_problem.html", 404, problem=_("This link is not valid."))
    return _render("portal/request_confirm.html", token=token)


@bp.route("/requests/<key>")
def request_page(key):
    try:
        found = marketplace.request_of_view_token(db.session, key)
        ranked = []
        if found.status.value == "open":
            with transaction.guarded(db.session):  # the ranking shown is kept for the receipts
                ranked = marketplace.show_ranking(db.session, found)
    except DomainError:
        abort(404)
    sent = marketplace.sent_partner_ids(db.session, found.id)
    contacts = {pid: marketplace.contact_of_partner(db.session, pid) for pid in sent}
    appointments = marketplace.appointments_of(db.session, found.id)
    cards = marketplace.partner_cards(db.session, [r.partner_id for r in ranked])
    transaction.discard(db.session)
    return _render("portal/request_page.html", found=found, ranked=ranked, cards=cards, sent=sent,
                   contacts=contacts, key=key, appointments=appointments, day=date_text,
                   limit=marketplace._setting("MARKETPLACE_MAX_PARTNERS_PER_REQUEST", 3))


@bp.route("/ranking")
def ranking():
    """The ranking's main parameters, public (EU P2B regulation, Art. 5)."""
    ranking = marketplace.ranking_explained()
    ranking["formula"] = formula_text(ranking["formula"], ranking["version"])
    return _render("portal/ranking.html", ranking=ranking)


@bp.route("/requests/<key>/send/<int:partner_id>", methods=["POST"])
def send_request(key, partner_id):
    try:
        found = marketplace.request_of_view_token(db.session, key)
    except DomainError:
        abort(404)
    try:
        result = transaction.run(
            lambda session: marketplace.send_direct_request(
                session, found.id, partner_id, partner_url=url_for("MyRequestsView.index", _external=True)),
            retries=2)
    except DomainError as exc:
        flash(exc.message)
    else:
        flash(_("Your request was sent; the partner's contact details are below.") if not result.repeated
              else _("You sent this request to this partner already."))
    return redirect(url_for("portal.request_page", key=key))


@bp.route("/reviews/<token>", methods=["GET", "POST"])
def review(token):
    try:
        direct = marketplace.direct_of_review_token(db.session, token)
    except DomainError:
        abort(404)
    partner_name = marketplace.contact_of_partner(db.session, direct.partner_id).name
    errors = {}
    if request.method == "POST":
        try:
            with transaction.guarded(db.session):
                marketplace.submit_review(db.session, token, request.form.get("stars", type=int),
                                          request.form.get("text", ""))
        except DomainError as exc:
            errors = exc.fields or {"stars": [exc.message]}
        else:
            return _render("portal/review_thanks.html", partner=partner_name)
    transaction.discard(db.session)
    return _render("portal/review.html", 422 if errors else 200, token=token, partner=partner_name,
                   errors=errors, values=request.form)
