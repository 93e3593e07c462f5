"""Cell values as German and English files write them: `5,00` and `5.00`, `31.12.2026` and
`2026-12-31`, `ja`/`nein`. Each parser takes a column of stripped strings and returns the
parsed values and a mask of cells that could not be read ("" is missing, never wrong)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import pandas as pd
from flask_babel import lazy_gettext as _l

GERMAN_NUMBER = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$|^[+-]?\d+,\d+$")
PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$|^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
WHOLE_NUMBER = re.compile(r"[+-]?\d+")
TRUE = {"1", "ja", "j", "yes", "y", "true", "wahr", "x"}
FALSE = {"0", "nein", "n", "no", "false", "falsch", ""}

MESSAGES = {
    "decimal": _l("Not a number (write 5,00 or 5.00)."),
    "integer": _l("Not a whole number."),
    "date": _l("Not a date (write 31.12.2026 or 2026-12-31)."),
    "boolean": _l("Write ja/nein, yes/no, 1/0 or x."),
    "time": _l("Not a time of day (write 18:30)."),
}


def decimal_text(text: str) -> Decimal | None:
    """'1.234,56' → 1234.56, '5,00' → 5.00, '5.00' → 5.00; None when it is no number."""
    if GERMAN_NUMBER.match(text):
        text = text.replace(".", "").replace(",", ".")
    elif PLAIN_NUMBER.match(text):
        text = text.replace(",", "")
    else:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def parse_decimal(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    values = column.map(lambda t: decimal_text(t) if t else None)
    return values, (column != "") & values.isna()


def parse_integer(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    ok = column.str.fullmatch(WHOLE_NUMBER.pattern).fillna(False).astype(bool)
    values = pd.Series([int(t) if good else None
                        for t, good in zip(column.tolist(), ok.tolist(), strict=True)],
                       index=column.index, dtype=object)
    return values, (column != "") & ~ok


def parse_date(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    german = pd.to_datetime(column, format="%d.%m.%Y", errors="coerce")
    iso = pd.to_datetime(column, format="%Y-%m-%d", errors="coerce")
    stamps = german.fillna(iso)
    missing = stamps.isna()
    values = pd.Series(stamps.dt.date, index=column.index, dtype=object).where(~missing, None)
    return values, (column != "") & missing


def parse_boolean(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """True/False, and None for an empty cell (the kind decides its default)."""
    lowered = column.str.lower()
    truth = lowered.isin(TRUE)
    values = truth.astype(object).where(lowered != "", None)
    return values, ~(truth | lowered.isin(FALSE))


def parse_time(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    stamps = pd.to_datetime(column, format="%H:%M", errors="coerce").fillna(
        pd.to_datetime(column, format="%H:%M:%S", errors="coerce"))
    values = pd.Series([s.time() if not pd.isna(s) else None for s in stamps], index=column.index,
                       dtype=object)
    return values, (column != "") & stamps.isna()
