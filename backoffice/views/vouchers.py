"""Desk views for vouchers, codes (with bulk generation and print export), redemptions, orders."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from wtforms import IntegerField, SelectField, TimeField
from wtforms.validators import Optional

from .. import transaction
from ..datamodel import Interface
from ..downloads import pdf_response
from ..errors import DomainError, InvalidInput
from ..extensions import db
from ..labels import VOUCHER_LABELS, VOUCHER_TITLES
from ..models import (
    VAT_RATES,
    InvoiceKind,
    Order,
    OrderStatus,
    Redemption,
    VatMode,
    Voucher,
    VoucherCode,
    VoucherKind,
)
from ..services.voucher_rules import check_voucher_record
from ..services.vouchers import add_code, generate_codes
from .localized import rate_choice
from .mixins import (
    CheckboxesMixin,
    ExportMixin,
    RecordLinksMixin,
    enum_select,
    label_of,
    local_datetime,
    may,
    money,
    percent,
    yes_no,
)

VOUCHER_FIELDS = ["name", "kind", "amount", "vat_mode", "fixed_vat_rate", "new_customers_only",
                  "min_order_value", "valid_from", "valid_until", "valid_on", "window_weekdays",
                  "window_start", "window_end", "max_total", "max_per_customer",
                  "released_for_partner_codes", "for_customer_id", "active"]


def _whole_number(raw) -> int:
    text = str(raw or "0").strip()
    if not text.isdigit():
        raise InvalidInput("invalid_count", _("Give the number of codes as a whole number."))
    return int(text)

class VoucherView(RecordLinksMixin, CheckboxesMixin, ExportMixin, ModelView):
    datamodel = Interface(Voucher)
    list_title, show_title, add_title, edit_title = VOUCHER_TITLES
    label_columns = VOUCHER_LABELS
    list_columns = ["name", "kind", "amount", "new_customers_only", "min_order_value", "valid_from",
                    "valid_until", "max_total", "redeemed_count", "released_for_partner_codes", "active"]
    money_columns = ("amount", "min_order_value")
    search_columns = ["name", "kind", "new_customers_only", "released_for_partner_codes", "active",
                      "valid_from", "valid_until"]
    order_columns = ["name", "amount", "valid_from", "valid_until", "redeemed_count"]
    show_columns = [*VOUCHER_FIELDS, "redeemed_count", "created_at"]
    add_columns = VOUCHER_FIELDS
    edit_columns = VOUCHER_FIELDS
    add_form_extra_fields = {
        "kind": enum_select(_l("Kind"), VoucherKind),
        "vat_mode": enum_select(_l("VAT handling"), VatMode),
        "fixed_vat_rate": SelectField(_l("Fixed VAT rate"), coerce=rate_choice, validators=[Optional()],
                                      choices=[("", "—")] + [(str(r), f"{r} %") for r in VAT_RATES]),
        "for_customer_id": IntegerField(_l("Only for customer (address no.)"), validators=[Optional()]),
        "window_start": TimeField(_l("Window start"), validators=[Optional()]),
        "window_end": TimeField(_l("Window end (before start: wraps midnight)"), validators=[Optional()]),
    }
    edit_form_extra_fields = add_form_extra_fields
    formatters_columns = {"kind": label_of(VoucherKind), "vat_mode": label_of(VatMode), "amount": money,
                          "min_order_value": money, "fixed_vat_rate": percent,
                          "new_customers_only": yes_no, "released_for_partner_codes": yes_no,
                          "active": yes_no, "created_at": local_datetime}
    base_order = ("name", "asc")

    def pre_add(self, item):
        check_voucher_record(item)

    def pre_update(self, item):
        check_voucher_record(item)

    def record_links(self, item):
        links = []
        if may("can_edit", "VoucherView"):
            links.append((_("Edit"), url_for("VoucherView.edit", pk=item.id), "fa-edit", "voucher-edit"))
        if may("can_codes", "VoucherView"):
            links.append((_("Add or generate codes"), url_for("VoucherView.codes", pk=item.id), "fa-plus",
                          "voucher-add-codes"))
        if may("can_list", "VoucherCodeView"):
            links.append((_("Codes of this voucher"), url_for("VoucherCodeView.list", _flt_0_voucher=item.id),
                          "fa-barcode", "voucher-codes"))
        return links

    @expose("/codes/<int:pk>", methods=["GET", "POST"])
    @has_access
    def codes(self, pk):
        """Add one code, or generate N single codes from a pattern."""
        voucher = db.session.get(Voucher, pk)
        if voucher is None:
            return redirect(url_for(".list"))
        if request.method == "POST":
            try:
                if request.form.get("pattern"):
                    count = _whole_number(request.form.get("count"))
                    with transaction.unit_of_work() as session:
                        codes = generate_codes(session, voucher, request.form["pattern"], count)
                    flash(_("%(n)s codes generated (batch %(batch)s).", n=len(codes), batch=codes[0].batch),
                          "success")
                    return redirect(url_for("VoucherCodeView.list", _flt_0_batch=codes[0].batch))
                with transaction.unit_of_work() as session:
                    add_code(session, voucher, request.form.get("code", ""))
                flash(_("Code added."), "success")
            except DomainError as exc:
                flash(exc.message, "danger")
        return self.render_template("partnerdesk/vouchers/codes.html", voucher=voucher, csrf=generate_csrf(),
                                    title=_("Codes of %(name)s", name=voucher.name))


class VoucherCodeView(RecordLinksMixin, ExportMixin, ModelView):
    datamodel = Interface(VoucherCode)
    list_title = _l("Voucher codes")
    show_title = _l("Voucher code")
    edit_title = _l("Edit voucher code")
    base_permissions = ["can_list", "can_show", "can_export", "can_edit"]
    label_columns = {"code": _l("Code"), "voucher": _l("Voucher"), "owner": _l("Partner"),
                     "batch": _l("Batch"), "active": _l("Active"), "redeemed_count": _l("Redeemed"),
                     "created_at": _l("Created at"), "voucher.amount": _l("Amount")}
    list_columns = ["code", "voucher", "owner", "batch", "redeemed_count", "active", "created_at"]
    export_columns = ["code", "voucher.name", "voucher.amount", "batch", "created_at"]
    money_columns = ("voucher.amount",)
    show_columns = list_columns
    edit_columns = ["active"]
    search_columns = ["code", "voucher", "batch", "active"]
    order_columns = ["code", "batch", "redeemed_count", "created_at"]
    formatters_columns = {"active": yes_no, "created_at": local_datetime}
    base_order = ("code", "asc")

    def list_help(self):
        if not may("can_codes", "VoucherView"):
            return None
        return Markup(escape(_("New codes, one by one or generated from a pattern: open a voucher and "
                               "choose “Add or generate codes”."))) + Markup(
            ' <a href="{}" data-test="to-vouchers">{}</a>').format(url_for("VoucherView.list"), _("Vouchers"))

    def record_links(self, item):
        return [(_("Voucher: %(name)s", name=item.voucher.name),
                 url_for("VoucherView.show", pk=item.voucher_id), "fa-ticket", "code-voucher")]


class RedemptionView(ExportMixin, ModelView):
    datamodel = Interface(Redemption)
    list_title = _l("Redemptions")
    show_title = _l("Redemption")
    base_permissions = ["can_list", "can_show", "can_export"]
    label_columns = {"redeemed_at": _l("Redeemed at"), "voucher": _l("Voucher"), "code": _l("Code"),
                     "owner": _l("Partner"), "address": _l("Address"), "amount": _l("Discount"),
                     "was_new_customer": _l("New customer"), "released_at": _l("Released (cancelled)"),
                     "order": _l("Order")}
    list_columns = ["redeemed_at", "voucher", "code", "owner", "address", "order", "amount",
                    "was_new_customer", "released_at"]
    money_columns = ("amount",)
    show_columns = list_columns
    search_columns = ["voucher", "redeemed_at", "was_new_customer", "released_at"]
    order_columns = ["redeemed_at", "amount", "released_at"]
    formatters_columns = {"amount": money, "was_new_customer": yes_no, "redeemed_at": local_datetime,
                          "released_at": local_datetime}
    base_order = ("redeemed_at", "desc")


def invoice_links(refs):
    """Links to the PDFs of an order's invoices."""
    return Markup(", ").join(
        Markup('<a href="{}" data-test="invoice-pdf">{}</a>').format(
            url_for("OrderView.invoice", pk=order_id, kind=kind), number)
        for order_id, kind, number in refs or [])


