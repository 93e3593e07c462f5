"""SEPA direct debits (B3): the rules of the scheme and the pain.008 file for the bank.

The file (pain.008.001.08, the version German banks use) is written here as text, laid out
as `sepaxml` lays it out (building it with sepaxml's element tree took seconds per
thousand debits), and validated against the ISO schema sepaxml ships, by lxml with the
schema parsed once per process. The scheme's rules around it:

- the creditor identifier is checked (ISO 7064 check digits, `python-stdnum`);
- names and texts are transliterated to the SEPA character set (ä → ae, ß → ss; anything
  other letters to their Latin spelling, anything else outside `a–z A–Z 0–9 ' : ? , - ( )
  + . /` and space becomes a space): sepaxml's own clean-up drops umlauts to their base
  letter;
- collection dates fall on TARGET2 business days (no weekends, no ECB closing days) at
  least the lead time after the file is made (D-1 for every sequence type);
- the sequence type is FRST for a mandate's first debit and RCUR afterwards; a mandate
  unused for 36 months has lapsed and may not be debited (a new mandate is needed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import holidays
import sepaxml
from flask_babel import gettext as _
from lxml import etree
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml.utils import make_id
from stdnum.eu import at_02
from text_unidecode import unidecode

from ..errors import DomainError, InvalidInput

SCHEMA = "pain.008.001.08"
LAPSES_AFTER_MONTHS = 36
_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                                  "ß": "ss", "&": "+", "_": "-", "\n": " ",
                                  "„": None, "“": None, "”": None, '"': None})
_NOT_SEPA = re.compile(r"[^a-zA-Z0-9':?,\-()+./ ]")
# Already in the set, single spaces, none at either end.
_SEPA_ONLY = re.compile(r"[a-zA-Z0-9':?,\-()+./]+(?: [a-zA-Z0-9':?,\-()+./]+)*")


class MandateLapsed(DomainError):
    code, status = "mandate_lapsed", 409


def sepa_text(value: str, limit: int) -> str:
    """`value` in the SEPA character set, at most `limit` characters."""
    text = str(value or "")
    if _SEPA_ONLY.fullmatch(text):  # nothing to change (ids, numbers, most texts)
        return text[:limit].rstrip()
    # Umlauts as German writes them, other letters to their usual Latin spelling (Æ → AE, ø → o).
    text = unidecode(text.translate(_TRANSLITERATION))
    text = re.sub(r"\s+", " ", _NOT_SEPA.sub(" ", text)).strip()
    return text[:limit].rstrip()


def creditor_id(value: str) -> str:
    """The creditor identifier, compact, or `InvalidInput` if its check digits are wrong."""
    if not value or not at_02.is_valid(value):
        raise InvalidInput("invalid_creditor_id", _("The SEPA creditor identifier %(id)s is not valid.",
                                                     id=value or "—"))
    return at_02.compact(value)


def iban(value: str) -> str:
    try:
        return IBAN(value).compact
    except SchwiftyException as exc:
        raise InvalidInput("invalid_iban", _("The IBAN %(iban)s is not valid.", iban=value or "—")) from exc


@lru_cache(maxsize=16)
def _closing_days(year: int) -> frozenset[date]:
    return frozenset(holidays.financial_holidays("XECB", years=year))


def is_business_day(day: date) -> bool:
    """A TARGET2 business day: Monday to Friday, not an ECB closing day."""
    return day.weekday() < 5 and day not in _closing_days(day.year)


def earliest_collection(made_on: date, lead_days: int = 1) -> date:
    """The first collection date a file made on `made_on` may ask for: `lead_days`
    business days later (D-1: the bank needs the file one business day ahead)."""
    day, left = made_on, lead_days
    while left > 0 or not is_business_day(day):
        day += timedelta(days=1)
        if is_business_day(day):
            left -= 1
    return day


def collection_date(due: date, made_on: date, lead_days: int = 1) -> date:
    """The invoice's due date, moved to the next business day and never earlier than the
    lead time allows."""
    day = max(due, earliest_collection(made_on, lead_days))
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def _months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month - (later.day < earlier.day)


def sequence_type(mandate_signed: date, last_collected: date | None, collect_on: date) -> str:
    """FRST for a mandate's first debit, RCUR afterwards; `MandateLapsed` when the mandate
    (or its last use) is more than 36 months before the collection."""
    last_use = last_collected or mandate_signed
    if _months_between(last_use, collect_on) >= LAPSES_AFTER_MONTHS:
        raise MandateLapsed(message=_("The mandate has not been used for 36 months and has lapsed; "
                                      "a new mandate is needed."))
    return "RCUR" if last_collected else "FRST"


@dataclass(frozen=True)
class Creditor:
    name: str
    iban: str
    bic: str | None
    creditor_id: str


@dataclass(frozen=True)
class Debit:
    """One collection: an invoice's amount from a partner's account under its mandate."""

    end_to_end_id: str          # the invoice number: shown on the partner's bank statement
    name: str
    iban: str
    bic: str | None
    mandate_reference: str
    mandate_date: date
    amount: Decimal
    collect_on: date
    sequence: str               # FRST or RCUR
    text: str                   # remittance information, e.g. "Rechnung PR-000123 11/2026"


def pain008(creditor: Creditor, debits: list[Debit], message_id: str) -> bytes:
    """The pain.008.001.08 file for `debits`, checked against the ISO schema: one payment
    information block (PmtInf) per sequence type and collection date, in the order of
    their first debit, as sepaxml lays them out."""
    if not debits:
        raise InvalidInput("no_debits", _("There is nothing to collect."))
    name = sepa_text(creditor.name, 70)
    creditor_iban, scheme_id = iban(creditor.iban), creditor_id(creditor.creditor_id)
    agent = f"<BICFI>{_x(creditor.bic)}</BICFI>" if creditor.bic else _NOT_PROVIDED
    batches: dict[tuple[str, date], list[str]] = {}
    totals: dict[tuple[str, date], int] = {}
    for debit in debits:
        amount_cents = int((debit.amount * 100).to_integral_value())
        if amount_cents <= 0:
            raise InvalidInput("invalid_amount", _("A direct debit needs a positive amount."))
        key = (debit.sequence, debit.collect_on)
        totals[key] = totals.get(key, 0) + amount_cents
        debtor_agent = f"<BICFI>{_x(debit.bic)}</BICFI>" if debit.bic else _NOT_PROVIDED
        batches.setdefault(key, []).append(
            f"<DrctDbtTxInf><PmtId><EndToEndId>{_x(sepa_text(debit.end_to_end_id, 35))}</EndToEndId></PmtId>"
            f'<InstdAmt Ccy="EUR">{_euros(amount_cents)}</InstdAmt><DrctDbtTx><MndtRltdInf>'
            f"<MndtId>{_x(sepa_text(debit.mandate_reference, 35))}</MndtId>"
            f"<DtOfSgntr>{debit.mandate_date.isoformat()}</DtOfSgntr></MndtRltdInf></DrctDbtTx>"
            f"<DbtrAgt><FinInstnId>{debtor_agent}</FinInstnId></DbtrAgt>"
            f"<Dbtr><Nm>{_x(sepa_text(debit.name, 70))}</Nm></Dbtr>"
            f"<DbtrAcct><Id><IBAN>{_x(debtor_iban(debit.iban))}</IBAN></Id></DbtrAcct>"
            f"<RmtInf><Ustrd>{_x(sepa_text(debit.text, 140))}</Ustrd></RmtInf></DrctDbtTxInf>")
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>'
             f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{SCHEMA}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><CstmrDrctDbtInitn><GrpHdr>'
             f"<MsgId>{_x(sepa_text(message_id, 35))}</MsgId>"
             f"<CreDtTm>{datetime.now().strftime('%Y-%m-%dT%H:%M:%S')}</CreDtTm>"
             f"<NbOfTxs>{len(debits)}</NbOfTxs><CtrlSum>{_euros(sum(totals.values()))}</CtrlSum>"
             f"<InitgPty><Nm>{_x(name)}</Nm><Id><OrgId><Othr><Id>{_x(scheme_id)}</Id></Othr></OrgId></Id>"
             f"</InitgPty></GrpHdr>"]
    for (sequence, collect_on), transactions in batches.items():
        parts.append(
            f"<PmtInf><PmtInfId>{_x(make_id(name))}</PmtInfId><PmtMtd>DD</PmtMtd><BtchBookg>true</BtchBookg>"
            f"<NbOfTxs>{len(transactions)}</NbOfTxs><CtrlSum>{_euros(totals[sequence, collect_on])}</CtrlSum>"
            f"<PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl><LclInstrm><Cd>CORE</Cd></LclInstrm>"
            f"<SeqTp>{_x(sequence)}</SeqTp></PmtTpInf><ReqdColltnDt>{collect_on.isoformat()}</ReqdColltnDt>"
            f"<Cdtr><Nm>{_x(name)}</Nm></Cdtr><CdtrAcct><Id><IBAN>{creditor_iban}</IBAN></Id></CdtrAcct>"
            f"<CdtrAgt><FinInstnId>{agent}</FinInstnId></CdtrAgt><ChrgBr>SLEV</ChrgBr>"
            f"<CdtrSchmeId><Id><PrvtId><Othr><Id>{_x(scheme_id)}</Id><SchmeNm><Prtry>SEPA</Prtry></SchmeNm>"
            f"</Othr></PrvtId></Id></CdtrSchmeId>")
        parts.extend(transactions)
        parts.append("</PmtInf>")
    parts.append("</CstmrDrctDbtInitn></Document>")
    xml = "".join(parts).encode()
    schema = _schema()
    if not schema.validate(etree.fromstring(xml)):
        raise DomainError("invalid_sepa_file", _("The SEPA file does not match its schema: %(error)s",
                                                 error=schema.error_log.last_error.message))
    return xml


_NOT_PROVIDED = "<Othr><Id>NOTPROVIDED</Id></Othr>"


def _x(value: str) -> str:
    return escape(str(value))


def _euros(amount_cents: int) -> str:
    return f"{amount_cents // 100}.{amount_cents % 100:02d}"


_IBAN_FORM = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}")
_LETTER_DIGITS = str.maketrans({chr(code): str(code - 55) for code in range(ord("A"), ord("Z") + 1)})


def debtor_iban(value: str) -> str:
    """A debtor's IBAN, compact, checked by its ISO 7064 check digits (what the payment
    profile stored was checked in full when it was entered; a file has tens of thousands)."""
    compact = re.sub(r"\s+", "", str(value or "")).upper()
    if _IBAN_FORM.fullmatch(compact) and int((compact[4:] + compact[:4]).translate(_LETTER_DIGITS)) % 97 == 1:
        return compact
    return iban(value)  # refused with the full check's message


@lru_cache(maxsize=1)
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(Path(sepaxml.__file__).parent / "schemas" / f"{SCHEMA}.xsd")))
