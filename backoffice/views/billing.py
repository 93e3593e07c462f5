"""Finance's billing pages: partners' statements with their PDF, SEPA files, returns, transfers,
Excel exports per month; and the partner's own billing page (`/my/billing`).

The pages parse the form, call `backoffice.services.direct_debits` in one unit of work and
show the outcome as a message; a refused action (a domain error) shows its message and
changes nothing.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import format_currency
from flask_babel import gettext as _

from imports.runs import storage_dir, store_upload
from reports import billing as billing_reports
from reports.tabular import write_xlsx

from .. import transaction
from ..extensions import db
from ..models import DebitStatus, Invoice, InvoiceKind, InvoiceSeries, SepaFile
from ..security import current_partner_id, is_partner_owner, logged_in_user
from ..services import bank_statements, billing_overview, credit_notes, direct_debits, invoice_documents
from ..services.billing import Period, render_partner_invoice
from ..services.vouchers import company_today
from ..tasks import submit
from ..tasks.billing import submit_rendering
from ..timezones import viewer_time_zone
from .localized import form_amount, form_date
from .mixins import local_datetime, money

STORED_UPLOAD = re.compile(r"[0-9a-f]{32}-[A-Za-z0-9_.-]+")


def _user_id() -> int | None:
    user = logged_in_user()
    return getattr(user, "id", None)


def _statement_or_404(pk: int, partner_id: int | None = None) -> Invoice:
    """A partner invoice; with `partner_id` only one of that partner's (else 404)."""
    invoice = db.session.get(Invoice, pk)
    if invoice is None or invoice.series != InvoiceSeries.partner:
        abort(404)
    if partner_id is not None and invoice.partner_id != partner_id:
        abort(404)
    return invoice


def _pdf(invoice: Invoice) -> Response:
    """The PDF as rendered and mailed; drawn now if it is not rendered yet (or predates them)."""
    body = invoice_documents.stored_pdf(db.session, invoice.id) or render_partner_invoice(invoice,
                                                                                        current_app.config)
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{invoice.display_number}.pdf"'})


def _period() -> Period:
    """The month of `?period=YYYY-MM`, by default the one billed last (the previous month)."""
    text = request.args.get("period")
    return Period.parse(text) if text else Period.before(company_today())


def _xlsx(name: str, partner_id: int | None) -> Response:
    if name not in billing_reports.EXPORTS:
        abort(404)
    period = _period()
    headers, rows, money_columns = billing_reports.build(db.session, name, period,
                                                         ZoneInfo(viewer_time_zone()), partner_id)
    body = write_xlsx([str(h) for h in headers], rows, sheet_title=str(billing_reports.EXPORTS[name]),
                      money_columns=money_columns)
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition":
                             f'attachment; filename="{name}-{period.start:%Y-%m}.xlsx"'})


def _export_months() -> dict:
    """The export form's months (newest first) and the one chosen at first (billed last)."""
    today = company_today()
    return {"exports": billing_reports.EXPORTS, "billed": f"{Period.before(today).start:%Y-%m}",
            "months": [f"{p.start:%Y-%m}" for p in reversed(billing_overview.recent_months(today))]}


