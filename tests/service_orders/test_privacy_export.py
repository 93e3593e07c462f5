"""A customer's personal data export (GDPR) holds its service orders, requests and offers, and
nobody else's; an address with any of them is not hard-deleted."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.errors import Conflict
from backoffice.models import AddressType, Party
from backoffice.services import conversations, privacy
from backoffice.services import service_orders as so
from tests.support.directory import category, published_partner

NOON = datetime(2026, 11, 4, 11, 0, tzinfo=UTC)


def test_the_export_holds_the_customers_service_orders_requests_and_offers_only(ctx, make):
    schulz = published_partner(make, "schulz", category("Design", "Design"))
    package = sorted(
        (
            p
            for s in ctx.scalars(sa.select(so.Service).where(so.Service.partner_id == schulz.id))
            for p in s.packages
        ),
        key=lambda p: p.position,
    )[0]
    erika = make.address(type=AddressType.customer, last_name="Erika")
    other = make.address(type=AddressType.customer, last_name="Fremd")
    with transaction.unit_of_work(ctx):
        direct = so.place_order(ctx, erika.id, package.id, now=NOON).id
        so.place_order(ctx, other.id, package.id, now=NOON)
        asked = so.send_request(
            ctx, erika.id, package.id, needs="Ein Logo, bitte", wished_start=None, now=NOON
        )
        so.send_request(ctx, other.id, package.id, needs="Fremder Wunsch", wished_start=None, now=NOON)
        posted = conversations.start_conversation(
            ctx, other.id, schulz.id, requirements="Fremd", body="Hallo", now=NOON
        )
        so.send_offer(
            ctx,
            schulz.id,
            posted.conversation_id,
            scope="Fremdes Angebot",
            price=Decimal("10.00"),
            delivery_days=1,
            now=NOON,
        )
    with transaction.unit_of_work(ctx):
        offer = so.send_offer(
            ctx,
            schulz.id,
            asked.conversation_id,
            scope="Logo",
            price=Decimal("149.00"),
            delivery_days=4,
            expires_at=NOON + timedelta(days=2),
            request_id=asked.id,
            now=NOON,
        )
        offer_id, request_id = offer.id, asked.id
    accepted = transaction.run(
        lambda s: so.accept_offer(s, erika.id, offer_id, now=NOON + timedelta(hours=1))
    )
    with transaction.unit_of_work(ctx):
        so.move_order(ctx, direct, "cancel", Party.customer, customer_id=erika.id, reason="Zu spät", now=NOON)

    data = privacy.personal_data(ctx, erika.id)
    assert [(o["id"], o["status"], o["gross"], o["offer_id"]) for o in data["service_orders"]] == [
        (direct, "cancelled", "49.00", None),
        (accepted.order_id, "ordered", "149.00", offer_id),
    ]
    assert data["service_orders"][0]["cancel_reason"] == "Zu spät"
    assert data["service_orders"][0]["steps"] == [
        {"from_status": None, "to_status": "ordered", "by": "customer", "note": None, "at": NOON.isoformat()},
        {
            "from_status": "ordered",
            "to_status": "cancelled",
            "by": "customer",
            "note": "Zu spät",
            "at": NOON.isoformat(),
        },
    ]
    assert [(r["id"], r["needs"], r["state"]) for r in data["order_requests"]] == [
        (request_id, "Ein Logo, bitte", "accepted")
    ]
    assert [(o["id"], o["scope"], o["price"], o["state"], o["request_id"]) for o in data["offers"]] == [
        (offer_id, "Logo", "149.00", "accepted", request_id)
    ]
    book = openpyxl.load_workbook(io.BytesIO(privacy.as_xlsx(data)))
    rows = list(book["offers"].iter_rows(values_only=True))
    assert rows[0][:3] == ("id", "partner_id", "conversation_id") and len(rows) == 2
    text = privacy.as_json(data).decode()
    assert "Fremd" not in text  # the other customer's request, offer and conversation

    with pytest.raises(Conflict) as refused:
        privacy.refuse_hard_delete(ctx, erika.id)
    assert refused.value.code == "address_in_use"
