"""Partner invoices as PDF with the EN 16931 e-invoice inside: what §14 UStG requires is
printed, the XML read back out of the PDF passes the schema and the business rules, and
its figures are the printed ones."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal as D

import pytest
from lxml import etree
from pypdf import PdfReader

from reports.einvoice import (
    CREDIT_NOTE,
    DirectDebit,
    EInvoice,
    Line,
    Party,
    RateSum,
    broken_rules,
    cii_xml,
    render,
    xml_of,
)

NS = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"}
SELLER = Party("Partnerdesk Vertriebs GmbH", "Musterstraße 1", "10115", "Berlin", vat_id="DE123456789")
BUYER = Party("Elektro Schulz", "Hauptstraße 5", "04109", "Leipzig", vat_id="DE811907980")


def november(**changes) -> EInvoice:
    values = dict(
        number="PR-000001", issued_on=date(2026, 12, 15), period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30), seller=SELLER, buyer=BUYER,
        lines=[Line("Anfrage 17 (Elektro), 03.11.2026", D("1"), D("12.00"), D("19"), D("12.00")),
               Line("Anfrage 25 (Elektro), 09.11.2026", D("1"), D("9.50"), D("19"), D("9.50"))],
        rates=[RateSum(D("19"), D("21.50"), D("4.09"))], due_on=date(2026, 12, 22),
        debit=DirectDebit("PD-0001", "DE98ZZZ09999999999", "DE02120300000000202051"))
    values.update(changes)
    return EInvoice(**values)


def text_of(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def amount(xml: bytes, path: str) -> D:
    return D(etree.fromstring(xml).findtext(path, namespaces=NS))


def test_the_printed_invoice_carries_what_the_law_requires():
    text = text_of(render(november()))
    for expected in ("Rechnung PR-000001", "Rechnungsdatum: 15.12.2026", "Leistungszeitraum: 01.11.2026",
                     "30.11.2026", "Partnerdesk Vertriebs GmbH", "USt-IdNr.: DE123456789", "Elektro Schulz",
                     "04109 Leipzig", "USt-IdNr.: DE811907980", "21,50 €", "4,09 €", "25,59 €", "19 %",
                     "Mandatsreferenz: PD-0001", "DE98ZZZ09999999999", "22.12.2026", "DE02 **** 2051"):
        assert expected in text, expected


def test_the_xml_inside_the_pdf_complies_and_matches_the_page():
    pdf = render(november())
    xml = xml_of(pdf)  # read back from the attachment, checked against the EN 16931 schema
    assert xml == cii_xml(november())
    assert broken_rules(xml) == []
    settlement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
    summation = f"{settlement}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    assert amount(xml, f"{summation}/ram:TaxBasisTotalAmount") == D("21.50")
    assert amount(xml, f"{summation}/ram:TaxTotalAmount") == D("4.09")
    assert amount(xml, f"{summation}/ram:GrandTotalAmount") == D("25.59")
    root = etree.fromstring(xml)
    assert root.findtext(f"{settlement}/ram:CreditorReferenceID", namespaces=NS) == "DE98ZZZ09999999999"
    assert root.findtext(f"{settlement}/ram:SpecifiedTradePaymentTerms/ram:DirectDebitMandateID",
                         namespaces=NS) == "PD-0001"


def test_wrong_figures_break_the_business_rules():
    wrong_vat = november(rates=[RateSum(D("19"), D("21.50"), D("5.09"))])  # 19 % of 21,50 is 4,09
    assert "BR-S-09" in broken_rules(cii_xml(wrong_vat))
    wrong_basis = november(rates=[RateSum(D("19"), D("21.00"), D("3.99"))])  # the lines add up to 21,50
    assert "BR-CO-13" in broken_rules(cii_xml(wrong_basis))


def test_a_credit_note_names_the_invoice_it_corrects():
    credit = november(number="PR-000007", type_code=CREDIT_NOTE, corrects=("PR-000001", date(2026, 12, 15)),
                      lines=[Line("Gutschrift Anfrage 25 (Reklamation angenommen)", D("1"), D("9.50"),
                                  D("19"), D("9.50"))],
                      rates=[RateSum(D("19"), D("9.50"), D("1.81"))], debit=None)
    pdf = render(credit)
    assert "Gutschrift PR-000007" in text_of(pdf)
    assert "Korrektur zu Rechnung PR-000001 vom 15.12.2026" in text_of(pdf)
    xml = xml_of(pdf)
    assert broken_rules(xml) == []
    assert etree.fromstring(xml).findtext("rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "381"


def test_an_xml_that_breaks_the_schema_is_refused():
    with pytest.raises(Exception):  # noqa: B017 - drafthorse raises its own validation errors
        cii_xml(november(number=""))
