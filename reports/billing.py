"""Excel exports of partner billing for one month: invoices (and credit notes), charges,
payments. Finance gets every partner's rows, a partner only its own (`partner_id`).

Each export is (headers, rows, money column indexes), written by `reports.tabular.write_xlsx`
(typed cells, currency format, header filter, frozen header, formula-safe text). A month is
a calendar month in the company's time zone: invoices by their service period, charges by
when they were charged, payments by the day the money came (or went back).
"""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from backoffice.models import Category, Invoice, InvoiceLine, InvoiceSeries, LeadCharge, Partner, Payment
from backoffice.services.billing import Period
from backoffice.services.marketplace import LEAD_CHARGE
from backoffice.services.money import cents
from backoffice.services.vouchers import company_zone

EXPORTS = {
    "invoices": _l("Partner invoices"),
    "charges": _l("Charges"),
    "payments": _l("Payments"),
}

METHODS = {"direct_debit": _l("Direct debit"), "transfer": _l("Transfer"), "return": _l("Returned debit"),
           "credit_note": _l("Set off against a credit note")}


def _scoped(column, partner_id):
    return [column == partner_id] if partner_id is not None else []


def _invoices(session, period: Period, partner_id: int | None, _zone):
    paid = (select(Payment.invoice_id, func.sum(Payment.amount).label("paid"))
            .group_by(Payment.invoice_id).subquery())
    rows = session.execute(
        select(Invoice, Partner.subdomain, func.coalesce(paid.c.paid, 0))
        .join(Partner, Partner.id == Invoice.partner_id)
        .outerjoin(paid, paid.c.invoice_id == Invoice.id)
        .where(Invoice.series == InvoiceSeries.partner, Invoice.period_start == period.start,
               *_scoped(Invoice.partner_id, partner_id))
        .order_by(Invoice.number))
    headers = [_l("Invoice number"), _l("Kind"), _l("Partner"), _l("Partner name"), _l("Invoice date"),
               _l("Service from"), _l("Service to"), _l("Due on"), _l("Net"), _l("VAT"), _l("Gross"),
               _l("Paid"), _l("Open amount"), _l("Mandate reference")]
    body = [[i.display_number, i.kind, subdomain, i.buyer_name, i.issued_at.astimezone(company_zone()).date(),
             i.period_start, i.period_end, i.due_date, i.total_net, i.total_vat, i.total_gross,
             cents(Decimal(paid)), cents(i.total_gross - Decimal(paid)), i.mandate_reference]
            for i, subdomain, paid in rows]
    return headers, body, {8, 9, 10, 11, 12}


def _charges(session, period: Period, partner_id: int | None, zone):
    start, end = period.bounds(company_zone())
    line = (select(InvoiceLine.source_id, Invoice.number)
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(InvoiceLine.source == LEAD_CHARGE).subquery())
    rows = session.execute(
        select(LeadCharge, Category, Partner.subdomain, line.c.number)
        .join(Category, Category.id == LeadCharge.category_id)
        .join(Partner, Partner.id == LeadCharge.partner_id)
        .outerjoin(line, line.c.source_id == LeadCharge.id)
        .where(LeadCharge.charged_at >= start, LeadCharge.charged_at < end,
               *_scoped(LeadCharge.partner_id, partner_id))
        .order_by(LeadCharge.charged_at, LeadCharge.id))
    headers = [_l("Charged at"), _l("Request"), _l("Category"), _l("Partner"), _l("Net"), _l("VAT rate"),
               _l("VAT"), _l("Gross"), _l("Invoice number")]
    body = []
    for charge, category, subdomain, number in rows:
        vat = cents(charge.net * charge.vat_rate / 100)
        body.append([charge.charged_at.astimezone(zone), charge.request_id, category.full_name("de"),
                     subdomain, charge.net, charge.vat_rate, vat, charge.net + vat,
                     Invoice.format_number(number, InvoiceSeries.partner) if number else None])
    return headers, body, {4, 6, 7}


def _payments(session, period: Period, partner_id: int | None, _zone):
    rows = session.execute(
        select(Payment, Invoice, Partner.subdomain)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .join(Partner, Partner.id == Invoice.partner_id)
        .where(Invoice.series == InvoiceSeries.partner, Payment.paid_on >= period.start,
               Payment.paid_on < period.end, *_scoped(Invoice.partner_id, partner_id))
        .order_by(Payment.paid_on, Payment.id))
    headers = [_l("Paid on"), _l("Invoice number"), _l("Partner"), _l("Payment method"), _l("Amount"),
               _l("Reference")]
    body = [[p.paid_on, i.display_number, subdomain, str(METHODS.get(p.method, p.method)), p.amount,
             p.reference] for p, i, subdomain in rows]
    return headers, body, {4}


_BUILDERS = {"invoices": _invoices, "charges": _charges, "payments": _payments}


def build(session, name: str, period: Period, zone: ZoneInfo, partner_id: int | None = None):
    """(headers, rows, money columns) of export `name` for `period`; KeyError if unknown."""
    return _BUILDERS[name](session, period, partner_id, zone)
