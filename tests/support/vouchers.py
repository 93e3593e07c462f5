"""Shared builders for the voucher tests."""

from __future__ import annotations

from decimal import Decimal

from backoffice.extensions import db
from backoffice.models import Voucher, VoucherKind
from backoffice.services.vouchers import add_code


def permanent_voucher(**values) -> Voucher:
    values.setdefault("name", "5 € für Neukunden")
    values.setdefault("kind", VoucherKind.permanent)
    values.setdefault("amount", Decimal("5.00"))
    voucher = Voucher(**values)
    db.session.add(voucher)
    db.session.commit()
    return voucher


def voucher_with_code(code: str, **values):
    voucher = permanent_voucher(**values)
    voucher_code = add_code(db.session, voucher, code)
    db.session.commit()
    return voucher, voucher_code


def new_customer_voucher(**values) -> Voucher:
    """The story's voucher: 5 € for new customers from 20 € order value, for partner codes."""
    values.setdefault("new_customers_only", True)
    values.setdefault("min_order_value", Decimal("20.00"))
    values.setdefault("released_for_partner_codes", True)
    return permanent_voucher(**values)
