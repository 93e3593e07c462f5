"""Payments from a bank statement: the CSV a German bank exports (`Buchungstag;
Verwendungszweck;Betrag` with decimal commas, in whatever encoding and separator), each
incoming amount matched to partner invoices by the invoice number in its purpose.

- **Matching.** `PR-000123` (also `PR 123`, `pr000123`) in the purpose names the invoice.
  One number: the amount is recorded against it if it is not more than is open. Several
  numbers: recorded only when the amount is exactly what is open on all of them together
  (each gets its open amount). Anything else is left for a person, with the reason.
- **Once.** Every line has a bank reference: the file's own (`Bankreferenz`, `Referenz`,
  …) or else a fingerprint of date, purpose, amount and payer with the number of the same
  line seen before in the file. A unique index on the payment's reference makes importing
  the same statement again (or an overlapping one) record nothing twice.
- **Dry run.** The same code decides every line and writes nothing; the report is the
  same that the import would give.

The CSV is read by the imports' reader (`imports.reading`: encoding, separator, header
names in German or English, rows with a wrong number of fields refused as a whole). A
CAMT.053 statement (the ISO 20022 XML banks offer next to CSV, any version) is read too:
one line per booked entry (per transaction where an entry carries several), numbered as
the statement lists them, with the bank's reference (`AcctSvcrRef`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from flask_babel import format_currency
from flask_babel import gettext as _
from lxml import etree
from sqlalchemy import select

from imports.reading import FileProblem, open_table
from imports.values import decimal_text

from ..models import Invoice, InvoiceKind, InvoiceSeries, Payment
from .direct_debits import open_amounts, record_transfer
from .money import ZERO, cents

ALIASES = {
    "date": ["Buchungstag", "Buchungsdatum", "Datum", "Booking date"],
    "purpose": ["Verwendungszweck", "Zweck", "Purpose", "Remittance information"],
    "amount": ["Betrag", "Betrag (EUR)", "Betrag in EUR", "Umsatz", "Amount"],
    "payer": ["Beguenstigter/Zahlungspflichtiger", "Auftraggeber", "Zahlungspflichtiger",
              "Name Zahlungsbeteiligter", "Auftraggeber/Empfänger", "Payer", "Name"],
    "reference": ["Bankreferenz", "Buchungsreferenz", "Referenz", "Transaktions-ID", "Transaction ID"],
}
REQUIRED = ["date", "purpose", "amount"]
NUMBER = re.compile(r"\bPR[\s\-_/]?0*(\d{1,9})\b", re.IGNORECASE)
NO_REFERENCE = {"", "notprovided", "nichtangegeben", "keine"}
DATE_FORMATS = ("%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d")

MATCHED, ALREADY, UNMATCHED, UNREADABLE = "matched", "already", "unmatched", "unreadable"


@dataclass
class StatementLine:
    line: int
    booked_on: date | None
    amount: Decimal | None
    purpose: str
    payer: str
    bank_reference: str
    status: str = UNMATCHED
    message: str = ""
    invoices: list[str] = field(default_factory=list)
    shares: list[tuple[int, int, Decimal]] = field(default_factory=list)  # number, invoice id, amount

    def numbers(self) -> list[int]:
        return sorted({int(n) for n in NUMBER.findall(self.purpose)})

    def references(self) -> list[str]:
        """The payments' bank references: the line's own, or one per invoice it pays."""
        numbers = self.numbers()
        return [self.reference_for(n, len(numbers)) for n in numbers] or [self.bank_reference]

    def reference_for(self, number: int, count: int) -> str:
        return self.bank_reference if count <= 1 else f"{self.bank_reference[:70]}#{number}"


@dataclass
class StatementImport:
    dry_run: bool
    lines: list[StatementLine] = field(default_factory=list)
    payments: int = 0

    def count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)

    @property
    def matched_total(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.status == MATCHED), ZERO)


def _date(text: str) -> date | None:
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _amount(text: str) -> Decimal | None:
    text = re.sub(r"\s*(EUR|€)$", "", text.strip(), flags=re.IGNORECASE).replace(" ", "")
    value = decimal_text(text)
    return cents(value) if value is not None else None


def _fingerprint(booked: str, purpose: str, amount: str, payer: str, seen: int) -> str:
    text = "\x1f".join((booked, " ".join(purpose.split()), amount, " ".join(payer.split()), str(seen)))
    return "L:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def read_lines(path: Path | str, mapping: dict[str, str] | None = None) -> list[StatementLine]:
    """The statement's lines, each with its bank reference; unreadable rows marked so."""
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip(b"\xef\xbb\xbf \r\n\t")
    if head.startswith(b"<"):
        return read_camt(path)
    table = open_table(path, ALIASES, REQUIRED, mapping)
    lines: list[StatementLine] = []
    seen: dict[str, int] = {}

    def bad_row(line: int, shown: str, message: str) -> None:
        lines.append(StatementLine(line, None, None, shown, "", "", UNREADABLE, message))

    for chunk in table.chunks(bad_row=bad_row):
        for row in chunk.to_dict("records"):
            booked, amount = row["date"], row["amount"]
            purpose, payer = row["purpose"], row.get("payer", "")
            reference = row.get("reference", "")
            if "".join(reference.split()).casefold() in NO_REFERENCE:
                key = "\x1f".join((booked, " ".join(purpose.split()), amount, " ".join(payer.split())))
                seen[key] = seen.get(key, 0) + 1
                reference = _fingerprint(booked, purpose, amount, payer, seen[key])
            line = StatementLine(row["_line"], _date(booked), _amount(amount), purpose, payer, reference[:80])
            if line.booked_on is None or line.amount is None:
                line.status = UNREADABLE
                line.message = (_("The date %(value)s cannot be read (write 31.12.2026).", value=booked)
                                if line.booked_on is None else
                                _("The amount %(value)s cannot be read (write 1.234,56).", value=amount))
            lines.append(line)
    return sorted(lines, key=lambda line: line.line)


