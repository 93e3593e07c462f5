"""Articles, partners and vouchers: files of hundreds or thousands of rows, each row checked
by exactly the rules the Desk form and the API apply to the same record (`apply_rules`,
`check_voucher_record`), on the ORM object that is then written."""

from __future__ import annotations

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select

from backoffice.errors import DomainError
from backoffice.models import Address, Article, Partner, VatMode, Voucher, VoucherKind
from backoffice.rules import RuleViolations, apply_rules, email_key
from backoffice.services.voucher_rules import check_voucher_record

from ..report import Report
from .base import TYPED, Field, Kind, batched


class RecordKind(Kind):
    """Rows matched by `key` to existing records (updated) or created."""

    model = None
    key = ""
    unique: tuple[str, ...] = ()      # further fields that must not repeat inside the file
    fixed_choices: dict[str, dict[str, object]] = {}
    address_fields: dict[str, str] = {}   # a column naming an address → the id attribute it sets

    def _template_column(self, name: str) -> str:
        """A column the file lacks is named as the template names it ("MwSt"), not by its
        field's internal name."""
        for f in self.fields:
            if f.name in (name, name.removesuffix("_id")) and f.aliases:
                return f.aliases[0]
        return name

    def __init__(self):
        self.seen: dict[str, dict[object, int]] = {}

    def key_of(self, value) -> str:
        """The one form of the key used inside the file and against the database alike."""
        return str(value or "").strip()

    def required_in_every_row(self, name: str) -> bool:
        return name == self.key  # other required fields: only for new records

    def process(self, session, frame: pd.DataFrame, report: Report, write: bool) -> None:
        names = list(frame.columns)
        records = [dict(zip(names, row, strict=True))
                   for row in zip(*(frame[name].tolist() for name in names), strict=True)]
        key_column = getattr(self.model, self.key)
        existing = {}
        keys = sorted({self.key_of(r.get(self.key)) for r in records} - {""})
        for batch in batched(keys):
            for obj in session.execute(select(self.model).where(key_column.in_(batch))).scalars():
                existing[self.key_of(getattr(obj, self.key))] = obj
        for record in records:
            self._row(session, record, existing, report, write)
        if write and report.ok:
            session.flush()

    def _row(self, session, record, existing, report, write) -> None:
        line = record["_line"]
        if not self._first_in_file(record, line, report):
            return
        obj = existing.get(self.key_of(record.get(self.key)))
        is_new = obj is None
        if is_new:
            for f in self.fields:
                if f.required and f.name in record and record[f.name] in ("", None):
                    report.error(line, self.column_of[f.name], "", _("This field is required."))
        values = self.values(session, record, line, report, keep_empty=not is_new)
        if values is None or line in report.bad_lines:
            return
        if is_new:
            obj = self.model()
        with session.no_autoflush:
            for name, value in values.items():
                setattr(obj, name, value)
            try:
                self.check(session, obj)
            except RuleViolations as exc:
                for name, messages in exc.errors.items():
                    column = self.column_of.get(name.removesuffix("_id"), self.column_of.get(name)) \
                        or self._template_column(name)
                    field_name = name.removesuffix("_id") if name.removesuffix("_id") in record else name
                    shown = record.get(TYPED + field_name, record.get(field_name, ""))
                    for message in messages:
                        report.error(line, column, shown, message)
            except DomainError as exc:
                report.error(line, "", "", exc.message)
        if line in report.bad_lines:
            if not is_new:
                session.expire(obj)  # forget the refused values
            return
        if is_new:
            report.created += 1
            if write and report.ok:
                session.add(obj)
        elif session.is_modified(obj):
            report.updated += 1
            if not write:
                session.expire(obj)
        else:
            report.unchanged += 1

    def _first_in_file(self, record, line, report) -> bool:
        ok = True
        for name in (self.key, *self.unique):
            value = record.get(name)
            if value in (None, ""):
                continue
            value = self.key_of(value) if name == self.key else str(value).casefold()
            first = self.seen.setdefault(name, {}).setdefault(value, line)
            if first != line:
                report.error(line, self.column_of.get(name, name), record[name],
                             _("Appears already in line %(line)s.", line=first))
                ok = False
        return ok

    def values(self, session, record: dict, line: int, report: Report,
               keep_empty: bool = False) -> dict | None:
        """Model attribute values of a row; references resolved. None if the row is refused.
        `keep_empty` (an update): an empty cell keeps the stored value, as for addresses."""
        values = {}
        for f in self.fields:
            if f.name not in record:
                continue
            value = record[f.name]
            if keep_empty and value in ("", None):
                continue
            if f.name in self.fixed_choices and value:
                choice = self.fixed_choices[f.name].get(str(value).casefold())
                if choice is None:
                    report.error(line, self.column_of[f.name], value, _("Not one of: %(values)s.",
                                 values=", ".join(self.fixed_choices[f.name])))
                    return None
                value = choice
            if value == "":
                value = None
            if f.type == "boolean" and value is None:
                continue  # an empty cell keeps the default or the stored value
            values[f.name] = value
        for name, id_field in self.address_fields.items():
            reference = values.pop(name, None)
            if reference:
                values[id_field] = address_reference(session, reference)
                if values[id_field] is None:
                    report.error(line, self.column_of[name], reference,
                                 _("No address with this external key, e-mail or id."))
                    return None
        return values

    def check(self, session, obj) -> None:
        apply_rules(session, obj)


