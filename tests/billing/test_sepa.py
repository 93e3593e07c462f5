"""SEPA direct debits: the pain.008 file and the scheme's rules around it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from backoffice.errors import DomainError, InvalidInput
from backoffice.services.sepa import (
    Creditor,
    Debit,
    MandateLapsed,
    collection_date,
    creditor_id,
    earliest_collection,
    is_business_day,
    pain008,
    sepa_text,
    sequence_type,
)

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
COMPANY = Creditor("Partnerdesk Vertriebs GmbH", "DE89 3704 0044 0532 0130 00", None, "DE98ZZZ09999999999")


def debit(**changes) -> Debit:
    values = dict(end_to_end_id="PR-000001", name="Jürgen Weiß & Söhne", iban="DE02120300000000202051",
                  bic=None, mandate_reference="PD-0001", mandate_date=date(2026, 1, 5),
                  amount=Decimal("25.59"), collect_on=date(2026, 12, 22), sequence="FRST",
                  text="Rechnung PR-000001 November 2026")
    values.update(changes)
    return Debit(**values)


def test_the_file_is_schema_valid_and_adds_up():
    xml = pain008(COMPANY, [debit(), debit(end_to_end_id="PR-000002", amount=Decimal("119.00"),
                                         mandate_reference="PD-0002", sequence="RCUR")], "PD-20261215-1")
    root = etree.fromstring(xml)  # pain008 validated it against the ISO schema already
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:MsgId", namespaces=NS) == "PD-20261215-1"
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "2"
    assert root.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "144.59"
    sequences = sorted(root.xpath("//p:SeqTp/text()", namespaces=NS))
    assert sequences == ["FRST", "RCUR"]  # one batch per sequence type and date
    assert root.xpath("//p:Dbtr/p:Nm/text()", namespaces=NS)[0] == "Juergen Weiss + Soehne"
    assert root.xpath("//p:EndToEndId/text()", namespaces=NS) == ["PR-000001", "PR-000002"]


def test_names_and_texts_use_the_sepa_character_set():
    assert sepa_text("Müller-Lüdenscheidt GmbH & Co. KG", 70) == "Mueller-Luedenscheidt GmbH + Co. KG"
    assert sepa_text("Straße 5 – Hof „links“", 70) == "Strasse 5 - Hof links"
    assert sepa_text("Ångström Ærø", 70) == "Angstroem AEro"
    assert len(sepa_text("x" * 200, 140)) == 140


@pytest.mark.parametrize("value", ["DE98ZZZ09999999998", "DE00ZZZ09999999999", "", "XX"])
def test_a_wrong_creditor_identifier_is_refused(value):
    with pytest.raises(InvalidInput) as refused:
        creditor_id(value)
    assert refused.value.code == "invalid_creditor_id"
    with pytest.raises(InvalidInput):
        pain008(Creditor("Partnerdesk", "DE89370400440532013000", None, value), [debit()], "X-1")


def test_a_wrong_iban_or_an_empty_file_is_refused():
    with pytest.raises(InvalidInput):
        pain008(COMPANY, [debit(iban="DE02120300000000202052")], "X-1")
    with pytest.raises(InvalidInput):
        pain008(COMPANY, [], "X-1")


def test_collection_dates_fall_on_target2_business_days():
    assert not is_business_day(date(2026, 12, 25)) and not is_business_day(date(2026, 12, 26))
    assert not is_business_day(date(2027, 3, 26))  # Good Friday
    assert is_business_day(date(2026, 12, 24)) and is_business_day(date(2026, 12, 31))
    # A file made on Thursday 24 December: the next business day is Monday 28 December.
    assert earliest_collection(date(2026, 12, 24)) == date(2026, 12, 28)
    # Made on a Monday: Tuesday.
    assert earliest_collection(date(2026, 12, 14)) == date(2026, 12, 15)
    # A due date on a closing day moves to the next business day ...
    assert collection_date(date(2026, 12, 25), made_on=date(2026, 12, 15)) == date(2026, 12, 28)
    # ... and a due date too close to the file's day moves to the earliest allowed one.
    assert collection_date(date(2026, 12, 15), made_on=date(2026, 12, 15)) == date(2026, 12, 16)
    assert collection_date(date(2027, 1, 15), made_on=date(2026, 12, 15)) == date(2027, 1, 15)


def test_first_and_recurring_debits_and_a_lapsed_mandate():
    signed = date(2026, 1, 5)
    assert sequence_type(signed, None, date(2026, 2, 16)) == "FRST"
    assert sequence_type(signed, date(2026, 2, 16), date(2026, 3, 16)) == "RCUR"
    assert sequence_type(signed, date(2026, 2, 16), date(2029, 2, 15)) == "RCUR"  # a day short of 36 months
    with pytest.raises(MandateLapsed):
        sequence_type(signed, date(2026, 2, 16), date(2029, 2, 16))
    with pytest.raises(MandateLapsed):
        sequence_type(signed, None, date(2029, 1, 5))  # signed, never used, 36 months ago


def test_a_file_that_breaks_the_schema_is_refused():
    """The schema is checked on every file: an empty mandate reference (MndtId needs 1 to 35
    characters) makes no file."""
    with pytest.raises(DomainError) as refused:
        pain008(COMPANY, [debit(mandate_reference="   ")], "PD-20261215-2")
    assert refused.value.code == "invalid_sepa_file"
    assert refused.value.message == (
        "The SEPA file does not match its schema: Element '{urn:iso:std:iso:20022:tech:xsd:pain.008.001.08}"
        "MndtId': [facet 'minLength'] The value has a length of '0'; this underruns the allowed minimum "
        "length of '1'.")
