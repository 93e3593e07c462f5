"""The partner's own voucher codes (V6) and their redemptions, scoped to the logged-in partner."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.models.sqla.filters import FilterEqualFunction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf

from .. import transaction
from ..datamodel import Interface
from ..errors import DomainError
from ..extensions import db
from ..models import Redemption, VoucherCode
from ..security import current_partner, current_partner_id
from ..services.vouchers import create_partner_code, released_vouchers
from .mixins import ExportMixin, local_datetime, money, yes_no


class MyVoucherCodesView(ModelView):
    datamodel = Interface(VoucherCode)
    route_base = "/my/codes"
    list_title = _l("My voucher codes")
    show_title = _l("My voucher code")
    base_permissions = ["can_list", "can_show", "can_new"]
    base_filters = [["owner_partner_id", FilterEqualFunction, current_partner_id]]
    label_columns = {"code": _l("Code"), "voucher": _l("Voucher"), "redeemed_count": _l("Redeemed"),
                     "created_at": _l("Created at"), "active": _l("Active")}
    list_columns = ["code", "voucher", "redeemed_count", "active", "created_at"]
    show_columns = list_columns
    search_columns = ["code"]
    order_columns = ["code", "redeemed_count", "created_at"]
    formatters_columns = {"active": yes_no, "created_at": local_datetime}
    base_order = ("created_at", "desc")
    list_template = "partnerdesk/vouchers/my_codes_list.html"

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def new(self):
        partner = current_partner()
        vouchers = released_vouchers(db.session)
        if request.method == "POST":
            if partner is None:
                flash(_("Your login is not linked to a partner."), "danger")
            else:
                raw_id = (request.form.get("voucher_id") or "0").strip()
                try:
                    voucher_id = int(raw_id) if raw_id.isdigit() else 0
                    with transaction.unit_of_work() as session:
                        create_partner_code(session, partner, voucher_id, request.form.get("code", ""))
                    flash(_("Your code is ready."), "success")
                    return redirect(url_for(".list"))
                except DomainError as exc:
                    flash(exc.message, "danger")
        return self.render_template("partnerdesk/vouchers/my_code_new.html", vouchers=vouchers,
                                    csrf=generate_csrf(),
                                    title=_("New voucher code"))


class MyRedemptionsView(ExportMixin, ModelView):
    """Redemptions of the partner's own codes: when, which code, how much, new customer or not."""

    datamodel = Interface(Redemption)
    route_base = "/my/redemptions"
    list_title = _l("Redemptions of my codes")
    show_title = _l("Redemption")
    base_permissions = ["can_list", "can_show", "can_export"]
    base_filters = [["owner_partner_id", FilterEqualFunction, current_partner_id]]
    label_columns = {"redeemed_at": _l("Redeemed at"), "code": _l("Code"), "amount": _l("Discount"),
                     "was_new_customer": _l("New customer"), "released_at": _l("Released (cancelled)")}
    list_columns = ["redeemed_at", "code", "amount", "was_new_customer", "released_at"]
    money_columns = ("amount",)
    show_columns = list_columns
    search_columns = ["redeemed_at", "was_new_customer"]
    order_columns = ["redeemed_at", "amount"]
    formatters_columns = {"amount": money, "was_new_customer": yes_no, "redeemed_at": local_datetime,
                          "released_at": local_datetime}
    base_order = ("redeemed_at", "desc")
