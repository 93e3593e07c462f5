"""A marketplace charge's receipt as people read it, for the partner's receipt page and the
Desk's charge alike: one list of translated facts with numbers in the UI language
(`0,5000 (Gewicht 0,05)`, `12,00 €`, `3,2 km`).

The stored receipt (JSON written by `services.marketplace`) stays the record, in English
with decimal points; it is only read here. Decimals keep the digits they were stored with,
so a signal reads as the ranking computed it. A receipt of an older formula version shows
the facts it has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from .mixins import money

# The ranking formula as people read it, per formula version; the text stored with a
# receipt (the service's `FORMULA`) stays the record and is shown for other versions.
_FORMULA = _l("score = bid × quality; quality = (0.5 + 0.2 × responsiveness + 0.05 × speed"
              " + 0.25 × rating / 5) × (1 − 0.5 × expired share) × (1 − 0.5 × cancelled share)")
# 2026-12.3 counts the signals over whole calendar months instead of 90 days: the same formula.
FORMULA_TEXT = {"2026-12.2": _FORMULA, "2026-12.3": _FORMULA}


def formula_text(stored: str, version: str | None) -> str:
    return str(FORMULA_TEXT[version]) if version in FORMULA_TEXT else stored


@dataclass(frozen=True)
class Fact:
    key: str  # the receipt's key; pages name it in `data-test="receipt-<key>"`
    label: str
    text: str


# Each fact's label for staff, and where the partner's own page says it differently.
_LABELS = {
    "matched": _l("Partners matched"),
    "position": _l("Place in the ranking"),
    "bid": _l("Bid"),
    "monthly_budget": _l("Monthly budget"),
    "budget_left_before": _l("Budget left before"),
    "responsiveness": _l("Responsiveness"),
    "speed": _l("Response time"),
    "rating": _l("Rating"),
    "expired_share": _l("Jobs left to expire"),
    "cancelled_share": _l("Cancelled orders"),
    "quality": _l("Quality"),
    "score": _l("Score"),
    "score_of_first": _l("Score of the first place"),
    "distance_km": _l("Distance to the request"),
    "formula": _l("Formula"),
    "price_rule": _l("Price rule"),
    "net": _l("Net"),
    "vat": _l("VAT"),
    "gross": _l("Gross"),
}
_OWN_LABELS = {"position": _l("Your position"), "bid": _l("Your bid"), "score": _l("Your score")}

# Signal → the key of its weight; the shares lower the quality, the others add to it.
_ADDING = {"responsiveness": "weight", "speed": "speed_weight", "rating": "rating_weight"}
_LOWERING = {"expired_share": "expired_weight", "cancelled_share": "cancelled_weight"}


def decimal_text(stored) -> str:
    """A stored decimal in the UI language with the digits it was stored with:
    "0.5000" → "0,5000", "0.05" → "0,05", 3.2 → "3,2"; "—" for none."""
    if stored is None:
        return "—"
    try:
        value = Decimal(str(stored))
    except InvalidOperation:
        return str(stored)
    places = max(-value.as_tuple().exponent, 0)
    return format_decimal(value, format="#,##0." + "0" * places if places else "#,##0")


def _money(stored) -> str:
    return "—" if stored is None else money(Decimal(str(stored)))


def _signal(signals: dict, key: str) -> str | None:
    if key in _ADDING:
        return _("%(value)s (weight %(weight)s)", value=decimal_text(signals[key]),
                 weight=decimal_text(signals.get(_ADDING[key])))
    return _("%(value)s (lowers the quality by up to %(weight)s)", value=decimal_text(signals[key]),
             weight=decimal_text(signals.get(_LOWERING[key])))


def _price_rule(rule: str, own: bool) -> str:
    if rule.startswith("free"):
        return _("Free: the same customer's request in this category within 7 days was charged already.")
    if own:
        return _("Your bid at the moment of the direct request.")
    return _("The partner's bid at the moment of the direct request.")


def receipt_facts(receipt: dict, *, own: bool = False) -> list[Fact]:
    """The receipt's facts in reading order; `own`: as the charged partner reads them."""
    texts: dict[str, str] = {}
    for key in ("matched", "position"):
        if key in receipt:
            texts[key] = decimal_text(receipt[key])
    for key in ("bid", "monthly_budget", "budget_left_before"):
        if key in receipt:
            texts[key] = _money(receipt[key])
    signals = receipt.get("signals") or {}
    for key in (*_ADDING, *_LOWERING):
        if key in signals:
            texts[key] = _signal(signals, key)
    for key in ("quality", "score", "score_of_first"):
        if key in receipt:
            texts[key] = decimal_text(receipt[key])
    if receipt.get("distance_km") is not None:
        texts["distance_km"] = _("%(km)s km", km=decimal_text(receipt["distance_km"]))
    if "formula" in receipt:
        version = receipt.get("formula_version")
        texts["formula"] = f"{formula_text(receipt['formula'], version)} ({version})"
    if "price_rule" in receipt:
        texts["price_rule"] = _price_rule(receipt["price_rule"], own)
    for key in ("net", "vat", "gross"):
        if key in receipt:
            texts[key] = _money(receipt[key])
    if "vat" in texts and receipt.get("vat_rate") is not None:
        texts["vat"] = f"{texts['vat']} ({decimal_text(Decimal(str(receipt['vat_rate'])).normalize())} %)"
    labels = {**_LABELS, **_OWN_LABELS} if own else _LABELS
    return [Fact(key, str(labels[key]), texts[key]) for key in _LABELS if key in texts]


def receipt_table(stored: str | None) -> Markup:
    """The Desk's show column of a charge: the stored receipt as a table of its facts."""
    if not stored:
        return Markup("")
    try:
        receipt = json.loads(stored)
    except ValueError:
        return escape(stored)
    rows = Markup("").join(
        Markup('<tr><th scope="row">{}</th><td data-test="receipt-{}">{}</td></tr>').format(
            fact.label, fact.key, fact.text)
        for fact in receipt_facts(receipt)
    )
    table = Markup('<table class="table table-condensed" data-test="receipt"><tbody>{}</tbody></table>')
    return table.format(rows)
