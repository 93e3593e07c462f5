"""Twenty customers' clicks on one offer at once (PostgreSQL, real threads): one order, and
one "offer accepted" mail to the partner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import AddressType, Offer, OfferState, OutboxMail, ServiceOrder
from backoffice.services import conversations
from backoffice.services import service_orders as so
from tests.support.concurrency import run_together
from tests.support.directory import category, published_partner

NOW = datetime(2026, 11, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrency tests need PostgreSQL (SQLite serialises writers: nothing can race)")


def test_twenty_concurrent_accepts_make_one_order_and_one_mail(app, ctx, make):
    partner = published_partner(make, "schulz", category("Design", "Design"))
    customer = make.address(type=AddressType.customer, last_name="Kundin")
    with transaction.unit_of_work(ctx):
        posted = conversations.start_conversation(
            ctx, customer.id, partner.id, requirements="Logo", body="Hallo", now=NOW
        )
        offer_id = so.send_offer(
            ctx,
            partner.id,
            posted.conversation_id,
            scope="Logo",
            price=Decimal("99.00"),
            delivery_days=3,
            expires_at=NOW + timedelta(days=1),
            now=NOW,
        ).id
    customer_id = customer.id

    def accept(session):
        return transaction.run(
            lambda s: so.accept_offer(s, customer_id, offer_id, now=NOW + timedelta(hours=1)),
            session=session,
            retries=2,
        )

    outcomes = run_together(app, [accept] * 20)
    assert all(isinstance(o, so.Accepted) for o in outcomes), [
        o for o in outcomes if not isinstance(o, so.Accepted)
    ]
    ctx.expire_all()
    orders = ctx.scalars(sa.select(ServiceOrder.id).where(ServiceOrder.offer_id == offer_id)).all()
    assert len(orders) == 1
    assert {o.order_id for o in outcomes} == set(orders)
    assert sorted(o.repeated for o in outcomes) == [False] + [True] * 19
    assert ctx.get(Offer, offer_id).state is OfferState.accepted
    assert ctx.execute(
        sa.select(OutboxMail.kind, OutboxMail.message_id)
        .where(OutboxMail.kind == "service_order_offer_accepted")
    ).all() == [("service_order_offer_accepted", so.offer_accepted_message_id(offer_id))]
