"""The partner's side of the marketplace: requests with the customers' contact data, the
progress of each, bids and budgets per category, and this month's charges with receipts."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, ModelView, expose, has_access
from flask_babel import format_currency, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import transaction
from ..datamodel import Interface
from ..errors import Forbidden, InvalidInput, RuleViolations
from ..extensions import db
from ..models import DirectStatus, DisputeReason, LeadCharge, LeadRequest, RequestStatus, Review
from ..security import current_partner_id, is_partner_owner, logged_in_user
from ..services import billing_overview, marketplace
from ..services.vouchers import company_today
from .localized import date_text, form_amount, form_date
from .mixins import ExportMixin, label_of, local_datetime, money, percent
from .receipts import receipt_facts, receipt_table
from .reviews import ReviewHidingView


class MyRequestsView(BaseView):
    route_base = "/my/requests"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        return self._page()

    def _page(self, refused_bid: dict | None = None, status_code: int = 200):
        """The page; `refused_bid` (category_id, the typed values, errors per field) shows a
        refused bid as typed, with each message at its field."""
        partner_id = current_partner_id()
        wanted = request.args.get("status")
        status = DirectStatus(wanted) if wanted in DirectStatus._value2member_map_ else None
        search = request.args.get("q", "")
        rows = marketplace.direct_requests(db.session, partner_id, status, search=search)
        billing = billing_overview.partner_billing(db.session, partner_id, company_today(), invoices=False)
        bids = marketplace.bids_of(db.session, partner_id, str(get_locale() or "de"))
        reviews = marketplace.own_reviews(db.session, partner_id)
        return self.render_template("marketplace/my_requests.html", rows=rows,
                                    charges=billing.month_charges, month_net=billing.month_net, bids=bids,
                                    owner=is_partner_owner(), reviews=reviews,
                                    statuses=list(DirectStatus), current=status, steps=marketplace.NEXT,
                                    search=search, money=money, when=local_datetime, day=date_text,
                                    refused_bid=refused_bid or {}), status_code

    @expose("/<int:pk>/status", methods=["POST"])
    @has_access
    def status(self, pk):
        wanted = request.form.get("status", "")
        if wanted not in DirectStatus._value2member_map_:
            abort(400)
        status = DirectStatus(wanted)
        day = (form_date(request.form.get("appointment_on"), "appointment_on")
               if status == DirectStatus.appointment else None)
        with transaction.unit_of_work():
            marketplace.move_direct_request(
                db.session, current_partner_id(), pk, status,
                review_url=url_for("portal.review", token="-", _external=True)[:-1], appointment_on=day)
        flash(_("Saved."), "success")
        return redirect(url_for(".index"))

    @expose("/bid/<int:category_id>", methods=["POST"])
    @has_access
    def bid(self, category_id):
        if not is_partner_owner():
            raise Forbidden("owner_only", _("Only the team's owner places bids."))
        typed = {name: request.form.get(name, "") for name in ("amount", "monthly_budget", "paused")}
        errors: dict[str, list[str]] = {}
        try:
            amount = form_amount(typed["amount"], "amount")
        except InvalidInput as exc:
            errors.update(exc.fields)
        try:
            budget = form_amount(typed["monthly_budget"], "monthly_budget", required=False)
        except InvalidInput as exc:
            errors.update(exc.fields)
        if not errors:
            user = logged_in_user()
            try:
                with transaction.unit_of_work():
                    marketplace.set_bid(db.session, current_partner_id(), category_id, amount, budget,
                                        paused=typed["paused"] == "1", user_id=getattr(user, "id", None))
            except RuleViolations as exc:
                errors = exc.fields
        if errors:
            return self._page({"category_id": category_id, "typed": typed, "errors": errors}, 422)
        flash(_("Your bid of %(amount)s is saved.", amount=format_currency(amount, "EUR")), "success")
        return redirect(url_for(".index"))

    @expose("/receipt/<int:pk>")
    @has_access
    def receipt(self, pk):
        charge = db.session.get(LeadCharge, pk)
        if charge is None or charge.partner_id != current_partner_id():
            abort(404)
        dispute = marketplace.dispute_of(db.session, pk)
        receipt = marketplace.receipt_of(charge)
        return self.render_template("marketplace/receipt.html", charge=charge, dispute=dispute,
                                    reasons=list(DisputeReason), request_id=receipt["request_id"],
                                    facts=receipt_facts(receipt, own=True), when=local_datetime)

    @expose("/receipt/<int:pk>/dispute", methods=["POST"])
    @has_access
    def dispute(self, pk):
        wanted = request.form.get("reason", "")
        if wanted not in DisputeReason._value2member_map_:
            message = _("Choose a reason.")
            raise InvalidInput("invalid_reason", message, fields={"reason": [message]})
        with transaction.unit_of_work():
            marketplace.dispute_charge(db.session, current_partner_id(), pk, DisputeReason(wanted),
                                       request.form.get("note", ""))
        flash(_("Your dispute is recorded; staff decide on it."), "success")
        return redirect(url_for(".receipt", pk=pk))


    @expose("/review/<int:pk>/answer", methods=["POST"])
    @has_access
    def answer(self, pk):
        with transaction.unit_of_work():
            marketplace.answer_review(db.session, current_partner_id(), pk, request.form.get("answer", ""))
        flash(_("Your answer is published with the review."), "success")
        return redirect(url_for(".index"))


class DisputesView(BaseView):
    """Staff decide partners' disputes: accepted ones are credited on the next statement."""

    route_base = "/desk/disputes"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        disputes = marketplace.open_disputes(db.session)
        return self.render_template("marketplace/disputes.html", disputes=disputes, money=money,
                                    when=local_datetime)

    @expose("/<int:pk>", methods=["POST"])
    @has_access
    def decide(self, pk):
        user = logged_in_user()
        with transaction.unit_of_work():
            marketplace.decide_dispute(db.session, pk, request.form.get("decision") == "accept",
                                       request.form.get("decision_reason", ""), getattr(user, "id", None))
        flash(_("Decision saved."), "success")
        return redirect(url_for(".index"))