def _xml_text(element, path: str) -> str:
    found = element.xpath(path)
    return " ".join(" ".join(str(v) for v in found).split()) if found else ""


def read_camt(path: Path | str) -> list[StatementLine]:
    """The booked entries of a CAMT.053 statement (namespace and version aside)."""
    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except etree.XMLSyntaxError as exc:
        raise FileProblem(_("This XML file cannot be read: %(reason)s", reason=str(exc))) from exc
    for element in root.iter(etree.Element):
        element.tag = etree.QName(element).localname  # any CAMT version: names without namespace
    entries = root.xpath("//Ntry")
    if not entries:
        raise FileProblem(_("This is no CAMT.053 bank statement: it has no entries (Ntry)."))
    lines, seen = [], {}
    for number, entry in enumerate(entries, 1):
        sign = -1 if _xml_text(entry, "CdtDbtInd/text()") == "DBIT" else 1
        booked = _xml_text(entry, "BookgDt/*/text()")[:10]
        reference = _xml_text(entry, "AcctSvcrRef/text()")
        details = entry.xpath("NtryDtls/TxDtls") or [entry]
        for part, detail in enumerate(details, 1):
            several = len(details) > 1
            amount = (_xml_text(detail, "AmtDtls/TxAmt/Amt/text()") if several else "") or \
                _xml_text(entry, "Amt/text()")
            purpose = _xml_text(detail, ".//RmtInf/Ustrd/text()")
            payer = _xml_text(detail, ".//RltdPties/Dbtr//Nm/text()")
            own = f"{reference}/{part}" if reference and several else reference
            if not own:
                key = "\x1f".join((booked, purpose, str(sign) + amount, payer))
                seen[key] = seen.get(key, 0) + 1
                own = _fingerprint(booked, purpose, str(sign) + amount, payer, seen[key])
            value = decimal_text(amount)
            line = StatementLine(number, _date(booked), cents(sign * value) if value is not None else None,
                                 purpose, payer, own[:80])
            if line.booked_on is None or line.amount is None:
                line.status = UNREADABLE
                line.message = _("The entry has no booking date or amount.")
            lines.append(line)
    return lines


