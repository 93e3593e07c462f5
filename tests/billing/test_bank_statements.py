"""A bank statement as German banks export it (Windows-1252, `;`, decimal commas) is matched
to partner invoices by the number in the purpose: a dry run first, then the import; what
cannot be matched is listed with its reason; importing it again records nothing twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import Payment
from backoffice.services import bank_statements
from backoffice.services.direct_debits import open_amounts

STATEMENT = """Buchungstag;Valutadatum;Beguenstigter/Zahlungspflichtiger;Verwendungszweck;Betrag;Waehrung
22.12.2026;22.12.2026;Meier GmbH;Rechnung PR-000002 Dezember;13,80;EUR
23.12.26;23.12.2026;Schulz Elektro;RE pr 1 nach Rücklastschrift;119,00;EUR
23.12.2026;23.12.2026;Unbekannt;Spende;50,00;EUR
24.12.2026;24.12.2026;Huber;PR-000003;11,90;EUR
24.12.2026;24.12.2026;X;PR-000099;5,00;EUR
27.12.2026;27.12.2026;Bank;Kontoführung;-4,90;EUR
28.12.2026;28.12.2026;Meier GmbH;PR-000002 nochmal;1,00;EUR
28.12.2026;28.12.2026;Meier GmbH;PR-000002;zwölf;EUR
29.12.2026;29.12.2026;Kunde;Text mit;Semikolon;1,00;EUR
"""

EXPECTED = [
    (2, "matched", "Erfasst für PR-000002."),
    (3, "matched", "Erfasst für PR-000001."),
    (4, "unmatched", "Keine Rechnungsnummer (PR-…) im Verwendungszweck."),
    (5, "unmatched", "PR-000003 ist eine Gutschrift, keine Rechnung."),
    (6, "unmatched", "Es gibt keine Partnerrechnung PR-000099."),
    (7, "unmatched", "Kein Zahlungseingang."),
    (8, "unmatched", "PR-000002 ist schon bezahlt."),
    (9, "unreadable", "Der Betrag zwölf ist nicht lesbar (schreiben Sie 1.234,56)."),
    (10, "unreadable", "Diese Zeile hat 7 Felder, die Kopfzeile 6: Steht ein Trennzeichen in einem Wert "
                       "ohne Anführungszeichen?"),
]


def statement_file(tmp_path, text=STATEMENT, name="umsaetze.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("cp1252"))
    return path


def outcome(report):
    return [(line.line, line.status, line.message) for line in report.lines]


def transfers(ctx):
    ctx.rollback()
    return ctx.execute(sa.select(Payment.invoice_id, Payment.amount, Payment.paid_on)
                       .where(Payment.bank_reference.is_not(None)).order_by(Payment.id)).all()


def test_dry_run_import_and_import_again(ctx, month, tmp_path):
    path = statement_file(tmp_path)
    dry = bank_statements.import_statement(ctx, path, dry_run=True)
    assert outcome(dry) == EXPECTED
    assert (dry.count("matched"), dry.matched_total, dry.payments) == (2, D("132.80"), 0)
    assert transfers(ctx) == []

    with transaction.unit_of_work(ctx):
        done = bank_statements.import_statement(ctx, path, dry_run=False)
    assert outcome(done) == EXPECTED and done.payments == 2
    assert transfers(ctx) == [(month["meier_invoice"], D("13.80"), date(2026, 12, 22)),
                              (month["schulz_invoice"], D("119.00"), date(2026, 12, 23))]
    assert open_amounts(ctx, [month["meier_invoice"], month["schulz_invoice"]]) == {
        month["meier_invoice"]: D("0.00"), month["schulz_invoice"]: D("0.00")}

    with transaction.unit_of_work(ctx):
        again = bank_statements.import_statement(ctx, path, dry_run=False)
    assert [(line.line, line.status) for line in again.lines][:2] == [(2, "already"), (3, "already")]
    assert again.lines[0].message == "Schon einmal importiert: nur einmal erfasst."
    assert again.payments == 0 and len(transfers(ctx)) == 2


def test_one_transfer_for_two_invoices_and_the_same_line_twice(ctx, month, tmp_path):
    text = ("Buchungsdatum;Verwendungszweck;Betrag;Bankreferenz\n"
            "2026-12-22;PR-000001, PR-000002;132,80;BANK-REF-1\n"
            "2026-12-22;PR-000001, PR-000002;132,80;BANK-REF-1\n"
            "2026-12-23;PR-000002;1.234,56;BANK-REF-2\n")
    with transaction.unit_of_work(ctx):
        report = bank_statements.import_statement(ctx, statement_file(tmp_path, text), dry_run=False)
    assert outcome(report) == [
        (2, "matched", "Erfasst für PR-000001, PR-000002."),
        (3, "already", "Schon einmal importiert: nur einmal erfasst."),
        (4, "unmatched", "PR-000002 ist schon bezahlt.")]
    assert sorted(transfers(ctx)) == sorted([(month["schulz_invoice"], D("119.00"), date(2026, 12, 22)),
                                             (month["meier_invoice"], D("13.80"), date(2026, 12, 22))])


def test_more_than_is_open_is_left_for_a_person(ctx, month, tmp_path):
    text = ("Datum;Verwendungszweck;Betrag\n22.12.2026;PR-000002;20,00\n"
            "22.12.2026;PR-000001 PR-000002;100,00\n")
    report = bank_statements.import_statement(ctx, statement_file(tmp_path, text), dry_run=True)
    assert outcome(report) == [
        (2, "unmatched", "20,00\xa0€ ist mehr als die 13,80\xa0€, die auf PR-000002 offen sind."),
        (3, "unmatched", "100,00\xa0€ ist nicht der Betrag von 132,80\xa0€, der auf PR-000001, PR-000002 "
                         "zusammen offen ist.")]


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt><GrpHdr><MsgId>STMT-1</MsgId><CreDtTm>2026-12-29T06:00:00</CreDtTm></GrpHdr>
  <Stmt><Id>1</Id>
   <Ntry><Amt Ccy="EUR">13.80</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-12-22</Dt></BookgDt><AcctSvcrRef>2026122200017</AcctSvcrRef>
    <NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>Meier GmbH</Nm></Pty></Dbtr></RltdPties>
     <RmtInf><Ustrd>Rechnung PR-000002</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
   <Ntry><Amt Ccy="EUR">4.90</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-12-27</Dt></BookgDt><AcctSvcrRef>2026122700003</AcctSvcrRef>
    <NtryDtls><TxDtls><RmtInf><Ustrd>Kontofuehrung PR-000001</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
   <Ntry><Amt Ccy="EUR">169.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-12-28</Dt></BookgDt><AcctSvcrRef>2026122800009</AcctSvcrRef>
    <NtryDtls>
     <TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">119.00</Amt></TxAmt></AmtDtls>
      <RmtInf><Ustrd>PR-000001 Schulz</Ustrd></RmtInf></TxDtls>
     <TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">50.00</Amt></TxAmt></AmtDtls>
      <RmtInf><Ustrd>Spende</Ustrd></RmtInf></TxDtls>
    </NtryDtls></Ntry>
  </Stmt></BkToCstmrStmt></Document>
"""


def test_a_camt053_statement_is_read_too(ctx, month, tmp_path):
    path = tmp_path / "auszug.xml"
    path.write_text(CAMT, encoding="utf-8")
    with transaction.unit_of_work(ctx):
        report = bank_statements.import_statement(ctx, path, dry_run=False)
    assert [(line.line, line.amount, line.payer, line.status, line.message) for line in report.lines] == [
        (1, D("13.80"), "Meier GmbH", "matched", "Erfasst für PR-000002."),
        (2, D("-4.90"), "", "unmatched", "Kein Zahlungseingang."),
        (3, D("119.00"), "", "matched", "Erfasst für PR-000001."),
        (3, D("50.00"), "", "unmatched", "Keine Rechnungsnummer (PR-…) im Verwendungszweck.")]
    assert [line.bank_reference for line in report.lines] == [
        "2026122200017", "2026122700003", "2026122800009/1", "2026122800009/2"]
    with transaction.unit_of_work(ctx):
        again = bank_statements.import_statement(ctx, path, dry_run=False)
    assert again.payments == 0 and again.count("already") == 2 and len(transfers(ctx)) == 2