class LeadRequestView(ExportMixin, ModelView):
    """Staff: customers' requests with their state."""

    datamodel = Interface(LeadRequest)
    list_title = _l("Customer requests")
    show_title = _l("Customer request")
    base_permissions = ["can_list", "can_show", "can_export"]
    label_columns = {"id": _l("No."), "category": _l("Category"), "postal_code": _l("Postal code"),
                     "customer_name": _l("Customer"), "email": _l("E-mail"), "status": _l("Status"),
                     "created_at": _l("Created"), "confirmed_at": _l("Confirmed"),
                     "description": _l("Description"), "preferred_dates": _l("Preferred dates")}
    list_columns = ["id", "created_at", "category", "postal_code", "customer_name", "status"]
    show_columns = ["created_at", "confirmed_at", "category", "postal_code", "customer_name", "email",
                    "description", "preferred_dates", "status"]
    search_columns = ["postal_code", "customer_name", "email", "status", "created_at"]
    order_columns = ["id", "created_at", "postal_code"]
    formatters_columns = {"status": label_of(RequestStatus), "created_at": local_datetime,
                          "confirmed_at": local_datetime}
    base_order = ("id", "desc")


class LeadChargeView(ExportMixin, ModelView):
    """Staff and finance: every charge with its price, partner and request."""

    datamodel = Interface(LeadCharge)
    list_title = _l("Charges")
    show_title = _l("Charge")
    base_permissions = ["can_list", "can_show", "can_export"]
    label_columns = {"id": _l("No."), "charged_at": _l("Charged at"), "partner": _l("Partner"),
                     "category": _l("Category"), "request_id": _l("Request"), "net": _l("Net"),
                     "vat_rate": _l("VAT rate"), "receipt": _l("Receipt")}
    list_columns = ["id", "charged_at", "partner", "category", "request_id", "net"]
    show_columns = ["charged_at", "partner", "category", "request_id", "net", "vat_rate", "receipt"]
    search_columns = ["charged_at", "request_id"]
    order_columns = ["id", "charged_at", "net"]
    money_columns = ("net",)
    formatters_columns = {"charged_at": local_datetime, "net": money, "vat_rate": percent,
                          "receipt": receipt_table}
    base_order = ("id", "desc")


class ReviewView(ReviewHidingView):
    """Staff hide a direct request's review with a reason (audited)."""

    datamodel = Interface(Review)
    list_title = _l("Reviews")
    show_title = _l("Review")
    edit_title = _l("Hide or show a review")