def _money(value: Decimal) -> str:
    return format_currency(value, "EUR")


def import_statement(session, path: Path | str, *, dry_run: bool, user_id: int | None = None,
                     mapping: dict[str, str] | None = None) -> StatementImport:
    """Match the statement's incoming amounts to partner invoices and (unless `dry_run`)
    record them as transfers; the caller commits. The report names every line's outcome."""
    result = StatementImport(dry_run)
    result.lines = read_lines(path, mapping)
    readable = [line for line in result.lines if line.status != UNREADABLE]
    known = set(session.execute(select(Payment.bank_reference).where(
        Payment.bank_reference.in_([ref for line in readable for ref in line.references()]))).scalars())
    numbers = {n for line in readable for n in line.numbers()}
    invoices = {number: (invoice_id, kind) for invoice_id, number, kind in session.execute(
        select(Invoice.id, Invoice.number, Invoice.kind).where(
            Invoice.series == InvoiceSeries.partner, Invoice.number.in_(numbers)))}
    still_open = open_amounts(session, [invoice_id for invoice_id, _kind in invoices.values()])
    in_file: set[str] = set()
    for line in readable:
        if known.intersection(line.references()) or line.bank_reference in in_file:
            line.status, line.message = ALREADY, _("Imported before: recorded once.")
            continue
        in_file.add(line.bank_reference)
        _decide(line, invoices, still_open)
        if line.status != MATCHED or dry_run:
            continue
        for number, invoice_id, amount in line.shares:
            if amount > 0:
                record_transfer(session, invoice_id, amount, line.booked_on, line.purpose, user_id,
                                bank_reference=line.reference_for(number, len(line.shares)))
                result.payments += 1
    if not dry_run:
        session.flush()
    return result


def _decide(line: StatementLine, invoices: dict, still_open: dict[int, Decimal]) -> None:
    """Match the line or say why not; a match takes its amounts off `still_open`."""
    found = line.numbers()
    line.invoices = [Invoice.format_number(n, InvoiceSeries.partner) for n in found]
    if line.amount <= 0:
        line.message = _("Not an incoming payment.")
        return
    if not found:
        line.message = _("No invoice number (PR-…) in the purpose.")
        return
    unknown = [name for n, name in zip(found, line.invoices, strict=True) if n not in invoices]
    if unknown:
        line.message = _("There is no partner invoice %(numbers)s.", numbers=", ".join(unknown))
        return
    credit = [name for n, name in zip(found, line.invoices, strict=True)
              if invoices[n][1] != InvoiceKind.invoice]
    if credit:
        line.message = _("%(numbers)s is a credit note, not an invoice.", numbers=", ".join(credit))
        return
    left = sum((still_open[invoices[n][0]] for n in found), ZERO)
    if left <= 0:
        line.message = _("%(numbers)s is paid already.", numbers=", ".join(line.invoices))
        return
    if len(found) == 1 and line.amount > left:
        line.message = _("%(amount)s is more than the %(open)s open on %(number)s.",
                         amount=_money(line.amount), open=_money(left), number=line.invoices[0])
        return
    if len(found) > 1 and line.amount != left:
        line.message = _("%(amount)s is not the %(open)s open on %(numbers)s together.",
                         amount=_money(line.amount), open=_money(left), numbers=", ".join(line.invoices))
        return
    line.shares = ([(found[0], invoices[found[0]][0], line.amount)] if len(found) == 1
                   else [(n, invoices[n][0], still_open[invoices[n][0]]) for n in found])
    for _number, invoice_id, amount in line.shares:
        still_open[invoice_id] -= amount
    line.status = MATCHED
    line.message = _("Recorded for %(numbers)s.", numbers=", ".join(line.invoices))