def address_reference(session, value: str) -> int | None:
    """An address named by external key, e-mail (compared as e-mail addresses are: IDN and
    punycode alike) or id (in that order)."""
    for column, wanted in ((Address.external_key, value), (Address.email, email_key(value))):
        found = session.execute(select(Address.id).where(column == wanted)).scalar()
        if found:
            return found
    if value.isdigit():
        return session.execute(select(Address.id).where(Address.id == int(value))).scalar()
    return None


class Articles(RecordKind):
    name = "articles"
    model = Article
    key = "article_no"
    fields = (
        Field("article_no", ("Artikelnummer", "Art.-Nr.", "Artikel-Nr", "Article number", "SKU"),
              required=True, example="NK-1001"),
        Field("name", ("Bezeichnung", "Artikelname", "Name"), required=True, example="Rosenöl 50 ml"),
        Field("gross_price", ("Bruttopreis", "Preis", "VK brutto", "Price"), type="decimal", required=True,
              example="24,90"),
        Field("vat_rate", ("MwSt", "MwSt-Satz", "USt", "Steuersatz", "VAT", "VAT rate"), example="19"),
        Field("discountable_by_absolute_vouchers", ("rabattfähig", "Gutschein-rabattfähig", "Discountable"),
              type="boolean", example="ja"),
        Field("active", ("aktiv", "Active"), type="boolean", example="ja"),
    )

    def values(self, session, record, line, report, keep_empty=False):
        values = super().values(session, record, line, report, keep_empty)
        if values is not None and values.get("vat_rate"):
            values["vat_rate"] = str(values["vat_rate"]).replace("%", "").replace(",", ".").strip()
        return values


class Partners(RecordKind):
    name = "partners"
    model = Partner
    key = "subdomain"
    unique = ("address", "mandate_reference")
    fields = (
        Field("address", ("Adresse", "Kundennummer", "Address", "address_key", "E-Mail"), required=True,
              example="ALT-100007"),
        Field("subdomain", ("Subdomain", "Partnerseite"), required=True, example="meier"),
        Field("notification_email", ("Benachrichtigungs-E-Mail", "Notification e-mail"),
              example="meier@example.org"),
        Field("time_zone", ("Zeitzone", "Time zone"), example="Europe/Berlin"),
        Field("available", ("verfügbar", "Available"), type="boolean", example="ja"),
        Field("profile_text", ("Profiltext", "Profile"), example="Naturkosmetik seit 2010"),
        Field("iban", ("IBAN",), example="DE89370400440532013000"),
        Field("bic", ("BIC",), example="COBADEFFXXX"),
        Field("mandate_reference", ("Mandatsreferenz", "Mandate reference"), example="M-2026-0001"),
        Field("mandate_date", ("Mandatsdatum", "Mandate date"), type="date", example="01.11.2026"),
    )

    address_fields = {"address": "address_id"}

    def key_of(self, value) -> str:
        return str(value or "").strip().lower()  # as `normalize_subdomain` stores it


class Vouchers(RecordKind):
    name = "vouchers"
    model = Voucher
    key = "external_key"
    fixed_choices = {
        "kind": {"single": VoucherKind.single, "einzelgutschein": VoucherKind.single,
                 "einzel": VoucherKind.single,
                 "permanent": VoucherKind.permanent, "dauergutschein": VoucherKind.permanent,
                 "dauer": VoucherKind.permanent},
        "vat_mode": {"proportional": VatMode.proportional, "anteilig": VatMode.proportional,
                     "fixed": VatMode.fixed, "fest": VatMode.fixed},
    }
    fields = (
        Field("external_key", ("Schlüssel", "Gutschein-Schlüssel", "Externer Schlüssel", "Key"),
              required=True, example="NEUKUNDE-5"),
        Field("name", ("Bezeichnung", "Name"), required=True, example="5 € für Neukunden"),
        Field("kind", ("Art", "Gutscheinart", "Kind"), example="Dauergutschein"),
        Field("amount", ("Betrag", "Wert", "Amount"), type="decimal", required=True, example="5,00"),
        Field("vat_mode", ("MwSt-Behandlung", "VAT mode"), example="anteilig"),
        Field("fixed_vat_rate", ("fester MwSt-Satz", "Fixed VAT rate"), type="decimal", example=""),
        Field("new_customers_only", ("nur Neukunden", "New customers only"), type="boolean", example="ja"),
        Field("min_order_value", ("Mindestbestellwert", "Minimum order value"), type="decimal",
              example="20,00"),
        Field("valid_from", ("gültig ab", "Valid from"), type="date", example="01.12.2026"),
        Field("valid_until", ("gültig bis", "Valid until"), type="date", example="31.12.2026"),
        Field("valid_on", ("gültig am", "Valid on"), type="date", example=""),
        Field("window_weekdays", ("Wochentage", "Weekdays"), example=""),
        Field("window_start", ("Zeitfenster von", "Window start"), type="time", example=""),
        Field("window_end", ("Zeitfenster bis", "Window end"), type="time", example=""),
        Field("max_total", ("Maximal gesamt", "Max total"), type="integer", example=""),
        Field("max_per_customer", ("Maximal je Kunde", "Max per customer"), type="integer", example="1"),
        Field("released_for_partner_codes", ("für Partnercodes freigegeben", "Released for partner codes"),
              type="boolean", example="ja"),
        Field("active", ("aktiv", "Active"), type="boolean", example="ja"),
        Field("for_customer", ("für Kunde", "For customer"), example=""),
    )

    address_fields = {"for_customer": "for_customer_id"}

    def check(self, session, obj) -> None:
        check_voucher_record(obj)
