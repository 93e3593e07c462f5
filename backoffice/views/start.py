"""The start page: each role lands on the figures that answer its first question (staff:
registrations, first orders, vouchers, open work; a partner: its firstline, new customers,
codes; finance: voucher cost and invoices). The figures come from
`backoffice.services.start_pages`; the charts are SVG drawn here."""

from __future__ import annotations

import datetime as dt

from flask import g
from flask_appbuilder import IndexView, expose
from flask_babel import format_currency, format_date, format_decimal
from flask_babel import gettext as _

from ..extensions import db
from ..local_values import language
from ..security import FINANCE, PARTNER_ROLE, STAFF, current_partner, is_partner_owner
from ..services import billing_overview, marketplace, start_pages
from ..services.vouchers import company_today
from .addresses import audit_field, audit_value
from .charts import bar_chart
from .mixins import local_datetime


def _role_names(user) -> set[str]:
    return {role.name for role in getattr(user, "roles", ())}


def _euro(value) -> str:
    return format_currency(value, "EUR")


def _day_points(per_day):
    pattern = "dd.MM." if language() == "de" else "MM/dd"
    return [(format_date(day, pattern), n) for day, n in per_day]


def _month_label(month: str) -> str:
    return format_date(dt.date.fromisoformat(month + "-01"), "MMM yy")


class StartView(IndexView):
    index_template = "partnerdesk/index.html"

    @expose("/")
    def index(self):
        user = g.user if getattr(g, "user", None) is not None and g.user.is_authenticated else None
        if user is None:
            return self.render_template(self.index_template, sections={})
        roles = _role_names(user)
        today = dt.datetime.now(dt.UTC).date()
        sections = {}
        if roles & {STAFF, "Admin"}:
            figures = start_pages.staff_figures(db.session, today)
            sections["staff"] = {
                "figures": figures, "cost": _euro(figures.voucher_cost_this_month),
                "registrations": bar_chart(_day_points(figures.registrations_per_day),
                                           _("New registrations per day"), every=5,
                                           test_id="chart-registrations"),
                "first_orders": bar_chart(_day_points(figures.first_orders_per_day),
                                          _("First orders per day"), every=5, colour="#5cb85c",
                                          test_id="chart-first-orders"),
            }
        partner = current_partner()
        if PARTNER_ROLE in roles and partner is not None:
            figures = start_pages.partner_figures(db.session, partner.address_id, partner.id, today)
            charges, month_net = marketplace.month_charges(db.session, partner.id)
            sections["partner"] = {
                "figures": figures, "charges": charges, "month_net": _euro(month_net),
                "open": _euro(marketplace.open_amount(db.session, partner.id)),
                # Invoices are the team owner's: its members see no invoice figures or links.
                "invoices_open": (billing_overview.open_amount(db.session, partner.id)
                                  if is_partner_owner() else None),
                "growth": bar_chart(_day_points(figures.firstline_per_day), _("New in my firstline per day"),
                                    every=5, test_id="chart-firstline"),
            }
        if roles & {FINANCE, "Admin"}:
            figures = start_pages.finance_figures(db.session, today)
            sections["finance"] = {
                "figures": figures, "invoiced": _euro(figures.invoiced_this_month),
                "cost": bar_chart([(_month_label(m), v) for m, v in figures.voucher_cost_per_month],
                                  _("Voucher cost per month"), value_text=_euro, colour="#f0ad4e",
                                  test_id="chart-voucher-cost"),
            }
            billing = billing_overview.figures(db.session, company_today())
            sections["billing"] = {
                "figures": billing, "euro": _euro,
                "revenue": bar_chart([(_month_label(m), v) for m, v in billing.revenue_per_month],
                                     _("Partner revenue per month (net)"), value_text=_euro, colour="#5cb85c",
                                     test_id="chart-partner-revenue"),
            }
        return self.render_template(self.index_template, sections=sections, number=format_decimal,
                                    money=_euro, when=local_datetime, field=audit_field, value=audit_value,
                                    language=language)
