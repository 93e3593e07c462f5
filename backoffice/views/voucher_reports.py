"""Desk page for the voucher reports (V10), each with an Excel export."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Response, abort
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from reports import vouchers as voucher_reports
from reports.tabular import write_xlsx

from ..extensions import db
from ..timezones import viewer_time_zone
from .mixins import money


def _shown(name: str, rows: list, money_columns: set) -> list:
    """The report's cells as the page shows them in the UI language: amounts `1.234,50 €`,
    months `Oktober 2026`; the Excel export keeps the numbers and the `2026-10` keys."""
    shown = []
    for row in rows:
        cells = [money(cell) if i in money_columns else cell for i, cell in enumerate(row)]
        if name == "cost_per_month":
            year, month = (int(part) for part in row[0].split("-"))
            cells[0] = format_date(dt.date(year, month, 1), "MMMM y")
        shown.append(cells)
    return shown


class VoucherReportsView(BaseView):
    route_base = "/voucher-reports"
    default_view = "index"
    base_permissions = ["can_show", "can_export"]
    method_permission_name = {"index": "show", "show": "show", "export": "export"}

    @expose("/")
    @has_access
    def index(self):
        return self.show("per_voucher")

    @expose("/<name>/")
    @has_access
    def show(self, name):
        if name not in voucher_reports.REPORTS:
            abort(404)
        headers, rows, money_columns = voucher_reports.build(db.session, name, ZoneInfo(viewer_time_zone()))
        return self.render_template("partnerdesk/vouchers/report.html", name=name, headers=headers,
                                    rows=_shown(name, rows, money_columns),
                                    reports=list(voucher_reports.REPORTS.items()),
                                    title=voucher_reports.REPORTS[name])

    @expose("/<name>/xlsx")
    @has_access
    def export(self, name):
        if name not in voucher_reports.REPORTS:
            abort(404)
        headers, rows, money = voucher_reports.build(db.session, name, ZoneInfo(viewer_time_zone()))
        body = write_xlsx([str(h) for h in headers], rows, sheet_title=str(voucher_reports.REPORTS[name]),
                          money_columns=money)
        return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="vouchers-{name}.xlsx"'})


__all__ = ["VoucherReportsView", "_l"]
