"""Voucher checks and code creation (Desk, partner area, shop API and imports call these)."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select

from ..errors import DomainError
from ..models import (
    Address,
    AddressType,
    Article,
    Partner,
    Redemption,
    VatMode,
    Voucher,
    VoucherCode,
    VoucherKind,
)
from ..models.types import utcnow
from .money import Line, eligible_gross, split_discount

REASONS = ("unknown", "expired", "not_yet_valid", "outside_time_window", "min_order_value",
           "not_new_customer", "used_up", "not_for_this_customer", "no_eligible_articles")

# Bulk codes: no characters that are easily confused when read from paper (0/O, 1/I/L).
UNAMBIGUOUS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PATTERN_SLOT = "#"
CODE_MAX_LEN = 40

PARTNER_CODE_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
PARTNER_CODE_MIN, PARTNER_CODE_MAX_LEN = 4, 30
RESERVED_CODES = frozenset(
    "admin administrator test demo shop desk api partner partnerdesk support help gratis free "
    "gutschein voucher rabatt discount coupon null none".split()
)


def clean_code(code) -> str:
    """A code as it is stored: NFKC-normalised, without format characters (zero-width space,
    BOM, soft hyphen, direction marks) or control characters, stripped. Two codes that look the
    same are the same code, wherever it is typed (Desk, API, partner area, imports)."""
    text = str(code or "")
    if not (text.isascii() and text.isprintable()):
        text = "".join(ch for ch in unicodedata.normalize("NFKC", text)
                       if unicodedata.category(ch) not in ("Cf", "Cc"))
    return text.strip()


def normalize(code) -> str:
    """The key codes are compared by (case-insensitive)."""
    return clean_code(code).lower()


def _setting(name: str, default):
    return current_app.config.get(name, default) if has_app_context() else default


def company_zone() -> ZoneInfo:
    return ZoneInfo(_setting("COMPANY_TIME_ZONE", "Europe/Berlin"))


def company_today() -> date:
    """Today in the company's time zone (billing periods, collection dates)."""
    return datetime.now(company_zone()).date()


def _message(reason: str) -> str:
    return {
        "unknown": _("This voucher code does not exist."),
        "expired": _("This voucher has expired."),
        "not_yet_valid": _("This voucher is not valid yet."),
        "outside_time_window": _("This voucher cannot be redeemed at this time."),
        "min_order_value": _("The order does not reach the voucher's minimum order value."),
        "not_new_customer": _("This voucher is for new customers only."),
        "used_up": _("This voucher has been used up."),
        "not_for_this_customer": _("This voucher is for another customer."),
        "no_eligible_articles": _("None of the articles may be discounted by this voucher."),
    }[reason]


class VoucherRefused(DomainError):
    """The voucher may not be redeemed; `code` is one of REASONS."""

    status = 409

    def __init__(self, reason: str):
        super().__init__(reason, _message(reason))
        self.reason = reason


class BasketError(DomainError):
    pass


@dataclass
class CheckResult:
    valid: bool
    discount: Decimal = Decimal("0.00")
    reason: str | None = None
    message: str | None = None
    code: VoucherCode | None = None
    voucher: Voucher | None = None
    discount_by_rate: dict[Decimal, Decimal] = field(default_factory=dict)


def find_code(session, code: str) -> VoucherCode | None:
    return session.execute(
        select(VoucherCode).where(VoucherCode.code_normalized == normalize(code))
    ).scalar_one_or_none()


# Plain rows, not Article objects: the checkout reads these columns and nothing else. Built
# once (see `backoffice.services.orders`).
_ARTICLES = select(Article.id, Article.article_no, Article.name, Article.gross_price, Article.vat_rate,
                   Article.discountable_by_absolute_vouchers, Article.active
                   ).where(Article.article_no.in_(bindparam("numbers", expanding=True)))


