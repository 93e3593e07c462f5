"""The partner's service orders (*Meine Aufträge*): metrics, incoming requests to order, custom
offers, orders with their next steps, and "request to order" per service with its windows.

Every page is scoped to the logged-in user's partner (its team shares it); another partner's
ids answer 404. Each form parses its input, calls `services.service_orders` in one unit of
work and redirects; a refusal is shown at its field or as a message.
"""

from __future__ import annotations

from datetime import datetime, time

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from sqlalchemy import select

from .. import transaction
from ..errors import DomainError, RuleViolations
from ..extensions import db
from ..local_values import parse_date, parse_decimal
from ..models import Audience, Conversation, OrderRequest, Party, RequestState, Service
from ..security import current_partner, current_partner_id, logged_in_user
from ..services import order_windows
from ..services import service_orders as so
from .mixins import local_datetime, money, percent

WINDOW_ROWS = 4


def _user_id() -> int | None:
    return getattr(logged_in_user(), "id", None)


def _weekday_names() -> list[str]:
    return [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]


class ServiceOrdersView(BaseView):
    route_base = "/my/service-orders"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        partner_id = current_partner_id()
        services = db.session.scalars(
            select(Service).where(Service.partner_id == partner_id).order_by(Service.id)
        ).all()
        recent = db.session.scalars(
            select(Conversation)
            .where(Conversation.partner_id == partner_id)
            .order_by(Conversation.last_message_at.desc())
            .limit(20)
        ).all()
        return self.render_template(
            "service_orders/partner.html",
            conversations=recent,
            metrics=so.metrics(db.session, partner_id),
            requests=so.partner_requests(db.session, partner_id),
            offers=so.partner_offers(db.session, partner_id),
            orders=so.partner_orders(db.session, partner_id),
            services=services,
            pending=RequestState.pending,
            actions=lambda order: so.actions_for(order, Party.partner),
            now=so.current_time(),
            expired=so.offer_expired,
            money=money,
            when=local_datetime,
            percent=percent,
        )

    @expose("/orders/<int:pk>/<action>", methods=["POST"])
    @has_access
    def move(self, pk, action):
        with transaction.unit_of_work():
            order = so.move_order(
                db.session,
                pk,
                action,
                Party.partner,
                partner_id=current_partner_id(),
                user_id=_user_id(),
                reason=request.form.get("reason", ""),
            )
            status = str(order.status)
        flash(_("Order %(id)s is now “%(status)s”.", id=pk, status=status), "success")
        return redirect(url_for(".index"))

    @expose("/requests/<int:pk>/decline", methods=["POST"])
    @has_access
    def decline(self, pk):
        with transaction.unit_of_work():
            so.decline_request(
                db.session, current_partner_id(), pk, request.form.get("message", ""), user_id=_user_id()
            )
        flash(_("The request is declined; your message was sent to the customer."), "success")
        return redirect(url_for(".index"))

    @expose("/offers/<int:pk>/withdraw", methods=["POST"])
    @has_access
    def withdraw(self, pk):
        with transaction.unit_of_work():
            so.withdraw_offer(db.session, current_partner_id(), pk)
        flash(_("The offer is withdrawn."), "success")
        return redirect(url_for(".index"))

    @expose("/conversations/<int:conversation_id>/offer", methods=["GET", "POST"])
    @has_access
    def offer(self, conversation_id):
        partner_id = current_partner_id()
        conversation = db.session.scalar(
            select(Conversation).where(
                Conversation.id == conversation_id, Conversation.partner_id == partner_id
            )
        )
        if conversation is None:
            abort(404)
        found = None
        request_id = request.values.get("request_id", type=int)
        if request_id is not None:
            found = db.session.scalar(
                select(OrderRequest).where(
                    OrderRequest.id == request_id,
                    OrderRequest.partner_id == partner_id,
                    OrderRequest.conversation_id == conversation_id,
                )
            )
            if found is None:
                abort(404)
        errors, values = {}, request.form
        if request.method == "POST":
            try:
                expires_at = self._expiry(
                    request.form.get("expires_on", ""), request.form.get("expires_time", "")
                )
                days = request.form.get("delivery_days", "").strip()
                with transaction.guarded(db.session):
                    so.send_offer(
                        db.session,
                        partner_id,
                        conversation_id,
                        scope=request.form.get("scope", ""),
                        price=parse_decimal(request.form.get("price", "").replace("€", "").strip()),
                        delivery_days=int(days) if days.isdigit() else None,
                        expires_at=expires_at,
                        request_id=request_id,
                        package_id=request.form.get("package_id", type=int),
                        user_id=_user_id(),
                    )
            except DomainError as exc:
                errors = exc.fields or {"scope": [exc.message]}
            else:
                flash(_("Your offer was sent to the customer."), "success")
                return redirect(url_for(".index"))
        elif found is not None and found.package is not None:
            values = {
                "scope": found.needs,
                "price": f"{found.package.price:.2f}".replace(".", ","),
                "delivery_days": str(found.package.delivery_days),
                "package_id": str(found.package_id),
            }
        packages = [
            p
            for s in db.session.scalars(select(Service).where(Service.partner_id == partner_id))
            for p in s.packages
        ]
        transaction.discard(db.session)
        return self.render_template(
            "service_orders/offer_form.html",
            conversation=conversation,
            found=found,
            errors=errors,
            values=values,
            packages=packages,
            money=money,
            when=local_datetime,
        ), 422 if errors else 200

    @staticmethod
    def _expiry(day_text: str, time_text: str) -> datetime | None:
        """The expiry typed as a date and a time of the partner's zone (23:59 without a time)."""
        if not (day_text or "").strip():
            return None
        day = parse_date(day_text)
        minute = order_windows.parse_minute(time_text) if (time_text or "").strip() else 23 * 60 + 59
        if day is None or minute is None or minute >= order_windows.DAY:
            raise RuleViolations({"expires_at": [_("Write the expiry as 31.12.2026 and 18:00.")]})
        zone = order_windows.zone(current_partner().time_zone)
        return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)

    @expose("/services/<int:service_id>/request-to-order", methods=["GET", "POST"])
    @has_access
    def settings(self, service_id):
        partner_id = current_partner_id()
        try:
            setting = so.request_setting(db.session, partner_id, service_id)
        except DomainError:
            abort(404)
        service = db.session.get(Service, service_id)
        errors = {}
        form = {
            "enabled": setting.enabled,
            "audience": setting.audience.value,
            "package_ids": set(setting.package_ids),
            "weekdays": set(order_windows.days_of(setting.weekdays)),
            "windows": [(order_windows.as_text(s), order_windows.as_text(e)) for s, e in setting.windows],
        }
        if request.method == "POST":
            windows = [
                (request.form.get(f"start_{i}", ""), request.form.get(f"end_{i}", ""))
                for i in range(WINDOW_ROWS)
            ]
            form = {
                "enabled": request.form.get("enabled") == "1",
                "audience": request.form.get("audience", ""),
                "package_ids": {int(v) for v in request.form.getlist("package_ids") if v.isdigit()},
                "weekdays": {int(v) for v in request.form.getlist("weekdays") if v.isdigit()},
                "windows": windows,
            }
            try:
                with transaction.guarded(db.session):
                    so.save_request_setting(
                        db.session,
                        partner_id,
                        service_id,
                        enabled=form["enabled"],
                        audience=form["audience"],
                        package_ids=sorted(form["package_ids"]),
                        weekdays=sorted(form["weekdays"]),
                        windows=windows,
                    )
            except DomainError as exc:
                errors = exc.fields or {"enabled": [exc.message]}
            else:
                flash(_("Request to order for “%(service)s” is saved.", service=service.title), "success")
                return redirect(url_for(".settings", service_id=service_id))
        rows = list(form["windows"]) + [("", "")] * (WINDOW_ROWS - len(form["windows"]))
        transaction.discard(db.session)
        return self.render_template(
            "service_orders/settings.html",
            service=service,
            form=form,
            rows=rows[:WINDOW_ROWS],
            errors=errors,
            audiences=list(Audience),
            days=list(enumerate(_weekday_names())),
            time_zone=current_partner().time_zone,
        ), 422 if errors else 200
