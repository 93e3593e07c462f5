"""Vouchers, partner codes, redemptions, orders and invoices (V1–V12), and the shop API."""

from flask_babel import lazy_gettext as _l

from ..api.shop import ShopApi
from ..api.vouchers import VoucherApi
from ..security import FINANCE, PARTNER_ROLE, SHOP, STAFF
from ..views.voucher_partner_area import MyRedemptionsView, MyVoucherCodesView
from ..views.voucher_reports import VoucherReportsView
from ..views.vouchers import OrderView, RedemptionView, VoucherCodeView, VoucherView
from . import ALL, READ, Api, Area, Page

FINANCE_READ = READ + "|can_invoice"
OWN_CODES = "can_list|can_show|can_new|can_export"

AREA = Area(
    name="vouchers",
    order=40,
    pages=(
        Page(VoucherView, "Vouchers", _l("Vouchers"), "fa-ticket", "Vouchers",
             {STAFF: ALL, FINANCE: FINANCE_READ}),
        Page(VoucherCodeView, "Voucher codes", _l("Voucher codes"), "fa-barcode", "Vouchers",
             {STAFF: ALL, FINANCE: FINANCE_READ}),
        Page(RedemptionView, "Redemptions", _l("Redemptions"), "fa-check", "Vouchers",
             {STAFF: ALL, FINANCE: FINANCE_READ}),
        Page(OrderView, "Orders", _l("Orders"), "fa-shopping-cart", "Vouchers",
             {STAFF: ALL, FINANCE: FINANCE_READ}),
        Page(VoucherReportsView, "Voucher reports", _l("Voucher reports"), "fa-bar-chart", "Vouchers",
             {STAFF: ALL, FINANCE: FINANCE_READ}),
        Page(MyVoucherCodesView, "My voucher codes", _l("My voucher codes"), "fa-ticket", "My area",
             {PARTNER_ROLE: OWN_CODES}),
        Page(MyRedemptionsView, "My redemptions", _l("Redemptions of my codes"), "fa-check", "My area",
             {PARTNER_ROLE: OWN_CODES}),
    ),
    apis=(
        Api(ShopApi, {SHOP: "can_get|can_post"}),
        Api(VoucherApi, {STAFF: ALL}),
    ),
)