def basket(session, lines: list[dict]) -> list[Line]:
    """Shop lines (`article_no`, `quantity`) as priced lines from the article master."""
    if not lines or not isinstance(lines, list) or not all(isinstance(item, dict) for item in lines):
        raise BasketError("empty_basket", _("The order needs lines: a list of article_no and quantity."))
    most = int(_setting("ORDER_MAX_LINES", 100))
    if len(lines) > most:
        raise BasketError("too_many_lines", _("An order has at most %(n)s lines.", n=most))
    numbers = [str(item.get("article_no", "")) for item in lines]
    articles = {a.article_no: a for a in session.execute(_ARTICLES, {"numbers": numbers})}
    result = []
    for item in lines:
        article = articles.get(str(item.get("article_no", "")))
        if article is None or not article.active:
            raise BasketError("unknown_article", _("Unknown article %(no)s.", no=item.get("article_no")),
                              article_no=item.get("article_no"))
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= 9999:
            raise BasketError("invalid_quantity",
                              _("The quantity of %(no)s must be a whole number from 1 to 9999.",
                                no=article.article_no), article_no=article.article_no)
        result.append(Line(article.article_no, article.name, quantity, article.gross_price,
                           Decimal(article.vat_rate), article.discountable_by_absolute_vouchers,
                           article.id))
    return result


def in_time_window(voucher: Voucher, local: datetime) -> bool:
    """Is the local wall-clock time inside the voucher's window?

    The window starts on one of `window_weekdays` at `window_start` and runs to
    `window_end`; an end at or before the start wraps past midnight into the next day. Wall
    clock times in the company's zone (zoneinfo): on DST days the window keeps its clock
    times, so it is an hour shorter or longer in absolute time.
    """
    start, end = voucher.window_start, voucher.window_end
    days = {int(d) for d in (voucher.window_weekdays or "") if d.isdigit()} or set(range(1, 8))
    now_t, today = local.time(), local.isoweekday()
    if start is None and end is None:
        return today in days
    start = start or datetime.min.time()
    if end is None or end > start:
        return today in days and start <= now_t < (end or datetime.max.time())
    yesterday = (local - timedelta(days=1)).isoweekday()
    return (today in days and now_t >= start) or (yesterday in days and now_t < end)


def check(session, code: str, lines: list[Line], customer: Address | None,
          now: datetime | None = None) -> CheckResult:
    """May this code be redeemed for this basket by this customer now, and for how much?

    Reads only; `orders.place_order` repeats the check under locks and counts atomically.
    """
    voucher_code = find_code(session, code)
    if voucher_code is None or not voucher_code.active or not voucher_code.voucher.active:
        return _refused("unknown")
    voucher = voucher_code.voucher
    result = evaluate(session, voucher, voucher_code, lines, customer, now)
    result.code, result.voucher = voucher_code, voucher
    return result


def _refused(reason: str) -> CheckResult:
    return CheckResult(valid=False, reason=reason, message=_message(reason))


def evaluate(session, voucher: Voucher, voucher_code: VoucherCode, lines: list[Line],
             customer: Address | None, now: datetime | None = None) -> CheckResult:
    now = now or utcnow()
    local = now.astimezone(company_zone())
    today = local.date()
    for reserved in (voucher.for_customer_id, voucher_code.for_customer_id):
        if reserved is not None and (customer is None or customer.id != reserved):
            return _refused("not_for_this_customer")
    if voucher.valid_on is not None:
        if today < voucher.valid_on:
            return _refused("not_yet_valid")
        if today > voucher.valid_on:
            return _refused("expired")
    if voucher.valid_from is not None and today < voucher.valid_from:
        return _refused("not_yet_valid")
    if voucher.valid_until is not None and today > voucher.valid_until:
        return _refused("expired")
    if (voucher.window_start or voucher.window_end or voucher.window_weekdays) \
            and not in_time_window(voucher, local):
        return _refused("outside_time_window")
    if voucher.max_total is not None and voucher.redeemed_count >= voucher.max_total:
        return _refused("used_up")
    if voucher.kind == VoucherKind.single and voucher_code.redeemed_count >= 1:
        return _refused("used_up")
    if customer is not None:
        if voucher.new_customers_only and customer.type != AddressType.new_customer:
            return _refused("not_new_customer")
        if voucher.max_per_customer is not None:
            used = session.execute(select(func.count(Redemption.id)).where(
                Redemption.voucher_id == voucher.id, Redemption.address_id == customer.id,
                Redemption.released_at.is_(None))).scalar()
            if used >= voucher.max_per_customer:
                return _refused("used_up")
    eligible = eligible_gross(lines)
    if eligible <= 0:
        return _refused("no_eligible_articles")
    if voucher.min_order_value is not None and eligible < voucher.min_order_value:
        return _refused("min_order_value")
    fixed = voucher.fixed_vat_rate if voucher.vat_mode == VatMode.fixed else None
    shares = split_discount(lines, voucher.amount, fixed)
    return CheckResult(valid=True, discount=sum(shares.values(), Decimal("0.00")),
                       discount_by_rate=shares)


