"""Partner invoices as PDF with the e-invoice inside (ZUGFeRD / Factur-X, EN 16931).

One plain description of the invoice (`EInvoice`) is both printed and written as XML, so
the page and the machine-readable invoice cannot disagree:

- `cii_xml` builds the Cross Industry Invoice with `drafthorse` at the EN 16931 profile; its
  serialisation checks the XML against the profile's schema;
- `broken_rules` runs the EN 16931 business rules (the schematron shipped with
  `factur-x`, compiled to XSLT) with Saxon-HE (`saxonche`), offline: a wrong VAT total
  fails BR-S-09, a line sum that differs from the basis BR-CO-13;
- `render` draws the page with reportlab in an embedded TrueType font (Vera, shipped with
  reportlab; the standard Helvetica is not embedded, which PDF/A forbids) and `factur-x`
  attaches the XML as `factur-x.xml` (PDF/A-3 attachment with its XMP metadata).

What §14 UStG requires is on the page: seller and buyer with addresses and VAT ids, the
invoice date, the service period, the sequential number, net / VAT / gross per rate, the
totals, and for a direct debit the due date, the mandate reference and the creditor
identifier (so the invoice is the debit's pre-notification). A credit note names the
invoice it corrects.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

import facturx
from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from saxonche import PySaxonProcessor

from .invoices import euro, rate_text

PROFILE = "FACTUR-X_EN16931"
GUIDELINE = "urn:cen.eu:en16931:2017"
INVOICE, CREDIT_NOTE = "380", "381"   # UNTDID 1001
UNIT = "C62"                           # UN/ECE rec. 20: one piece
SEPA_DIRECT_DEBIT = "59"               # UNTDID 4461
CREDIT_TRANSFER = "58"
CLEARING = "97"                        # settled with the next invoice (a credit note)


@dataclass(frozen=True)
class Party:
    name: str
    street: str
    postal_code: str
    city: str
    country: str = "DE"
    vat_id: str | None = None


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit_net: Decimal
    vat_rate: Decimal
    net: Decimal


@dataclass(frozen=True)
class RateSum:
    rate: Decimal
    net: Decimal
    vat: Decimal


@dataclass(frozen=True)
class DirectDebit:
    mandate_reference: str
    creditor_id: str
    payer_iban: str


@dataclass(frozen=True)
class EInvoice:
    number: str
    issued_on: date
    period_start: date
    period_end: date           # the last day of the service period
    seller: Party
    buyer: Party
    lines: list[Line]
    rates: list[RateSum]
    due_on: date
    type_code: str = INVOICE
    debit: DirectDebit | None = None
    payee_iban: str | None = None
    corrects: tuple[str, date] | None = None   # number and date of the invoice a credit note corrects
    notes: list[str] = field(default_factory=list)

    @property
    def total_net(self) -> Decimal:
        return sum((r.net for r in self.rates), Decimal("0.00"))

    @property
    def total_vat(self) -> Decimal:
        return sum((r.vat for r in self.rates), Decimal("0.00"))

    @property
    def total_gross(self) -> Decimal:
        return self.total_net + self.total_vat


def _party(target, party: Party) -> None:
    target.name = party.name
    target.address.line_one = party.street
    target.address.postcode = party.postal_code
    target.address.city_name = party.city
    target.address.country_id = party.country
    if party.vat_id:
        target.tax_registrations.add(TaxRegistration(id=("VA", party.vat_id)))


def _category(rate: Decimal) -> str:
    return "S" if rate > 0 else "Z"


def cii_xml(invoice: EInvoice) -> bytes:
    """The EN 16931 Cross Industry Invoice; raises if it breaks the profile's schema."""
    doc = Document()
    doc.context.guideline_parameter.id = GUIDELINE
    doc.header.id = invoice.number
    doc.header.type_code = invoice.type_code
    doc.header.issue_date_time = invoice.issued_on
    for note in invoice.notes:
        doc.header.notes.add(IncludedNote(content=note))
    _party(doc.trade.agreement.seller, invoice.seller)
    _party(doc.trade.agreement.buyer, invoice.buyer)
    doc.trade.delivery.event.occurrence = invoice.period_end
    settlement = doc.trade.settlement
    settlement.currency_code = "EUR"
    settlement.period.start = invoice.period_start
    settlement.period.end = invoice.period_end
    terms = PaymentTerms()
    terms.due = invoice.due_on
    if invoice.debit is not None:
        settlement.creditor_reference_id = invoice.debit.creditor_id
        means = PaymentMeans(type_code=SEPA_DIRECT_DEBIT)
        means.payer_account.iban = invoice.debit.payer_iban
        settlement.payment_means.add(means)
        terms.debit_mandate_id = invoice.debit.mandate_reference
    elif invoice.payee_iban:
        means = PaymentMeans(type_code=CREDIT_TRANSFER)
        means.payee_account.iban = invoice.payee_iban
        settlement.payment_means.add(means)
    else:
        settlement.payment_means.add(PaymentMeans(type_code=CLEARING))
    settlement.terms.add(terms)
    if invoice.corrects is not None:
        reference = settlement.invoice_referenced_document
        reference.issuer_assigned_id, reference.issue_date_time = invoice.corrects
    for position, line in enumerate(invoice.lines, 1):
        item = LineItem()
        item.document.line_id = str(position)
        item.product.name = line.description
        item.agreement.net.amount = line.unit_net
        item.delivery.billed_quantity = (line.quantity, UNIT)
        item.settlement.trade_tax.type_code = "VAT"
        item.settlement.trade_tax.category_code = _category(line.vat_rate)
        item.settlement.trade_tax.rate_applicable_percent = line.vat_rate
        item.settlement.monetary_summation.total_amount = line.net
        doc.trade.items.add(item)
    for rate in invoice.rates:
        tax = ApplicableTradeTax()
        tax.calculated_amount, tax.basis_amount = rate.vat, rate.net
        tax.type_code, tax.category_code = "VAT", _category(rate.rate)
        if rate.rate == 0:
            tax.exemption_reason = "Nicht steuerbar"
        tax.rate_applicable_percent = rate.rate
        settlement.trade_tax.add(tax)
    summation = settlement.monetary_summation
    summation.line_total = sum((line.net for line in invoice.lines), Decimal("0.00"))
    summation.charge_total = summation.allowance_total = Decimal("0.00")
    summation.tax_basis_total = invoice.total_net
    summation.tax_total = (invoice.total_vat, "EUR")
    summation.grand_total = invoice.total_gross
    summation.due_amount = invoice.total_gross
    return doc.serialize(schema=PROFILE)