def order_lines(lines) -> Markup:
    """Show formatter: the order's lines as a table (articles, the voucher's discount lines)."""
    head = (_("Pos."), _("Article no."), _("Name"), _("Quantity"), _("Unit price (gross)"), _("VAT rate"),
            _("Line total (gross)"))
    header = Markup("").join(Markup('<th scope="col">{}</th>').format(text) for text in head)
    rows = Markup("").join(
        Markup('<tr data-test="order-line"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
               '<td>{}</td><td>{}</td></tr>').format(
            line.position, line.article_no, line.name, line.quantity, money(line.unit_gross),
            percent(line.vat_rate), money(line.line_gross))
        for line in lines or [])
    return Markup('<table class="table table-condensed"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>'
                  ).format(header, rows)


class OrderView(ExportMixin, ModelView):
    datamodel = Interface(Order)
    list_title = _l("Orders")
    show_title = _l("Order")
    base_permissions = ["can_list", "can_show", "can_export", "can_invoice"]
    label_columns = {"id": _l("No."), "external_order_id": _l("Shop order id"), "address": _l("Address"),
                     "status": _l("Status"), "voucher_code": _l("Voucher code"),
                     "subtotal_gross": _l("Subtotal"), "discount": _l("Discount"),
                     "total_gross": _l("Total (gross)"), "total_net": _l("Total (net)"),
                     "total_vat": _l("VAT"), "placed_at": _l("Placed at"), "cancelled_at": _l("Cancelled at"),
                     "invoice_refs": _l("Invoices"), "lines": _l("Lines")}
    list_columns = ["id", "external_order_id", "placed_at", "address", "status", "voucher_code",
                    "discount", "total_gross", "invoice_refs"]
    export_columns = ["id", "external_order_id", "placed_at", "address", "status", "voucher_code",
                      "subtotal_gross", "discount", "total_net", "total_vat", "total_gross", "cancelled_at"]
    money_columns = ("subtotal_gross", "discount", "total_gross", "total_net", "total_vat")
    show_columns = [c for c in export_columns if c != "id"] + ["invoice_refs", "lines"]
    search_columns = ["external_order_id", "status", "placed_at", "voucher_code"]
    order_columns = ["id", "external_order_id", "placed_at", "total_gross", "discount"]
    formatters_columns = {"status": label_of(OrderStatus), "placed_at": local_datetime,
                          "cancelled_at": local_datetime, "subtotal_gross": money, "discount": money,
                          "total_gross": money, "total_net": money, "total_vat": money,
                          "invoice_refs": invoice_links, "lines": order_lines}
    base_order = ("id", "desc")

    @expose("/invoice/<int:pk>/<kind>.pdf")
    @has_access
    def invoice(self, pk, kind):
        order = db.session.get(Order, pk)
        wanted = InvoiceKind(kind) if kind in ("invoice", "cancellation") else None
        invoice = next((i for i in order.invoices if i.kind == wanted), None) if order else None
        if invoice is None:
            flash(_("This order has no such invoice."), "warning")
            return redirect(url_for(".list"))
        return pdf_response(invoice)
