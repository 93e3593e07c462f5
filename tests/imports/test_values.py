"""Cell values as German and English files write them: every accepted and refused spelling,
and the exact message a refused cell gets in the import report."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pandas as pd
import pytest
from flask_babel import force_locale

from backoffice.models import Voucher
from imports.kinds import KINDS
from imports.runner import run
from imports.values import (
    MESSAGES,
    parse_boolean,
    parse_date,
    parse_decimal,
    parse_integer,
    parse_time,
)


def parsed(parser, *cells):
    """[(value, refused)] per cell."""
    values, bad = parser(pd.Series(list(cells), dtype=object))
    return list(zip(values.tolist(), bad.tolist(), strict=True))


@pytest.mark.parametrize(("cell", "value"), [
    ("5,00", Decimal("5.00")), ("5.00", Decimal("5.00")), ("5", Decimal("5")),
    ("1.234,56", Decimal("1234.56")), ("1,234.56", Decimal("1234.56")), ("1.234.567", Decimal("1234567")),
    ("1,234", Decimal("1.234")),        # one comma, no dot: a German decimal comma
    ("-3,5", Decimal("-3.5")), ("+2.25", Decimal("2.25")), ("0,01", Decimal("0.01")),
    ("1.234", Decimal("1234")),         # a German thousands dot
    ("12.5", Decimal("12.5")),
])
def test_decimal_spellings(cell, value):
    [(got, refused)] = parsed(parse_decimal, cell)
    assert (got, refused) == (value, False) and str(got) == str(value)


@pytest.mark.parametrize("cell", ["abc", "5,00 €", "1.2.3", "1,2,3", "5.", ",5", "--1", "1 000", "1.23,4.5"])
def test_decimal_refusals(cell):
    assert parsed(parse_decimal, cell) == [(None, True)]


def test_an_empty_number_cell_is_missing_not_wrong():
    assert parsed(parse_decimal, "", "5") == [(None, False), (Decimal("5"), False)]


@pytest.mark.parametrize(("cell", "value", "refused"), [
    ("1", 1, False), ("0", 0, False), ("-2", -2, False), ("+3", 3, False), ("1000000", 1000000, False),
    ("1,5", None, True), ("1.0", None, True), ("eins", None, True), ("", None, False),
])
def test_integer_spellings(cell, value, refused):
    assert parsed(parse_integer, cell) == [(value, refused)]


@pytest.mark.parametrize(("cell", "value", "refused"), [
    ("31.12.2026", date(2026, 12, 31), False), ("2026-12-31", date(2026, 12, 31), False),
    ("01.02.2026", date(2026, 2, 1), False), ("1.2.2026", date(2026, 2, 1), False),
    ("29.02.2028", date(2028, 2, 29), False),
    ("29.02.2026", None, True), ("31/12/2026", None, True), ("12/31/2026", None, True),
    ("morgen", None, True), ("", None, False),
])
def test_date_spellings(cell, value, refused):
    assert parsed(parse_date, cell) == [(value, refused)]


@pytest.mark.parametrize(("cell", "value", "refused"), [
    ("18:30", time(18, 30), False), ("09:05", time(9, 5), False), ("9:05", time(9, 5), False),
    ("00:00", time(0, 0), False), ("23:59:59", time(23, 59, 59), False),
    ("24:00", None, True), ("18.30", None, True), ("halb sieben", None, True), ("", None, False),
])
def test_time_spellings(cell, value, refused):
    assert parsed(parse_time, cell) == [(value, refused)]


@pytest.mark.parametrize(("cell", "value"), [
    *[(word, True) for word in ("1", "ja", "j", "yes", "y", "true", "wahr", "x", "JA", "Yes", "X")],
    *[(word, False) for word in ("0", "nein", "n", "no", "false", "falsch", "NEIN", "No")],
    ("", None),   # empty: the kind decides its default
])
def test_boolean_spellings(cell, value):
    assert parsed(parse_boolean, cell) == [(value, False)]


@pytest.mark.parametrize("cell", ["vielleicht", "2", "-", "jein", "wahrscheinlich", "nope"])
def test_boolean_refusals(cell):
    assert parsed(parse_boolean, cell) == [(False, True)]


def test_a_column_keeps_its_rows_apart():
    assert parsed(parse_integer, "2", "", "x", "7") == [(2, False), (None, False), (None, True), (7, False)]
    assert parsed(parse_boolean, "ja", "", "nein", "?") == [(True, False), (None, False), (False, False),
                                                            (False, True)]


@pytest.mark.parametrize(("kind", "german", "english"), [
    ("decimal", "Keine Zahl (schreiben Sie 5,00 oder 5.00).", "Not a number (write 5,00 or 5.00)."),
    ("integer", "Keine ganze Zahl.", "Not a whole number."),
    ("date", "Kein Datum (schreiben Sie 31.12.2026 oder 2026-12-31).",
     "Not a date (write 31.12.2026 or 2026-12-31)."),
    ("boolean", "Schreiben Sie ja/nein, yes/no, 1/0 oder x.", "Write ja/nein, yes/no, 1/0 or x."),
    ("time", "Keine Uhrzeit (schreiben Sie 18:30).", "Not a time of day (write 18:30)."),
])
def test_messages_in_both_languages(app, kind, german, english):
    with app.test_request_context():
        with force_locale("de"):
            assert str(MESSAGES[kind]) == german
        with force_locale("en"):
            assert str(MESSAGES[kind]) == english


HEADER = "Schlüssel;Bezeichnung;Betrag;Maximal je Kunde;Maximal gesamt;Zeitfenster von;Zeitfenster bis;" \
         "nur Neukunden;gültig ab\n"


def test_a_voucher_file_imports_its_integers_times_and_yes_no_words(app, ctx, tmp_path):
    path = tmp_path / "vouchers.csv"
    path.write_text(HEADER + "ONCE;Einmal je Kunde;5,00;1;250;18:30;22:00;ja;01.12.2026\n"
                    "OPEN;Offen;1.234,50;;;;;nein;2026-12-31\n", encoding="utf-8")
    with app.test_request_context(), force_locale("en"):
        report = run(ctx, "vouchers", path, dry_run=False)
    assert report.errors == [] and report.written
    once = ctx.query(Voucher).filter_by(external_key="ONCE").one()
    assert (once.max_per_customer, once.max_total, once.window_start, once.window_end,
            once.new_customers_only, once.valid_from, once.amount) == \
        (1, 250, time(18, 30), time(22, 0), True, date(2026, 12, 1), Decimal("5.00"))
    open_ = ctx.query(Voucher).filter_by(external_key="OPEN").one()
    assert (open_.max_per_customer, open_.max_total, open_.window_start, open_.new_customers_only,
            open_.valid_from, open_.amount) == (None, None, None, False, date(2026, 12, 31),
                                                Decimal("1234.50"))


def test_refused_cells_are_reported_with_their_exact_message(app, ctx, tmp_path):
    path = tmp_path / "vouchers.csv"
    path.write_text(HEADER + "BAD;Falsch;fünf;1,5;viele;18.30;spät;vielleicht;31.13.2026\n", encoding="utf-8")
    with app.test_request_context(), force_locale("en"):
        report = run(ctx, "vouchers", path, dry_run=False)
        found = [(e.line, e.column, e.value, str(e.message)) for e in report.errors]
    assert found == [
        (2, "Betrag", "fünf", "Not a number (write 5,00 or 5.00)."),
        (2, "nur Neukunden", "vielleicht", "Write ja/nein, yes/no, 1/0 or x."),
        (2, "gültig ab", "31.13.2026", "Not a date (write 31.12.2026 or 2026-12-31)."),
        (2, "Zeitfenster von", "18.30", "Not a time of day (write 18:30)."),
        (2, "Zeitfenster bis", "spät", "Not a time of day (write 18:30)."),
        (2, "Maximal gesamt", "viele", "Not a whole number."),
        (2, "Maximal je Kunde", "1,5", "Not a whole number."),
    ]
    assert ctx.query(Voucher).count() == 0


UNREADABLE = {"decimal": "fünf", "integer": "1,5", "date": "31.13.2026", "boolean": "vielleicht",
              "time": "spät"}


@pytest.mark.parametrize(("kind", "name"), [(kind, f.name) for kind, cls in KINDS.items() for f in cls.fields
                                            if f.type in UNREADABLE])
def test_an_unreadable_cell_gets_exactly_one_message(app, ctx, tmp_path, kind, name):
    """Required or not: the cell is reported as unreadable, never also as empty or by a rule
    that judged the unread value."""
    fields = KINDS[kind].fields
    header, example = KINDS[kind]().template()
    typed = {f.name: f.type for f in fields}
    row = [UNREADABLE[typed[n]] if n == name else value for n, value in zip(header, example, strict=True)]
    path = tmp_path / f"{kind}.csv"
    path.write_text(";".join(header) + "\n" + ";".join(row) + "\n", encoding="utf-8")
    with app.test_request_context(), force_locale("en"):
        report = run(ctx, kind, path, dry_run=False)
        cell = [(e.line, e.column, e.value, e.message) for e in report.errors if e.column == name]
        assert cell == [(2, name, UNREADABLE[typed[name]], str(MESSAGES[typed[name]]))]
    assert not report.written and report.rejected == 1
