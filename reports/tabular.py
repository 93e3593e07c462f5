"""Write rows to Excel and CSV: typed cells, constant memory, safe against formula injection.

Every list export, error report and finance export goes through here, so the rules for
dangerous cells live in one place:

- CSV: a text cell starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`
  (OWASP's advice), so a spreadsheet shows it as text instead of evaluating it.
- XLSX: such a cell is written as a string with Excel's own "quote prefix" style; the
  value stays exactly what was stored, and Excel/LibreOffice never run it.

Both writers stream and spend as little as possible per cell: a 129k-row downline export
must finish in about a second (CSV) and a few seconds (XLSX). The XLSX package is written
directly (inline strings, one style table) instead of through openpyxl, which cost ~20 µs
per cell even in write-only mode with lxml.
"""

from __future__ import annotations

import csv
import enum
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

from openpyxl.utils import get_column_letter
from sqlalchemy import case, func

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = '#,##0.00 "€"'
DATE_FORMAT = "DD.MM.YYYY"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"


def is_dangerous(text: str) -> bool:
    return text.startswith(DANGEROUS_PREFIXES)


def plain(value, tz: ZoneInfo | None = None):
    """A cell value as Python sees it: enums as their label, aware times in the user's zone."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(tz) if tz else value
    if isinstance(value, bool | int | Decimal | date):
        return value
    return str(value)


def csv_text(value, tz: ZoneInfo | None = None) -> str:
    value = plain(value, tz)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if is_dangerous(text) else text


def _csv_cells(row, tz):
    """Cells as csv.writer takes them; strings and non-negative ints pass through untouched."""
    return [v if v is None or (type(v) is int and v >= 0)
            else (("'" + v) if v.startswith(DANGEROUS_PREFIXES) else v) if type(v) is str
            else csv_text(v, tz) for v in row]


def csv_ready_sql(expression, first_character=None):
    """SQL for a text cell as `csv_text` writes it (a dangerous start gets a leading '), so a
    bulk export can hand finished rows to `write_csv(..., prepared=True)`. For a costly
    expression pass a cheap SQL `first_character` of it: SQL evaluates the test separately."""
    first = first_character if first_character is not None else func.substr(expression, 1, 1)
    return case((first.in_(DANGEROUS_PREFIXES), "'" + expression), else_=expression)


def write_csv(headers: Sequence[str], rows: Iterable[Sequence], tz: ZoneInfo | None = None,
              delimiter: str = ";", prepared: bool = False) -> bytes:
    """UTF-8 with BOM and `;`: what German Excel opens correctly by double-click.

    `prepared`: the rows hold only ints, None and text made safe by `csv_ready_sql` or
    `csv_text`; written as they are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([csv_text(h) for h in headers])
    writer.writerows(rows if prepared else (_csv_cells(row, tz) for row in rows))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --- XLSX ---------------------------------------------------------------------------------------

# Style indexes into cellXfs below.
HEADER, QUOTED, DATE, DATETIME, MONEY, DECIMAL = 1, 2, 3, 4, 5, 6
EXCEL_EPOCH = datetime(1899, 12, 30)
# Characters XML 1.0 cannot carry at all (openpyxl refuses them too): dropped.
ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
NEEDS_ESCAPING = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f]")
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="3"><numFmt numFmtId="164" formatCode={quoteattr(DATE_FORMAT)}/>\
<numFmt numFmtId="165" formatCode={quoteattr(DATETIME_FORMAT)}/>\
<numFmt numFmtId="166" formatCode={quoteattr(MONEY_FORMAT)}/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/>\
<name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>\
</fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>\
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""
CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"""
ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/\
officeDocument" Target="xl/workbook.xml"/></Relationships>"""
WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/\
worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
Target="styles.xml"/></Relationships>"""
MAIN_NS = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
           'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')


def _text(value: str, style: int = 0) -> str:
    if ILLEGAL_XML.search(value):
        value = ILLEGAL_XML.sub("", value)
    s = f' s="{style}"' if style else ""
    return f'<c{s} t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'


def _xlsx_cell(value, tz, money: bool) -> str:
    """One typed `<c>` element. Cells carry no `r`: every position gets an element, in order."""
    if value is None:
        return "<c/>"
    kind = type(value)
    if kind is str:
        if not value.startswith(DANGEROUS_PREFIXES) and not NEEDS_ESCAPING.search(value):
            return f'<c t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>'
        return _text(value, QUOTED if value.startswith(DANGEROUS_PREFIXES) else 0)
    if kind is int or kind is float:
        return f"<c><v>{value}</v></c>"
    value = plain(value, tz)
    if isinstance(value, bool):
        return f'<c t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        serial = (value.replace(tzinfo=None) - EXCEL_EPOCH).total_seconds() / 86400
        return f'<c s="{DATETIME}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        return f'<c s="{DATE}"><v>{(value - EXCEL_EPOCH.date()).days}</v></c>'
    if isinstance(value, Decimal):
        return f'<c s="{MONEY if money else DECIMAL}"><v>{value}</v></c>'
    if isinstance(value, int | float):
        return f"<c><v>{value}</v></c>"
    return _xlsx_cell(str(value), tz, money)


def write_xlsx(headers: Sequence[str], rows: Iterable[Sequence], tz: ZoneInfo | None = None,
               sheet_title: str = "Export", money_columns: Iterable[int] = ()) -> bytes:
    """A workbook with one sheet: bold, filterable header row, frozen panes, typed cells."""
    money = set(money_columns)
    letters = [get_column_letter(i + 1) for i in range(max(len(headers), 1))]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        package.writestr("[Content_Types].xml", CONTENT_TYPES)
        package.writestr("_rels/.rels", ROOT_RELS)
        package.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        package.writestr("xl/styles.xml", STYLES)
        count = 0
        with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as raw:
            sheet = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            widths = "".join(f'<col min="{i}" max="{i}" width="{max(12, min(40, len(str(h)) + 4))}" '
                             f'customWidth="1"/>' for i, h in enumerate(headers, start=1))
            sheet.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet {MAIN_NS}>'
                        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                        'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
                        + (f"<cols>{widths}</cols>" if headers else "") + "<sheetData>")
            sheet.write('<row r="1">' + "".join(_text(str(h), HEADER) for h in headers) + "</row>")
            chunk = []
            flags = [i in money for i in range(len(headers))] or [False]
            for count, row in enumerate(rows, start=2):
                chunk.append(f'<row r="{count}">' + "".join(
                    [_xlsx_cell(v, tz, m) for v, m in zip(row, flags, strict=False)]) + "</row>")
                if len(chunk) >= 2000:
                    sheet.write("".join(chunk))
                    chunk.clear()
            sheet.write("".join(chunk))
            last = max(count, 1)
            span = f"A1:{letters[len(headers) - 1]}{last}" if headers else ""
            sheet.write("</sheetData>" + (f'<autoFilter ref="{span}"/>' if headers else "") + "</worksheet>")
            sheet.flush()
            sheet.detach()
        title = SHEET_NAME_FORBIDDEN.sub("", str(sheet_title))[:31] or "Export"
        names = ""
        if headers:
            quoted = "'" + title.replace("'", "''") + "'"
            names = ('<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
                     f"{escape(quoted)}!$A$1:${letters[len(headers) - 1]}${last}"
                     "</definedName></definedNames>")
        package.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                         f"<workbook {MAIN_NS}><bookViews><workbookView/></bookViews><sheets>"
                         f'<sheet name={quoteattr(title)} sheetId="1" r:id="rId1"/></sheets>{names}'
                         "</workbook>")
    return buffer.getvalue()
