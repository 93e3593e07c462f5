"""Customer invoices as PDF (reportlab): what a German invoice must carry (B1).

Seller (name, address, VAT id from the config), buyer as invoiced, sequential number,
invoice and delivery date, the lines with the voucher as its own line(s), net / VAT /
gross per rate and the totals.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from decimal import Decimal
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle


def euro(value: Decimal) -> str:
    """German money format: 1.234,56 €."""
    text = f"{Decimal(value):,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    return f"{text} €"


def rate_text(rate: Decimal) -> str:
    return f"{Decimal(rate).normalize():f} %"


def render_invoice(invoice, config: Mapping) -> bytes:
    from backoffice.services.money import vat_of

    order = invoice.order
    sign = Decimal(-1) if invoice.kind.value == "cancellation" else Decimal(1)
    zone = ZoneInfo(config.get("COMPANY_TIME_ZONE", "Europe/Berlin"))
    styles = getSampleStyleSheet()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                            topMargin=20 * mm, bottomMargin=20 * mm,
                            title=invoice.display_number, author=config.get("COMPANY_NAME", ""))
    seller = "<br/>".join(escape(p) for p in [
        config.get("COMPANY_NAME", "Partnerdesk GmbH"),
        *str(config.get("COMPANY_ADDRESS", "")).splitlines(),
        f"USt-IdNr.: {config.get('COMPANY_VAT_ID', '')}"])
    buyer = "<br/>".join(escape(p) for p in [invoice.buyer_name, *(invoice.buyer_address or "").splitlines()])
    title = "Stornorechnung" if sign < 0 else "Rechnung"
    story = [
        Paragraph(seller, styles["Normal"]), Spacer(1, 8 * mm),
        Paragraph(buyer, styles["Normal"]), Spacer(1, 8 * mm),
        Paragraph(f"{title} {escape(invoice.display_number)}", styles["Title"]),
    ]
    facts = [
        f"Rechnungsnummer: {invoice.display_number}",
        f"Rechnungsdatum: {invoice.issued_at.astimezone(zone):%d.%m.%Y}",
        f"Lieferdatum: {invoice.delivery_date:%d.%m.%Y}",
        f"Bestellung: {order.external_order_id}",
    ]
    if invoice.cancels is not None:
        facts.append(f"Storniert Rechnung: {invoice.cancels.display_number}")
    story += [Paragraph(escape(f), styles["Normal"]) for f in facts]
    story.append(Spacer(1, 6 * mm))

    rows = [["Pos.", "Art.-Nr.", "Bezeichnung", "Menge", "Einzelpreis", "USt", "Gesamt (brutto)"]]
    for line in order.lines:
        rows.append([str(line.position), line.article_no, Paragraph(escape(line.name), styles["Normal"]),
                     str(line.quantity), euro(sign * line.unit_gross), rate_text(line.vat_rate),
                     euro(sign * line.line_gross)])
    table = Table(rows, colWidths=[12 * mm, 24 * mm, 52 * mm, 14 * mm, 24 * mm, 14 * mm, 30 * mm],
                  repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ("ALIGN", (3, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story += [table, Spacer(1, 6 * mm)]

    sums = [["USt-Satz", "Netto", "USt", "Brutto"]]
    for rate in vat_of((line.vat_rate, sign * line.line_gross) for line in order.lines):
        sums.append([rate_text(rate.rate), euro(rate.net), euro(rate.vat), euro(rate.gross)])
    sums.append(["Summe", euro(invoice.total_net), euro(invoice.total_vat), euro(invoice.total_gross)])
    totals = Table(sums, colWidths=[30 * mm, 30 * mm, 30 * mm, 30 * mm], hAlign="RIGHT")
    totals.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
        ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
    ]))
    story += [totals, Spacer(1, 6 * mm),
              Paragraph(f"Rechnungsbetrag: {euro(invoice.total_gross)}", styles["Heading3"])]
    doc.build(story)
    return out.getvalue()
