"""Files handed to a browser or an API client: shared by the Desk pages and the REST APIs."""

from __future__ import annotations

from flask import Response, current_app

from reports.invoices import render_invoice

from .models import Invoice


def pdf_response(invoice: Invoice) -> Response:
    """An invoice or cancellation as PDF, shown in the browser, saved under its number."""
    pdf = render_invoice(invoice, current_app.config)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{invoice.display_number}.pdf"'})