# --- creating codes -------------------------------------------------------------------------


def code_problem(code: str) -> str | None:
    """What is wrong with a (stripped) code as text, for every way a code is made."""
    if not code or len(code) > CODE_MAX_LEN:
        return _("A code has 1 to %(max)s characters.", max=CODE_MAX_LEN)
    return None


def add_code(session, voucher: Voucher, code: str, owner: Partner | None = None,
             batch: str | None = None) -> VoucherCode:
    """One code on a voucher: the Desk, CSV import and API all come through here."""
    code = clean_code(code)
    if problem := code_problem(code):
        raise DomainError("invalid_code", problem)
    if voucher.kind == VoucherKind.single and voucher.id is not None and batch is None:
        existing = session.execute(select(func.count(VoucherCode.id))
                                   .where(VoucherCode.voucher_id == voucher.id)).scalar()
        if existing:
            raise DomainError("single_has_code", _("A single voucher has exactly one code; "
                                                   "generate a batch for many single codes."))
    if find_code(session, code) is not None:
        raise DomainError("code_taken", _("The code %(code)s is taken (codes are case-insensitive).",
                                          code=code))
    voucher_code = VoucherCode(voucher=voucher, code=code, code_normalized=normalize(code),
                               owner_partner_id=owner.id if owner else None, batch=batch)
    session.add(voucher_code)
    return voucher_code


def generate_codes(session, voucher: Voucher, pattern: str, count: int,
                   batch: str | None = None) -> list[VoucherCode]:
    """N new codes from a pattern such as `XMAS-####-####`: each `#` becomes an unambiguous
    character; codes already in use are skipped and drawn again."""
    slots = pattern.count(PATTERN_SLOT)
    if not 1 <= count <= 10_000:
        raise DomainError("invalid_count", _("Generate between 1 and 10,000 codes at a time."))
    if len(pattern) > 40 or slots < 4 or len(UNAMBIGUOUS) ** slots < count * 1000:
        raise DomainError("invalid_pattern", _("The pattern needs enough # placeholders (at least 4, "
                                               "more for large batches) and at most 40 characters."))
    batch = batch or utcnow().strftime("batch-%Y%m%d-%H%M%S")
    wanted: dict[str, str] = {}
    for _attempt in range(20):
        while len(wanted) < count:
            code = "".join(secrets.choice(UNAMBIGUOUS) if ch == PATTERN_SLOT else ch for ch in pattern)
            wanted.setdefault(normalize(code), code)
        taken = set(session.execute(select(VoucherCode.code_normalized)
                                    .where(VoucherCode.code_normalized.in_(list(wanted)))).scalars())
        for key in taken:
            wanted.pop(key)
        if not taken:
            break
    codes = [VoucherCode(voucher=voucher, code=code, code_normalized=key, batch=batch)
             for key, code in wanted.items()]
    session.add_all(codes)
    return codes


def released_vouchers(session) -> list[Voucher]:
    return list(session.execute(select(Voucher).where(
        Voucher.released_for_partner_codes.is_(True), Voucher.active.is_(True),
        Voucher.kind == VoucherKind.permanent).order_by(Voucher.name)).scalars())


def create_partner_code(session, partner: Partner, voucher_id: int, code: str) -> VoucherCode:
    """A partner's personal code on a released permanent voucher (V6)."""
    code = clean_code(code)
    voucher = session.get(Voucher, voucher_id)
    if voucher is None or voucher not in released_vouchers(session):
        raise DomainError("not_released", _("This voucher is not released for partner codes."))
    if not PARTNER_CODE_MIN <= len(code) <= PARTNER_CODE_MAX_LEN or not PARTNER_CODE_RE.match(code):
        raise DomainError("invalid_code", _(
            "A code has %(min)s to %(max)s characters: letters A–Z, digits and hyphens inside.",
            min=PARTNER_CODE_MIN, max=PARTNER_CODE_MAX_LEN))
    if normalize(code) in RESERVED_CODES:
        raise DomainError("reserved_code", _("This word is reserved; please choose another code."))
    limit = int(_setting("PARTNER_CODES_MAX", 5))
    owned = session.execute(select(func.count(VoucherCode.id))
                            .where(VoucherCode.owner_partner_id == partner.id)).scalar()
    if owned >= limit:
        raise DomainError("too_many_codes", _("You already have %(n)s codes, the most allowed.", n=limit))
    return add_code(session, voucher, code, owner=partner)
