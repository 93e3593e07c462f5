"""The partner's side of the marketplace: requests with the customers' contact data, the
progress of each, bids and budgets per category, and this month's charges with receipts."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import format_currency, get_locale
from flask_babel import gettext as _

from imports.values import decimal_text

from .. import transaction
from ..errors import Forbidden, InvalidInput
from ..extensions import db
from ..models import DirectStatus, LeadCharge
from ..security import current_partner_id, is_partner_owner, logged_in_user
from ..services import marketplace
from .mixins import local_datetime, money


def _decimal(raw, field: str, required: bool = True):
    text = str(raw or "").replace("€", "").strip()
    if not text and not required:
        return None
    value = decimal_text(text)
    if value is None:
        raise InvalidInput("invalid_amount", _("Write the amount as 12,50 or 12.50."),
                           fields={field: [_("Write the amount as 12,50 or 12.50.")]})
    return value


class MyRequestsView(BaseView):
    route_base = "/my/requests"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        partner_id = current_partner_id()
        wanted = request.args.get("status")
        status = DirectStatus(wanted) if wanted in DirectStatus._value2member_map_ else None
        rows = marketplace.direct_requests(db.session, partner_id, status)
        charges, month_net = marketplace.month_charges(db.session, partner_id)
        bids = marketplace.bids_of(db.session, partner_id, str(get_locale() or "de"))
        return self.render_template("marketplace/my_requests.html", rows=rows, charges=charges,
                                    month_net=month_net, bids=bids, owner=is_partner_owner(),
                                    statuses=list(DirectStatus), current=status, steps=marketplace.NEXT,
                                    money=money, when=local_datetime)

    @expose("/<int:pk>/status", methods=["POST"])
    @has_access
    def status(self, pk):
        wanted = request.form.get("status", "")
        if wanted not in DirectStatus._value2member_map_:
            abort(400)
        with transaction.unit_of_work():
            marketplace.move_direct_request(
                db.session, current_partner_id(), pk, DirectStatus(wanted),
                review_url=url_for("portal.review", token="-", _external=True)[:-1])
        flash(_("Saved."), "success")
        return redirect(url_for(".index"))

    @expose("/bid/<int:category_id>", methods=["POST"])
    @has_access
    def bid(self, category_id):
        if not is_partner_owner():
            raise Forbidden("owner_only", _("Only the team's owner places bids."))
        amount = _decimal(request.form.get("amount"), "amount")
        budget = _decimal(request.form.get("monthly_budget"), "monthly_budget", required=False)
        user = logged_in_user()
        with transaction.unit_of_work():
            marketplace.set_bid(db.session, current_partner_id(), category_id, amount, budget,
                                paused=request.form.get("paused") == "1", user_id=getattr(user, "id", None))
        flash(_("Your bid of %(amount)s is saved.", amount=format_currency(amount, "EUR")), "success")
        return redirect(url_for(".index"))

    @expose("/receipt/<int:pk>")
    @has_access
    def receipt(self, pk):
        charge = db.session.get(LeadCharge, pk)
        if charge is None or charge.partner_id != current_partner_id():
            abort(404)
        return self.render_template("marketplace/receipt.html", charge=charge,
                                    receipt=marketplace.receipt_of(charge), money=money, when=local_datetime)
