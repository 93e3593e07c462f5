"""What every kind of import has: its fields (with German and English header names), how a
chunk of rows is checked and written, and lookups of existing rows in batches."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY

from ..report import Report
from ..values import MESSAGES, parse_boolean, parse_date, parse_decimal, parse_integer, parse_time

PARSERS: dict[str, Callable] = {"decimal": parse_decimal, "integer": parse_integer, "date": parse_date,
                                "boolean": parse_boolean, "time": parse_time}
TYPED = "typed:"  # prefix of the columns that keep a parsed field's text as typed
IN_BATCH = 5000  # values per IN (...) list: below every backend's parameter limit
LOOKUP_BATCH = 50_000


@dataclass(frozen=True)
class Field:
    name: str
    aliases: tuple[str, ...] = ()
    type: str = "text"          # text, decimal, integer, date, boolean, time
    required: bool = False
    example: str = ""


def batched(values: list, size: int = IN_BATCH) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def lookup(session, columns, key_column, keys: Iterable) -> dict:
    """key → row for the existing rows whose `key_column` is one of `keys`.

    The keys travel as ONE parameter per batch (a JSON array on SQLite, an array on
    PostgreSQL): an IN list of thousands of bound values costs more to compile than to run.
    """
    found = {}
    if session.execute(select(key_column).where(key_column.is_not(None)).limit(1)).first() is None:
        return found  # nothing to match against (a first import into a fresh system)
    keys = list({k for k in keys if k not in (None, "")})
    postgres = session.get_bind().dialect.name == "postgresql"
    for batch in batched(keys, LOOKUP_BATCH):
        if postgres:
            condition = key_column == any_(bindparam("keys", batch, type_=ARRAY(key_column.type)))
        else:
            condition = key_column.in_(text("SELECT value FROM json_each(:keys)")
                                       .bindparams(keys=json.dumps(batch)).columns(value=key_column.type))
        for row in session.execute(select(*columns).where(condition)):
            found[row._mapping[key_column.key]] = row
    return found


class Kind:
    """One kind of import. Subclasses set `name`, `fields` and implement `process`."""

    name = ""
    fields: tuple[Field, ...] = ()
    # Fields of which at least one must be a column: how a row is matched on re-import.
    one_of: tuple[str, ...] = ()
    # Set by the runner before `prepare`: the file's column for each field, and the mode.
    column_of: dict[str, str] = {}
    dry_run = True

    def aliases(self) -> dict[str, list[str]]:
        return {f.name: list(f.aliases) for f in self.fields}

    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    def prepare(self, session, table, report: Report) -> None:
        """A look at the whole file before the chunks (e.g. the sponsor references)."""

    def process(self, session, frame: pd.DataFrame, report: Report, write: bool) -> None:
        raise NotImplementedError

    def finish(self, session, report: Report, write: bool) -> None:
        """After the last chunk, still inside the transaction."""

    def close(self) -> None:
        """Always called, before the transaction ends (e.g. to wait for a background write)."""

    # --- helpers for subclasses ---------------------------------------------------------

    def parse(self, frame: pd.DataFrame, report: Report, column_of: dict[str, str]) -> pd.DataFrame:
        """Typed values for the typed fields; unreadable cells go to the report."""
        for f in self.fields:
            if f.name not in frame.columns:
                continue
            if f.required and self.required_in_every_row(f.name):
                for line in frame.loc[frame[f.name] == "", "_line"]:
                    report.error(line, column_of[f.name], "", _("This field is required."))
            parser = PARSERS.get(f.type)
            if parser is None:
                continue
            values, bad = parser(frame[f.name])
            for line, value in zip(frame.loc[bad, "_line"], frame.loc[bad, f.name], strict=True):
                report.unreadable(line, column_of[f.name], value, MESSAGES[f.type])
            frame[TYPED + f.name] = frame[f.name]  # for reports: the value as it was typed
            frame[f.name] = values
        return frame

    def required_in_every_row(self, name: str) -> bool:
        """False where an empty cell can mean "keep the stored value" (updates)."""
        return True

    def template(self) -> tuple[list[str], list[str]]:
        """Header (English names; German ones are accepted too) and an example line."""
        return [f.name for f in self.fields], [f.example for f in self.fields]


def present(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column of the frame, or empty strings when the file does not have it."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([""] * len(frame), index=frame.index, dtype=object)
