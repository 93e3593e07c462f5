"""Reading the files people really send: CSV in any of the usual encodings and separators, or
an Excel workbook (.xlsx), with the header mapped to our field names.

A column is found by its name (German or English) or by an explicit mapping, never by its
position. Every record keeps the row number a spreadsheet shows for it (the header is row 1,
blank and separator-only rows count too), so a report points at the row a person sees. A
row with more or fewer fields than the header is refused as a whole instead of being read
shifted by one column; only empty trailing fields may differ.
"""

from __future__ import annotations

import codecs
import csv
import re
import sys
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from operator import itemgetter
from pathlib import Path

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from backoffice.errors import InvalidInput

SEPARATORS = (";", ",", "\t")
SAMPLE_BYTES = 1 << 16
BLOCK_BYTES = 1 << 20
# What an export puts before a value that a spreadsheet would run as a formula; an import
# takes the value without it (a Desk template or an export read back stays exact).
GUARDED = ("'=", "'+", "'-", "'@", "'\t", "'\r")
SHOWN_ROW_CHARS = 200
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary Excel format (.xls)

csv.field_size_limit(min(sys.maxsize, 1 << 24))


class FileProblem(InvalidInput):
    """The file as a whole cannot be read (no header, wrong kind, unreadable)."""

    code = "file_problem"

    def __init__(self, message, table: Table | None = None):
        super().__init__(message=message)
        self.table = table  # as far as it was read: the header, for mapping the columns by hand


def header_key(name: str) -> str:
    """'E-Mail-Adresse ' → 'emailadresse', 'Straße' → 'strasse': how header names are compared."""
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    return re.sub(r"[^a-z0-9]", "", text)


def unguard(value: str) -> str:
    """A value without the apostrophe an export's formula guard put in front of it."""
    return value[1:] if value.startswith(GUARDED) else value


def detect_encoding(path: Path) -> str:
    """UTF-16 by its byte order mark or its zero bytes (Excel's "Unicode text"); UTF-8 (with or
    without BOM) when every byte decodes as UTF-8; else Windows-1252.

    German Excel saves "CSV (Trennzeichen-getrennt)" as Windows-1252; its umlauts are not
    valid UTF-8, so decoding the whole file (in blocks, cheap) decides reliably.
    """
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        pairs = head[: len(head) // 2 * 2]
        if pairs and pairs[1::2].count(0) > len(pairs) // 4 and not pairs[0::2].count(0):
            return "utf-16-le"
        if pairs and pairs[0::2].count(0) > len(pairs) // 4 and not pairs[1::2].count(0):
            return "utf-16-be"
        if b"\x00" in head:
            raise FileProblem(_("This is neither a CSV text file nor an Excel workbook (.xlsx)."))
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while block := fh.read(BLOCK_BYTES):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            _check_decodes(fh, "cp1252")
            return "cp1252"
    return "utf-8"


def _check_decodes(fh, encoding: str) -> None:
    """A file problem naming the line of the first byte `encoding` has no character for."""
    fh.seek(0)
    lines = 1
    while block := fh.read(BLOCK_BYTES):
        try:
            block.decode(encoding)
        except UnicodeDecodeError as exc:
            raise FileProblem(_("Row %(line)s has characters that cannot be read (%(encoding)s).",
                                line=lines + block.count(b"\n", 0, exc.start), encoding=encoding)) from exc
        lines += block.count(b"\n")


def detect_separator(header_line: str) -> str:
    """The candidate that splits the header line into the most fields (outside quotes)."""
    counts = {}
    for sep in SEPARATORS:
        fields = next(csv.reader([header_line], delimiter=sep), [])
        counts[sep] = len(fields)
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] > 1 else ";"


