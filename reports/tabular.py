"""Write rows to Excel and CSV: typed cells, constant memory, safe against formula injection.

Every list export, error report and finance export goes through here, so the rules for
dangerous cells live in one place:

- CSV: a text cell starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'`
  (OWASP's advice), so a spreadsheet shows it as text instead of evaluating it.
- XLSX: such a cell is written as a string with Excel's own "quote prefix" style; the
  value stays exactly what was stored, and Excel/LibreOffice never run it.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

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


def write_csv(headers: Sequence[str], rows: Iterable[Sequence], tz: ZoneInfo | None = None,
              delimiter: str = ";") -> bytes:
    """UTF-8 with BOM and `;`: what German Excel opens correctly by double-click."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([csv_text(h) for h in headers])
    for row in rows:
        writer.writerow([csv_text(v, tz) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _cell(sheet, value, tz, money_columns: set[int], index: int):
    value = plain(value, tz)
    cell = WriteOnlyCell(sheet)
    if isinstance(value, datetime):
        cell.value = value.replace(tzinfo=None)
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif isinstance(value, Decimal):
        cell.value = value
        cell.number_format = MONEY_FORMAT if index in money_columns else "0.00"
    elif isinstance(value, str):
        # Assign first, then force the type: openpyxl would otherwise store "=…" as a formula.
        cell.value = value
        cell.data_type = "s"
        cell.quotePrefix = is_dangerous(value)
    else:
        cell.value = value
    return cell


def write_xlsx(headers: Sequence[str], rows: Iterable[Sequence], tz: ZoneInfo | None = None,
               sheet_title: str = "Export", money_columns: Iterable[int] = ()) -> bytes:
    """A constant-memory workbook with a bold, filterable header row and frozen panes."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    money = set(money_columns)
    for i, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = max(12, min(40, len(str(header)) + 4))
    sheet.freeze_panes = "A2"
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=str(header))
        cell.font = Font(bold=True)
        cell.data_type = "s"
        header_cells.append(cell)
    sheet.append(header_cells)
    count = 0
    for row in rows:
        sheet.append([_cell(sheet, v, tz, money, i) for i, v in enumerate(row)])
        count += 1
    if headers:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{count + 1}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