@cache
def _fonts() -> tuple[str, str]:
    pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
    pdfmetrics.registerFont(TTFont("Vera-Bold", "VeraBd.ttf"))
    return "Vera", "Vera-Bold"


def _styles():
    regular, bold = _fonts()
    base = getSampleStyleSheet()
    return {"normal": ParagraphStyle("pd-normal", parent=base["Normal"], fontName=regular),
            "title": ParagraphStyle("pd-title", parent=base["Title"], fontName=bold),
            "total": ParagraphStyle("pd-total", parent=base["Heading3"], fontName=bold)}


def _address(party: Party) -> str:
    lines = [party.name, party.street, f"{party.postal_code} {party.city}"]
    if party.vat_id:
        lines.append(f"USt-IdNr.: {party.vat_id}")
    return "<br/>".join(escape(line) for line in lines if line)


def _page(invoice: EInvoice) -> bytes:
    regular, bold = _fonts()
    styles = _styles()
    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm,
                                 topMargin=20 * mm, bottomMargin=20 * mm, title=invoice.number,
                                 author=invoice.seller.name)
    title = "Gutschrift" if invoice.type_code == CREDIT_NOTE else "Rechnung"
    facts = [f"Rechnungsnummer: {invoice.number}",
             f"Rechnungsdatum: {invoice.issued_on:%d.%m.%Y}",
             f"Leistungszeitraum: {invoice.period_start:%d.%m.%Y} – {invoice.period_end:%d.%m.%Y}"]
    if invoice.corrects is not None:
        facts.append(f"Korrektur zu Rechnung {invoice.corrects[0]} vom {invoice.corrects[1]:%d.%m.%Y}")
    story = [Paragraph(_address(invoice.seller), styles["normal"]), Spacer(1, 8 * mm),
             Paragraph(_address(invoice.buyer), styles["normal"]), Spacer(1, 8 * mm),
             Paragraph(f"{title} {escape(invoice.number)}", styles["title"]),
             *(Paragraph(escape(fact), styles["normal"]) for fact in facts), Spacer(1, 6 * mm)]
    rows = [["Pos.", "Leistung", "Menge", "Einzelpreis (netto)", "USt", "Netto"]]
    for position, line in enumerate(invoice.lines, 1):
        rows.append([str(position), Paragraph(escape(line.description), styles["normal"]),
                     f"{line.quantity.normalize():f}", euro(line.unit_net), rate_text(line.vat_rate),
                     euro(line.net)])
    table = Table(rows, colWidths=[12 * mm, 70 * mm, 16 * mm, 30 * mm, 16 * mm, 26 * mm], repeatRows=1)
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), regular),
                               ("FONTNAME", (0, 0), (-1, 0), bold),
                               ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                               ("ALIGN", (2, 1), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    sums = [["USt-Satz", "Netto", "USt", "Brutto"]]
    sums += [[rate_text(r.rate), euro(r.net), euro(r.vat), euro(r.net + r.vat)] for r in invoice.rates]
    sums.append(["Summe", euro(invoice.total_net), euro(invoice.total_vat), euro(invoice.total_gross)])
    totals = Table(sums, colWidths=[30 * mm] * 4, hAlign="RIGHT")
    totals.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), regular),
                                ("FONTNAME", (0, 0), (-1, 0), bold), ("FONTNAME", (0, -1), (-1, -1), bold),
                                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
                                ("ALIGN", (1, 0), (-1, -1), "RIGHT")]))
    story += [table, Spacer(1, 6 * mm), totals, Spacer(1, 6 * mm),
              Paragraph(f"Rechnungsbetrag: {euro(invoice.total_gross)}", styles["total"])]
    if invoice.debit is not None:
        debit = invoice.debit
        payment = (f"Wir ziehen den Betrag am {invoice.due_on:%d.%m.%Y} per SEPA-Lastschrift von Ihrem Konto "
                   f"{_masked(debit.payer_iban)} ein. Mandatsreferenz: {debit.mandate_reference}, "
                   f"Gläubiger-Identifikationsnummer: {debit.creditor_id}.")
    elif invoice.total_gross > 0:
        payment = f"Bitte überweisen Sie den Betrag bis zum {invoice.due_on:%d.%m.%Y}"
        payment += f" auf das Konto {invoice.payee_iban}." if invoice.payee_iban else "."
    else:
        payment = "Der Betrag wird mit Ihrer nächsten Rechnung verrechnet."
    story += [Paragraph(escape(payment), styles["normal"])]
    story += [Paragraph(escape(note), styles["normal"]) for note in invoice.notes]
    document.build(story)
    return out.getvalue()