def file_format(path: Path) -> str:
    """"xlsx" or "csv", by the content (a renamed file is read as what it is)."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(OLE_MAGIC):
        raise FileProblem(_("This is an old Excel file (.xls); please save it as .xlsx or CSV."))
    if head.startswith(ZIP_MAGIC):
        if not zipfile.is_zipfile(path) or "xl/workbook.xml" not in zipfile.ZipFile(path).namelist():
            raise FileProblem(_("This is neither a CSV text file nor an Excel workbook (.xlsx)."))
        return "xlsx"
    return "csv"


def cell_text(value) -> str:
    """An Excel cell as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _csv_records(path: Path, encoding: str, separator: str) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, fields) for every record, blank ones included."""
    number = 0
    try:
        with open(path, encoding=encoding, newline="") as fh:
            for number, row in enumerate(csv.reader(fh, delimiter=separator, quotechar='"', strict=True), 1):
                yield number, row
    except csv.Error as exc:
        raise FileProblem(_("Row %(line)s cannot be read as CSV: %(reason)s", line=number + 1,
                            reason=str(exc))) from exc
    except UnicodeError as exc:
        raise FileProblem(_("Row %(line)s has characters that cannot be read (%(encoding)s).",
                            line=number + 1, encoding=encoding)) from exc


def _xlsx_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number, cell texts) of the workbook's first sheet."""
    import openpyxl

    # Opened as a file, not by name: openpyxl judges a name by its extension, and staff rename
    # workbooks to .csv.
    with open(path, "rb") as fh:
        try:
            book = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:  # a damaged workbook: openpyxl raises many kinds
            raise FileProblem(_("The Excel workbook cannot be read: %(reason)s", reason=str(exc))) from exc
        try:
            sheet = book.worksheets[0]
            for number, row in enumerate(sheet.iter_rows(values_only=True), 1):
                yield number, [cell_text(v) for v in row]
        finally:
            book.close()


@dataclass
class Table:
    """A file opened for reading: what was detected and how columns map to fields."""

    path: Path
    encoding: str
    separator: str
    mapping: dict[str, str]                     # file column → field name
    ignored: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    format: str = "csv"
    header_line: int = 1
    # (column, note) for ignored columns that look like data the kind cannot take
    notes: list[tuple[str, str]] = field(default_factory=list)

    def records(self) -> Iterator[tuple[int, list[str]]]:
        if self.format == "xlsx":
            return _xlsx_records(self.path)
        return _csv_records(self.path, self.encoding, self.separator)

    def chunks(self, chunk_size: int = 50_000, fields: list[str] | None = None,
               bad_row: Callable[[int, str, str], None] | None = None) -> Iterator[pd.DataFrame]:
        """DataFrames of stripped strings named by field, with `_line` (the row number as a
        spreadsheet shows it) and `_pos` (the record's place among the yielded ones, the same
        in every pass). Blank rows are skipped; rows whose field count does not fit the header
        go to `bad_row(line, shown row, message)` and are skipped too."""
        width = len(self.header)
        # Missing fields at a row's end are fine only where the header has no name either.
        min_width = width
        while min_width and not self.header[min_width - 1].strip():
            min_width -= 1
        positions = [(i, self.mapping[c]) for i, c in enumerate(self.header)
                     if c in self.mapping and (fields is None or self.mapping[c] in fields)]
        # Only the wanted fields are kept of a row (a C-level itemgetter): a chunk of a wide file
        # holds no more than the columns the pass reads.
        pick = _picker([i for i, _name in positions])
        names = [name for _i, name in positions]
        rows, lines, pos = [], [], 0
        for line, row in self.records():
            if line <= self.header_line:
                continue
            if not any(row) or not "".join(row).strip():
                continue
            if len(row) != width:
                if len(row) < min_width or any(v.strip() for v in row[width:]):
                    if bad_row:
                        bad_row(line, self.separator.join(row)[:SHOWN_ROW_CHARS], _(
                            "This row has %(n)s fields, the header %(m)s: is there a separator inside "
                            "a value without quotes?", n=len(row), m=width))
                    continue
                row = row[:width] + [""] * (width - len(row))
            rows.append(pick(row))
            lines.append(line)
            if len(rows) >= chunk_size:
                yield _frame(rows, lines, pos, names)
                pos += len(rows)
                rows, lines = [], []
        if rows:
            yield _frame(rows, lines, pos, names)


def _picker(indexes: list[int]) -> Callable[[list[str]], tuple]:
    if len(indexes) == 1:
        index = indexes[0]
        return lambda row: (row[index],)
    if not indexes:
        return lambda row: ()
    return itemgetter(*indexes)