class BillingView(BaseView):
    route_base = "/billing"
    default_view = "index"

    def _may(self, *methods: str) -> dict[str, bool]:
        """Which of these actions the user may take: Staff reads invoices, only Finance acts."""
        return {m: self.appbuilder.sm.has_access(f"can_{m}", self.class_permission_name) for m in methods}

    @expose("/")
    @has_access
    def index(self):
        open_only = request.args.get("open") == "1"
        rows = direct_debits.statements(db.session, open_only=open_only)
        files = direct_debits.debit_files(db.session, limit=20)
        return self.render_template("billing/index.html", rows=rows, files=files, open_only=open_only,
                                    money=money, when=local_datetime,
                                    may=self._may("run", "export", "bank_statement", "make_file"),
                                    **_export_months())

    @expose("/export/<name>.xlsx")
    @has_access
    def export(self, name):
        return _xlsx(name, None)

    @expose("/statement/<int:pk>")
    @has_access
    def statement(self, pk):
        detail = direct_debits.statement_detail(db.session, pk)
        may_credit = self.appbuilder.sm.has_access("can_credit_note", self.class_permission_name)
        creditable = credit_notes.creditable_lines(db.session, pk) if may_credit else []
        return self.render_template("billing/statement.html", invoice=detail.invoice,
                                    payments=detail.payments, debits=detail.debits,
                                    open_amount=detail.open, money=money,
                                    submitted=DebitStatus.submitted, today=company_today(),
                                    creditable=creditable, may=self._may("debit_return", "transfer"),
                                    credit_notes=credit_notes.credit_notes_of(db.session, pk),
                                    invoice_kind=InvoiceKind.invoice)

    @expose("/statement/<int:pk>/credit-note", methods=["POST"])
    @has_access
    def credit_note(self, pk):
        """Finance corrects an invoice by a credit note for the chosen lines (never by editing it)."""
        _statement_or_404(pk)
        line_ids = [int(value) for value in request.form.getlist("line") if value.isdigit()]
        with transaction.unit_of_work():
            note = credit_notes.issue_credit_note(db.session, pk, line_ids, request.form.get("reason", ""),
                                                  company_today())
        submit_rendering([note.id])
        flash(_("Credit note %(number)s over %(gross)s issued; %(set_off)s set off against the invoice.",
                number=note.number, gross=format_currency(note.gross, "EUR"),
                set_off=format_currency(note.set_off, "EUR")), "success")
        return redirect(url_for(".statement", pk=note.id))

    @expose("/statement/<int:pk>.pdf")
    @has_access
    def pdf(self, pk):
        return _pdf(_statement_or_404(pk))

    @expose("/statement/<int:pk>/transfer", methods=["POST"])
    @has_access
    def transfer(self, pk):
        _statement_or_404(pk)
        amount = form_amount(request.form.get("amount"), "amount")
        paid_on = form_date(request.form.get("paid_on"), "paid_on")
        with transaction.unit_of_work():
            left = direct_debits.record_transfer(db.session, pk, amount, paid_on,
                                                 request.form.get("reference", ""), _user_id())
        flash(_("Transfer recorded; open: %(open)s.", open=format_currency(left, "EUR")), "success")
        return redirect(url_for(".statement", pk=pk))

    @expose("/debit/<int:pk>/return", methods=["POST"])
    @has_access
    def debit_return(self, pk):
        fee = form_amount(request.form.get("fee") or "0", "fee")
        returned_on = form_date(request.form.get("returned_on"), "returned_on")
        with transaction.unit_of_work():
            invoice_id = direct_debits.record_return(db.session, pk, returned_on,
                                                     request.form.get("reason", ""), fee, _user_id())
        flash(_("Return recorded; the invoice is open again."), "success")
        return redirect(url_for(".statement", pk=invoice_id))

    @expose("/run", methods=["POST"])
    @has_access
    def run(self):
        """Start the monthly run for a month as a background task (the same as on the 15th)."""
        period = Period.parse(request.form.get("period", ""))
        task = submit(db.session, "billing.monthly_run", {"period": f"{period.start:%Y-%m}"},
                      user_id=_user_id(),
                      title=_("Partner invoices for %(month)s", month=f"{period.start:%m/%Y}"))
        return redirect(url_for("TasksView.show", pk=task.id))

    @expose("/bank-statement", methods=["GET", "POST"])
    @has_access
    def bank_statement(self):
        """Upload a bank statement: always checked first (a dry run), imported on request."""
        if request.method == "GET":
            return self.render_template("billing/bank_statement.html", report=None, stored=None)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Choose a file."), "danger")
            return redirect(url_for(".bank_statement"))
        path, _size = store_upload(upload.stream, upload.filename)
        report = bank_statements.import_statement(db.session, path, dry_run=True)
        return self.render_template("billing/bank_statement.html", report=report, stored=path.name,
                                    file_name=upload.filename, money=money)

    @expose("/bank-statement/<stored>", methods=["POST"])
    @has_access
    def bank_statement_import(self, stored):
        path = storage_dir() / stored
        if not STORED_UPLOAD.fullmatch(stored) or not path.is_file():
            abort(404)
        with transaction.unit_of_work():
            report = bank_statements.import_statement(db.session, path, dry_run=False, user_id=_user_id())
        flash(_("%(n)s payments recorded.", n=report.payments), "success")
        return self.render_template("billing/bank_statement.html", report=report, stored=None,
                                    file_name=request.form.get("file_name", ""), money=money)

    @expose("/sepa-files", methods=["POST"])
    @has_access
    def make_file(self):
        with transaction.unit_of_work():
            result = direct_debits.create_debit_file(db.session, company_today(), current_app.config,
                                                     _user_id())
        flash(_("SEPA file %(id)s with %(n)s debits over %(total)s created.", id=result.message_id,
                n=result.debit_count, total=format_currency(result.total, "EUR")), "success")
        for number, reason in result.skipped:
            flash(_("%(number)s not collected: %(reason)s", number=number, reason=reason), "warning")
        return redirect(url_for(".index"))

    @expose("/sepa-files/<int:pk>.xml")
    @has_access
    def file(self, pk):
        file = db.session.get(SepaFile, pk)
        if file is None:
            abort(404)
        return Response(file.xml, mimetype="application/xml",
                        headers={"Content-Disposition": f'attachment; filename="{file.message_id}.xml"'})


def _owner_partner_id() -> int:
    """Invoices are the team owner's, like the payment profile: a member is refused (403)."""
    if not is_partner_owner():
        abort(403)
    return current_partner_id()


class MyBillingView(BaseView):
    """The partner's invoices with their PDFs, what is open, what this month has cost so far,
    and its own Excel exports; another partner's invoice answers 404."""

    route_base = "/my/billing"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        billing = billing_overview.partner_billing(db.session, _owner_partner_id(), company_today())
        return self.render_template("billing/my_billing.html", f=billing.figures, billing=billing,
                                    money=money, when=local_datetime, **_export_months())

    @expose("/<int:pk>.pdf")
    @has_access
    def pdf(self, pk):
        return _pdf(_statement_or_404(pk, _owner_partner_id()))

    @expose("/export/<name>.xlsx")
    @has_access
    def export(self, name):
        if name not in billing_reports.EXPORTS:
            abort(404)  # an unknown export is not there for anyone, before asking who asks
        return _xlsx(name, _owner_partner_id())
