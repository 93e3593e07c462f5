"""Figures read from an invoice PDF as numbers, not matched as substrings ("13,34 €" is also
a substring of "-13,34 €")."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from pypdf import PdfReader

EURO = re.compile(r"^(-?)(\d{1,3}(?:\.\d{3})*),(\d{2}) €$")


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def euro(cell: str) -> Decimal:
    """'-1.234,56 €' → Decimal('-1234.56'); anything else is an error."""
    match = EURO.match(cell.strip())
    assert match, f"not a euro amount: {cell!r}"
    sign, whole, cents = match.groups()
    return Decimal(f"{sign}{whole.replace('.', '')}.{cents}")


def vat_table(text: str) -> tuple[list[tuple[str, Decimal, Decimal, Decimal]], tuple[Decimal, ...], Decimal]:
    """The invoice's VAT table: [(rate, net, VAT, gross)] per rate, the sum row (net, VAT,
    gross) and the amount due."""
    cells = [c.strip() for c in text.splitlines()]
    start = cells.index("USt-Satz")
    assert cells[start:start + 4] == ["USt-Satz", "Netto", "USt", "Brutto"], cells[start:start + 4]
    end = cells.index("Summe", start)
    body = cells[start + 4:end]
    assert len(body) % 4 == 0, body
    rows = [(body[i], euro(body[i + 1]), euro(body[i + 2]), euro(body[i + 3]))
            for i in range(0, len(body), 4)]
    total = tuple(euro(c) for c in cells[end + 1:end + 4])
    due = next(c for c in cells if c.startswith("Rechnungsbetrag:"))
    return rows, total, euro(due.split(":", 1)[1])


def amounts(text: str) -> list[Decimal]:
    """Every cell of the text that is a euro amount and nothing else, in reading order."""
    return [euro(c) for c in text.splitlines() if EURO.match(c.strip())]
