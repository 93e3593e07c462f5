"""What the import tests share: exact messages in English, and the voucher codes belong to."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import force_locale

from backoffice.models import Voucher, VoucherKind


@pytest.fixture
def english(app, ctx):
    """Exact messages are compared in English (the Desk's default language is German)."""
    with app.test_request_context(), force_locale("en"):
        yield


@pytest.fixture
def voucher(ctx):
    v = Voucher(name="5 € für Neukunden", amount=Decimal("5"), kind=VoucherKind.permanent,
                external_key="NEUKUNDE-5")
    ctx.add(v)
    ctx.commit()
    return v