def _frame(rows: list[tuple], lines: list[int], pos: int, names: list[str]) -> pd.DataFrame:
    columns = {}
    for j, name in enumerate(names):
        # One plain list comprehension per column: several times faster than pandas' .str
        # accessor or transposing with zip(*rows).
        values = [row[j].strip() for row in rows]
        if "\x00'" in "\x00" + "\x00".join(values):
            values = [unguard(v) for v in values]
        columns[name] = values
    return pd.DataFrame({"_line": lines, "_pos": range(pos, pos + len(rows)), **columns})


# Columns a file from elsewhere often has that no kind takes: named in the report.
HOUSE_NUMBER = ("hausnummer", "hausnr", "housenumber")
LOOKS_LIKE = {
    "kundennummer": _l("customer number"), "kundennr": _l("customer number"),
    "customernumber": _l("customer number"), "mitgliedsnummer": _l("member number"),
    "geburtsdatum": _l("date of birth"), "birthday": _l("date of birth"), "mobil": _l("mobile number"),
    "handy": _l("mobile number"), "fax": _l("fax number"), "ustid": _l("VAT id"),
    "steuernummer": _l("tax number"),
}


def _note(column: str) -> str | None:
    key = header_key(column)
    what = LOOKS_LIKE.get(key)
    if key in HOUSE_NUMBER:
        return _("The column %(column)s looks like a house number, which is not imported on its own: "
                 "put it into the street column.", column=column)
    if what is None:
        return None
    return _("The column %(column)s looks like data (%(what)s) that this kind of import cannot take; "
             "it is ignored.", column=column, what=what)


def open_table(path: Path | str, aliases: dict[str, list[str]], required: list[str],
               mapping: dict[str, str] | None = None) -> Table:
    """Detect format, encoding and separator, and map the header (aliases: field → accepted
    names). `mapping` (file column → field, "" to ignore) overrides the names' matching."""
    path = Path(path)
    if path.stat().st_size == 0:
        raise FileProblem(_("The file is empty."))
    fmt = file_format(path)
    encoding, separator = ("", "") if fmt == "xlsx" else (detect_encoding(path), ";")
    if fmt == "csv":
        with open(path, encoding=encoding, newline="") as fh:
            try:
                first_line = ""
                for first_line in fh:
                    if first_line.strip():
                        break
            except UnicodeError as exc:
                raise FileProblem(_("The file's characters cannot be read (%(encoding)s).",
                                    encoding=encoding)) from exc
        separator = detect_separator(first_line.rstrip("\r\n"))
    table = Table(path, encoding, separator, {}, format=fmt)
    header = None
    for line, row in table.records():
        if any(v.strip() for v in row):
            header, table.header_line = row, line
            break
    if header is None:
        raise FileProblem(_("The file is empty."))
    table.header = [h.strip() for h in header]
    fields = set(aliases)
    lookup = {header_key(alias): name for name, names in aliases.items() for alias in [name, *names]}
    mapping = {k.strip(): v for k, v in (mapping or {}).items()}
    unknown = sorted({v for v in mapping.values() if v and v not in fields})
    if unknown:
        raise FileProblem(_("The mapping names unknown fields: %(names)s. Fields: %(fields)s.",
                            names=", ".join(unknown), fields=", ".join(aliases)))
    seen = {}
    for column in table.header:
        key = header_key(column)
        name = mapping[column] if column in mapping else lookup.get(key)
        if not name:
            if key:  # an empty trailing column is no news
                table.ignored.append(column)
                if (note := _note(column)) is not None:
                    table.notes.append((column, note))
            continue
        if name in seen:
            raise FileProblem(_("The columns %(a)s and %(b)s both mean %(field)s.",
                                a=seen[name], b=column, field=name), table)
        seen[name] = column
        table.mapping[column] = name
    missing = [name for name in required if name not in seen]
    if missing:
        raise FileProblem(_("Missing column(s): %(names)s. The file's header (row %(line)s) is: %(header)s.",
                            names=", ".join(missing), line=table.header_line,
                            header=(separator or ";").join(table.header)), table)
    bad = []
    if next(table.chunks(1, bad_row=lambda *args: bad.append(args)), None) is None and not bad:
        raise FileProblem(_("The file has a header but no rows."))
    return table
