"""A customer's personal data export (GDPR) holds its service orders, requests and offers, and
nobody else's; an address with any of them is not hard-deleted but erased: the rows stay,
what the customer wrote into them and their conversations is anonymised."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.errors import Conflict
from backoffice.models import (
    AddressType,
    Conversation,
    Message,
    Offer,
    OrderRequest,
    Party,
    ServiceOrder,
    ServiceOrderEvent,
)
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


def _package(ctx, partner_id: int):
    return sorted(
        (p for s in ctx.scalars(sa.select(so.Service).where(so.Service.partner_id == partner_id))
         for p in s.packages),
        key=lambda p: p.position,
    )[0]


def _texts(ctx, customer_id: int) -> dict:
    """What the rows of one customer say, field by field."""
    ctx.expire_all()
    orders = sa.select(ServiceOrder.id).where(ServiceOrder.customer_id == customer_id)
    conversations_of = sa.select(Conversation.id).where(Conversation.customer_id == customer_id)
    def rows(*columns, where, order):
        return ctx.execute(sa.select(*columns).where(where).order_by(order)).all()

    return {
        "requests": rows(OrderRequest.needs, OrderRequest.decline_message, OrderRequest.state,
                         where=OrderRequest.customer_id == customer_id, order=OrderRequest.id),
        "offers": rows(Offer.scope, Offer.price, Offer.state, where=Offer.customer_id == customer_id,
                       order=Offer.id),
        "orders": rows(ServiceOrder.title, ServiceOrder.scope, ServiceOrder.status, ServiceOrder.cancelled_by,
                       ServiceOrder.cancel_reason, ServiceOrder.gross,
                       where=ServiceOrder.customer_id == customer_id, order=ServiceOrder.id),
        "steps": rows(ServiceOrderEvent.to_status, ServiceOrderEvent.by, ServiceOrderEvent.note,
                      where=ServiceOrderEvent.order_id.in_(orders), order=ServiceOrderEvent.id),
        "conversations": rows(Conversation.requirements, Conversation.contact_name, Conversation.store_name,
                              Conversation.store_url, Conversation.declined_by, Conversation.decline_reason,
                              where=Conversation.customer_id == customer_id, order=Conversation.id),
        "messages": rows(Message.sender, Message.body, where=Message.conversation_id.in_(conversations_of),
                         order=Message.id),
    }


def test_erasure_keeps_the_service_rows_and_anonymises_what_the_customer_wrote(ctx, make):
    schulz = published_partner(make, "schulz", category("Design", "Design"))
    package = _package(ctx, schulz.id)
    erika = make.address(type=AddressType.customer, first_name="Erika", last_name="Muster",
                         email="erika@example.org", phone="0171 5550123")
    other = make.address(type=AddressType.customer, first_name="Otto", last_name="Fremd")
    P, C = Party.partner, Party.customer
    with transaction.unit_of_work(ctx):
        direct = so.place_order(ctx, erika.id, package.id, now=NOON).id
        so.move_order(ctx, direct, "cancel", C, customer_id=erika.id, reason="Zu spät, Erika Muster",
                      now=NOON)
        asked = so.send_request(ctx, erika.id, package.id, needs="Logo für Bäckerei Muster, Hauptstr. 5",
                                wished_start=None, now=NOON)
        offer_id = so.send_offer(ctx, schulz.id, asked.conversation_id, scope="Logo in drei Entwürfen",
                                 price=Decimal("149.00"), delivery_days=4, request_id=asked.id, now=NOON).id
        talk = conversations.start_conversation(
            ctx, erika.id, schulz.id, requirements="Flyer für Erikas Laden",
            body="Ruf mich an: 0171 5550123",
            store_name="Erikas Laden", store_url="https://erika.example", now=NOON)
        talked = ctx.get(Conversation, talk.conversation_id)
        conversations.post_message(ctx, talked, P, "Gern, Frau Muster.", now=NOON)
        conversations.decline_conversation(ctx, talked, C, "Doch nicht, Erika", now=NOON)
        foreign = so.send_request(ctx, other.id, package.id, needs="Fremder Wunsch", wished_start=None,
                                  now=NOON)
    order = transaction.run(lambda s: so.accept_offer(s, erika.id, offer_id, now=NOON)).order_id
    with transaction.unit_of_work(ctx):
        for action, by, reason in (("accept", P, None), ("deliver", P, None),
                                   ("revision", C, "Farbe falsch, Tel. 0171 5550123"),
                                   ("cancel", P, "Kundin nicht erreichbar")):
            so.move_order(ctx, order, action, by, partner_id=schulz.id if by is P else None,
                          customer_id=erika.id if by is C else None, reason=reason, now=NOON)
    others_before = _texts(ctx, other.id)
    assert others_before["requests"] == [("Fremder Wunsch", None, so.RequestState.pending)]

    with transaction.unit_of_work(ctx):
        result = privacy.erase(ctx, erika.id, reason="Art. 17", actor_user_id=None, actor_label="staff")

    S = so.S
    # 1 request, 1 cancel reason, 2 customer notes, 2 conversations, 1 declined by her, 3 messages of hers
    assert result.texts_erased == 10
    assert _texts(ctx, erika.id) == {
        "requests": [("—", None, so.RequestState.accepted)],
        "offers": [("Logo in drei Entwürfen", Decimal("149.00"), so.OfferState.accepted)],
        "orders": [
            ("Leistung von schulz – Paket 1", "Beschreibung", S.cancelled, C, None, Decimal("49.00")),
            ("Leistung von schulz – Individuelles Angebot", "Logo in drei Entwürfen", S.cancelled, P,
             "Kundin nicht erreichbar", Decimal("149.00")),
        ],
        "steps": [
            (S.ordered, C, None), (S.cancelled, C, None),
            (S.ordered, C, None), (S.in_progress, P, None), (S.delivered, P, None), (S.revision, C, None),
            (S.cancelled, P, "Kundin nicht erreichbar"),
        ],
        "conversations": [("—", "—", None, None, None, None), ("—", "—", None, None, C, None)],
        "messages": [
            (C, "—"),
            (P, "Individuelles Angebot: Logo in drei Entwürfen — 149,00\xa0€, Lieferung in 4 Tagen"),
            (C, "—"), (P, "Gern, Frau Muster."), (C, "—"),
        ],
    }
    assert _texts(ctx, other.id) == others_before  # another customer's rows are untouched
    assert ctx.get(OrderRequest, foreign.id).needs == "Fremder Wunsch"
    exported = privacy.as_json(privacy.personal_data(ctx, erika.id)).decode()
    for written in ("Bäckerei", "Erika", "0171", "Hauptstr", "erika.example", "Farbe falsch", "Zu spät"):
        assert written not in exported, written