def _masked(iban: str) -> str:
    return f"{iban[:4]} **** {iban[-4:]}" if len(iban) > 8 else iban


def render(invoice: EInvoice) -> bytes:
    """The printed invoice with its EN 16931 XML attached (Factur-X / ZUGFeRD)."""
    xml = cii_xml(invoice)
    return facturx.generate_from_binary(
        _page(invoice), xml, flavor="factur-x", level="en16931", check_xsd=True, lang="de-DE",
        pdf_metadata={"author": invoice.seller.name, "keywords": "Factur-X, Rechnung",
                      "title": invoice.number, "subject": f"Rechnung {invoice.number}"})


def xml_of(pdf: bytes) -> bytes:
    """The e-invoice XML attached to a PDF (checked against its schema on the way out)."""
    _name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    return xml


RULES = Path(facturx.__file__).parent / "xsd_and_schematron" / "facturx-en16931" / "FACTUR-X_EN16931.xslt"
_FAILED = re.compile(r'<svrl:failed-assert\b[^>]*?\bid="([^"]+)"')


def broken_rules(xml: bytes) -> list[str]:
    """The ids of the EN 16931 business rules the XML breaks (empty: it complies)."""
    with PySaxonProcessor(license=False) as processor:
        rules = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(RULES))
        report = rules.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode("utf-8")))
    return _FAILED.findall(report or "")
