"""Reading the files people really send: encoding, separator and header names detected.

pandas' C parser does the CSV work (quoted fields with separators and newlines inside);
this module only decides how to call it and maps the header to our field names, so a
column is found by its name (German or English), never by its position.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from flask_babel import gettext as _

from backoffice.errors import InvalidInput

SEPARATORS = (";", ",", "\t")
SAMPLE_BYTES = 1 << 16
BLOCK_BYTES = 1 << 20


class FileProblem(InvalidInput):
    """The file as a whole cannot be read (no header, wrong kind, unreadable)."""

    code = "file_problem"

    def __init__(self, message):
        super().__init__(message=message)


def header_key(name: str) -> str:
    """'E-Mail-Adresse ' → 'emailadresse', 'Straße' → 'strasse': how header names are compared."""
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    return re.sub(r"[^a-z0-9]", "", text)


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when every byte decodes as UTF-8, else Windows-1252.

    German Excel saves "CSV (Trennzeichen-getrennt)" as Windows-1252; its umlauts are not
    valid UTF-8, so decoding the whole file (in blocks, cheap) decides reliably.
    """
    with open(path, "rb") as fh:
        head = fh.read(3)
        if head == codecs.BOM_UTF8:
            return "utf-8-sig"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while block := fh.read(BLOCK_BYTES):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def detect_separator(header_line: str) -> str:
    """The candidate that splits the header line into the most fields (outside quotes)."""
    counts = {}
    for sep in SEPARATORS:
        fields = next(csv.reader([header_line], delimiter=sep), [])
        counts[sep] = len(fields)
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] > 1 else ";"


@dataclass
class Table:
    """A file opened for reading: what was detected and how columns map to fields."""

    path: Path
    encoding: str
    separator: str
    mapping: dict[str, str]                     # file column → field name
    ignored: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)

    def chunks(self, chunk_size: int = 50_000, fields: list[str] | None = None,
               drop_empty: bool = True) -> Iterator[pd.DataFrame]:
        """DataFrames of stripped strings named by field, with `_line`: the row number as a
        spreadsheet shows it (header = 1). Rows that are empty in every column are dropped."""
        wanted = {c for c, f in self.mapping.items() if fields is None or f in fields}
        reader = pd.read_csv(
            self.path, sep=self.separator, encoding=self.encoding, dtype=str, header=0,
            usecols=lambda column: column in wanted, keep_default_na=False, na_filter=False,
            chunksize=chunk_size, engine="c", quotechar='"', skip_blank_lines=True,
        )
        offset = 2
        for frame in _parsed(reader):
            # Plain list comprehensions: several times faster than pandas' .str accessor here.
            columns = {self.mapping[name]: [v.strip() for v in frame[name].tolist()]
                       for name in frame.columns}
            lines = list(range(offset, offset + len(frame)))
            offset += len(frame)
            if drop_empty and columns:
                keep = [any(values) for values in zip(*columns.values(), strict=True)]
                if not all(keep):
                    lines = [v for v, k in zip(lines, keep, strict=True) if k]
                    columns = {n: [v for v, k in zip(c, keep, strict=True) if k] for n, c in columns.items()}
            yield pd.DataFrame({"_line": lines, **columns})


def open_table(path: Path | str, aliases: dict[str, list[str]], required: list[str]) -> Table:
    """Detect encoding and separator, and map the header (aliases: field → accepted names)."""
    path = Path(path)
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, newline="") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip():
        raise FileProblem(_("The file is empty."))
    first_line = next(iter(io.StringIO(sample).readline().splitlines()), "")
    separator = detect_separator(first_line)
    header = next(csv.reader(io.StringIO(sample), delimiter=separator), [])
    lookup = {header_key(alias): name for name, names in aliases.items() for alias in [name, *names]}
    mapping, ignored, seen = {}, [], {}
    for column in header:
        key = header_key(column)
        name = lookup.get(key)
        if name is None:
            if key:  # an empty trailing column is no news
                ignored.append(column)
            continue
        if name in seen:
            raise FileProblem(_("The columns %(a)s and %(b)s both mean %(field)s.",
                                a=seen[name], b=column, field=name))
        seen[name] = column
        mapping[column] = name
    missing = [name for name in required if name not in seen]
    if missing:
        raise FileProblem(_("Missing column(s): %(names)s. The file's header is: %(header)s.",
                            names=", ".join(missing), header=separator.join(header)))
    return Table(path, encoding, separator, mapping, ignored, header)


def _parsed(reader) -> Iterator[pd.DataFrame]:
    """pandas' parser errors as a FileProblem that names the line."""
    try:
        yield from reader
    except pd.errors.ParserError as exc:
        raise FileProblem(_("The file cannot be read as CSV: %(reason)s", reason=str(exc).strip())) from exc
    except UnicodeDecodeError as exc:
        raise FileProblem(_("The file's characters cannot be read: %(reason)s", reason=str(exc))) from exc
