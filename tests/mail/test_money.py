"""Amounts in a mail read as the recipient's language writes euros, exactly as Babel writes
them: grouping, decimal mark, the sign, the symbol's place and cents rounded half to even."""

from __future__ import annotations

import random
from decimal import Decimal

from babel.numbers import format_currency

from backoffice.services.mail import money_text


def test_amounts_are_written_as_the_recipient_reads_them():
    assert money_text(Decimal("1234.5"), "de") == "1.234,50\xa0€"
    assert money_text(Decimal("1234.5"), "en") == "€1,234.50"
    assert money_text(Decimal("-3.50"), "de") == "-3,50\xa0€"
    assert money_text(Decimal("-3.50"), "en") == "-€3.50"
    assert money_text(Decimal("149"), "tr") == "149,00\xa0€"  # a language we do not write: German


def test_every_amount_reads_as_babel_writes_it():
    rnd = random.Random(7)
    amounts = [Decimal(text) for text in ("0", "-0", "0.005", "0.015", "-0.005", "999.995", "2.675",
                                          "1000000", "-1234567.891", "12345678901.235")]
    amounts += [Decimal(rnd.randint(-10**9, 10**9)) / Decimal(10 ** rnd.randint(0, 4)) for _ in range(2000)]
    amounts += [150, -3, 2.675, "12.345"]
    for language in ("de", "en"):
        differing = [(amount, mine, babel) for amount in amounts
                     if (mine := money_text(amount, language))
                     != (babel := format_currency(amount, "EUR", locale=language))]
        assert differing == [], language
