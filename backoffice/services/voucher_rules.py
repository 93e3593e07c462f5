"""Consistency rules of a voucher record (Desk form and API)."""

from __future__ import annotations

from flask_babel import gettext as _

from ..errors import DomainError, RuleViolations
from ..models import VatMode, Voucher, VoucherKind
from ..rules import length_errors


def check_voucher_record(voucher: Voucher) -> None:
    too_long = length_errors(Voucher, {c.key: getattr(voucher, c.key, None)
                                       for c in Voucher.__table__.columns})
    if too_long:
        raise RuleViolations({name: [message] for name, message in too_long.items()})
    problems = []
    if voucher.amount is None or voucher.amount <= 0:
        problems.append(_("The amount must be more than 0."))
    if voucher.vat_mode == VatMode.fixed and voucher.fixed_vat_rate is None:
        problems.append(_("A fixed VAT mode needs a VAT rate."))
    if voucher.vat_mode != VatMode.fixed:
        voucher.fixed_vat_rate = None
    if voucher.valid_from and voucher.valid_until and voucher.valid_from > voucher.valid_until:
        problems.append(_("'Valid from' is after 'valid until'."))
    if voucher.kind == VoucherKind.single and voucher.released_for_partner_codes:
        problems.append(_("Only permanent vouchers can be released for partner codes."))
    for name in ("max_total", "max_per_customer"):
        value = getattr(voucher, name)
        if value is not None and value < 0:
            problems.append(_("Maximum counts cannot be negative."))
    if voucher.window_weekdays and not set(voucher.window_weekdays) <= set("1234567"):
        problems.append(_("Weekdays are digits 1 (Monday) to 7 (Sunday), e.g. 12345."))
    if problems:
        raise DomainError("invalid_voucher", " ".join(problems))
