"""The customer's side of service orders, in the customer portal (`/c/…`): order a package or,
where the partner asks for it, send a request; accept or decline custom offers; follow the
own orders and confirm, ask for a revision or cancel.

Every page is scoped to the signed-in customer; another customer's ids answer 404.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from .. import transaction
from ..errors import DomainError, NotFound
from ..extensions import db
from ..local_values import parse_date
from ..models import OfferState, Party, Service, ServicePackage
from ..services import service_orders as so
from .portal import _render, bp, customer_required


def _package(package_id: int) -> ServicePackage:
    package = db.session.scalar(
        select(ServicePackage).join(Service).where(ServicePackage.id == package_id, Service.active.is_(True))
    )
    if package is None:
        abort(404)
    return package


@bp.route("/packages/<int:package_id>/order", methods=["GET", "POST"])
@customer_required
def order_package(customer, package_id):
    package = _package(package_id)
    errors, values, status = {}, request.form, 200
    if request.method == "POST" and request.form.get("kind") == "order":
        try:
            with transaction.guarded(db.session):
                order_id = so.place_order(db.session, customer.id, package_id).id
        except DomainError as exc:
            flash(exc.message)
            status = exc.status
        else:
            flash(_("Your order is placed; the partner will accept it."))
            return redirect(url_for("portal.service_order", order_id=order_id))
    elif request.method == "POST":
        wished = request.form.get("wished_start", "").strip()
        wished_start = parse_date(wished) if wished else None
        if wished and wished_start is None:
            errors = {"wished_start": [_("Write the date as 31.12.2026.")]}
        else:
            try:
                with transaction.guarded(db.session):
                    so.send_request(
                        db.session,
                        customer.id,
                        package_id,
                        needs=request.form.get("needs", ""),
                        wished_start=wished_start,
                    )
            except DomainError as exc:
                errors = exc.fields or {"needs": [exc.message]}
            else:
                flash(_("Your request was sent. The partner answers with an offer or a message."))
                return redirect(url_for("portal.service_orders"))
    direct = so.may_order_now(db.session, customer.id, package_id)
    service = package.service
    transaction.discard(db.session)
    return _render(
        "portal/service_order_new.html",
        422 if errors else status,
        package=package,
        service=service,
        direct=direct,
        errors=errors,
        values=values,
    )


@bp.route("/service-orders/")
@customer_required
def service_orders(customer):
    now = so.current_time()
    page = _render(
        "portal/service_orders.html",
        orders=so.customer_orders(db.session, customer.id),
        offers=so.customer_offers(db.session, customer.id),
        requests=so.customer_requests(db.session, customer.id),
        now=now,
        expired=so.offer_expired,
        open_state=OfferState.open,
    )
    transaction.discard(db.session)
    return page


@bp.route("/service-orders/<int:order_id>")
@customer_required
def service_order(customer, order_id):
    try:
        found = so.order_of(db.session, order_id, customer_id=customer.id)
    except DomainError:
        abort(404)
    page = _render("portal/service_order.html", order=found, actions=so.actions_for(found, Party.customer))
    transaction.discard(db.session)
    return page


@bp.route("/service-orders/<int:order_id>/<action>", methods=["POST"])
@customer_required
def move_service_order(customer, order_id, action):
    try:
        with transaction.guarded(db.session):
            so.move_order(
                db.session,
                order_id,
                action,
                Party.customer,
                customer_id=customer.id,
                reason=request.form.get("reason", ""),
            )
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(next(iter(exc.fields.values()))[0] if exc.fields else exc.message)
    else:
        flash(_("Saved."))
    return redirect(url_for("portal.service_order", order_id=order_id))


@bp.route("/offers/<int:offer_id>/<decision>", methods=["POST"])
@customer_required
def decide_offer(customer, offer_id, decision):
    if decision not in ("accept", "decline"):
        abort(404)
    try:
        if decision == "accept":
            accepted = transaction.run(
                lambda session: so.accept_offer(session, customer.id, offer_id), retries=2
            )
        else:
            with transaction.guarded(db.session):
                so.decline_offer(db.session, customer.id, offer_id)
    except NotFound:
        abort(404)
    except DomainError as exc:
        flash(exc.message)
        return redirect(url_for("portal.service_orders"))
    if decision == "decline":
        flash(_("You declined the offer."))
        return redirect(url_for("portal.service_orders"))
    flash(
        _("You accepted the offer; this is your order.")
        if not accepted.repeated
        else _("You accepted this offer already; this is your order.")
    )
    return redirect(url_for("portal.service_order", order_id=accepted.order_id))
