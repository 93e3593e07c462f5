"""Numbers and dates as people type them in German or English: `1.234,56`, `10,00` and
`10.00` are amounts; `31.12.2027` and `2027-12-31` are days. Used by the Desk's forms and
by the search filters of the data interface; a text that is neither is refused (None), never
read as another number or day (dateutil would read `01.02.2027` as the 2nd of January)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import format_date, format_time, get_locale

from imports.values import decimal_text

from .timezones import viewer_time_zone

DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d")


def language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "de"


def moment_text(value: dt.datetime | None) -> str:
    """A moment in the viewer's time zone with a four-digit year: `31.12.2027, 14:05` in
    German, `Dec 31, 2027, 2:05 PM` in English (Babel's short form writes `31.12.27`)."""
    if value is None:
        return ""
    return f"{format_date(value, 'medium')}, {format_time(value, 'short')}"


def day_text(value: dt.date | None) -> str:
    """A day as people read it: `31.12.2027` in German, `Dec 31, 2027` in English."""
    return "" if value is None else format_date(value, "medium")


def month_text(value: dt.date | None) -> str:
    """A month: `Dezember 2027` in German, `December 2027` in English."""
    return "" if value is None else format_date(value, "MMMM y")


def parse_decimal(text: str | None) -> Decimal | None:
    """'1.234,56', '10,00' and '10.00' in either language; None when it is no number."""
    if not text:
        return None
    return decimal_text(text.strip().replace(" ", "").replace("\u00a0", ""))


def parse_date(text: str | None) -> dt.date | None:
    """'31.12.2027' or '2027-12-31' (four-digit years only); None when it is no date."""
    for pattern in DATE_FORMATS:
        try:
            return dt.datetime.strptime((text or "").strip(), pattern).date()
        except ValueError:
            continue
    return None


def filter_value(datamodel, column: str, value):
    """A search filter's typed text as the value its column holds (None when unreadable); a
    day typed for a timestamp column is the start of that day in the viewer's time zone."""
    if not isinstance(value, str) or "." in column:
        return value
    if datamodel.is_date(column):
        return parse_date(value)
    if datamodel.is_datetime(column):
        day = parse_date(value)
        if day is None:
            return None
        return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(viewer_time_zone()))
    if datamodel.is_numeric(column) or datamodel.is_float(column):
        return parse_decimal(value)
    return value
