"""German and English input and output in every Desk list and form.

FAB's generated forms read decimals with `Decimal(text)` and dates with `%Y-%m-%d`: a German
`10,00` or `31.12.2027` was refused, and its search filters handed `1.234,56` to the database
and read `01.02.2027` as the 2nd of January. Here the forms' decimal and date fields, the
search filters and the list and show pages speak the UI language: `1.234,56`, `10,00` and
`10.00` are the same amount; `31.12.2027` and `2027-12-31` the same day; a value that is
neither is refused at its field, never turned into another number or date. The date picker
shows and writes the format of the UI language (`backoffice/static/partnerdesk/desk.js`).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal

import sqlalchemy as sa
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import DateField, DecimalField
from wtforms.fields.core import UnboundField
from wtforms.widgets import html_params

from imports.values import MESSAGES

from ..errors import InvalidInput
from ..local_values import language, parse_date, parse_decimal
from ..rules import countries

PICKER_FORMATS = {"de": "dd.mm.yyyy", "en": "yyyy-mm-dd"}
NO_CHOICE = _l("— none —")


def date_text(value: dt.date | None) -> str:
    """A date as the date picker of the UI language writes it."""
    if value is None:
        return ""
    return value.strftime("%d.%m.%Y") if language() == "de" else value.isoformat()


def decimal_text_of(value: Decimal | None) -> str:
    """A decimal as a person of the UI language types it: `1.234,50` / `1,234.50`."""
    return "" if value is None else format_decimal(value, format="#,##0.00##")


class LocalDatePicker:
    """FAB's date picker writes the field's raw data (an ISO date); this one its local text."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("name", field.name)
        picker = PICKER_FORMATS.get(language(), PICKER_FORMATS["en"])
        return Markup(
            '<div class="input-group date local_date" data-local-format="{}"'
            ' data-local-language="{}"><span class="input-group-addon">'
            '<i class="fa fa-calendar cursor-hand"></i></span><input class="form-control" {}/></div>'
        ).format(picker, language(), Markup(html_params(type="text", value=field._value(), **kwargs)))


class _Parsed:
    """A field that reads its text with `parse` and shows its data with `show`; a text that
    `parse` cannot read is refused with `message`."""

    parse = staticmethod(lambda text: None)
    show = staticmethod(str)
    message = ""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        self.data = self.parse(valuelist[0])
        if self.data is None:
            raise ValueError(str(MESSAGES[self.message]))

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.show(self.data)


class LocalDecimalField(_Parsed, DecimalField):
    # Text, not `type=number`: a browser's number input refuses `1.234,56`.
    widget = BS3TextFieldWidget()
    parse, show, message = staticmethod(parse_decimal), staticmethod(decimal_text_of), "decimal"


class LocalDateField(_Parsed, DateField):
    widget = LocalDatePicker()
    parse, show, message = staticmethod(parse_date), staticmethod(date_text), "date"


def rate_choice(value):
    """Coerce of a VAT rate select: `19`, `19,00` or `19.00`; garbage is a wrong choice, not a 500."""
    if value is None or value == "" or isinstance(value, Decimal):
        return value or None
    rate = parse_decimal(str(value))
    if rate is None:
        raise ValueError(value)
    return rate


def localized(form_cls):
    """The form with its decimal and date fields replaced by the local ones, and an optional
    relation's empty choice named (wtforms shows an empty label as its value, `__None`)."""
    for name, value in list(vars(form_cls).items()):
        if not isinstance(value, UnboundField):
            continue
        if issubclass(value.field_class, QuerySelectField) and not value.kwargs.get("blank_text"):
            value.kwargs["blank_text"] = NO_CHOICE
            continue
        kwargs = {k: v for k, v in value.kwargs.items() if k not in ("widget", "format", "places")}
        if issubclass(value.field_class, DecimalField) and value.field_class is not LocalDecimalField:
            setattr(form_cls, name, UnboundField(LocalDecimalField, *value.args, **kwargs))
        elif value.field_class is DateField:
            setattr(form_cls, name, UnboundField(LocalDateField, *value.args, **kwargs))
    return form_cls


def local_date(value):
    return "" if value is None else format_date(value, "medium")


def local_number(value):
    return "" if value is None else format_decimal(value)


def country_name(code):
    return countries().get(code, code) if code else ""


def file_name(title) -> str:
    """An ASCII file name from a (translated) title: "Adressen" → "adressen"."""
    text = str(title).lower()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "export"


def _automatic_formatter(datamodel, column: str):
    if column == "country" or column.endswith(".country"):
        return country_name
    try:
        column_type = datamodel.list_columns[column].type
    except (KeyError, AttributeError):
        return None
    if isinstance(column_type, sa.Date) and not isinstance(column_type, sa.DateTime):
        return local_date
    if isinstance(column_type, sa.Numeric):
        return local_number
    return None


class LocalizedMixin:
    """Forms, search filters, lists and show pages in the UI language (see the module)."""

    def _init_properties(self):
        super()._init_properties()
        shown = {*self.list_columns, *(self.show_columns or ())}
        automatic = {}
        for column in shown:
            formatter = _automatic_formatter(self.datamodel, column)
            if formatter is not None:
                automatic[column] = formatter
        self.formatters_columns = {**automatic, **self.formatters_columns}

    def _init_forms(self):
        super()._init_forms()
        for name in ("add_form", "edit_form", "search_form"):
            form = getattr(self, name, None)
            if form is not None:
                localized(form)


__all__ = ["LocalizedMixin", "country_name", "file_name", "local_date", "local_number", "localized"]


def form_amount(raw, field: str, *, required: bool = True):
    """A money amount typed into a hand-written form ('1.234,56 €', '1234.56'); None for an
    empty optional one; `InvalidInput` at the field for anything else."""
    text = str(raw or "").replace("€", "").strip()
    if not text and not required:
        return None
    value = parse_decimal(text)
    if value is None:
        message = _("Write the amount as 1.234,56 or 1234.56.")
        raise InvalidInput("invalid_amount", message, fields={field: [message]})
    return value


def form_date(raw, field: str):
    """A date typed into a hand-written form ('31.12.2026' or '2026-12-31')."""
    value = parse_date(raw)
    if value is None:
        message = _("Write the date as 31.12.2026.")
        raise InvalidInput("invalid_date", message, fields={field: [message]})
    return value
