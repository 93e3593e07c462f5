"""Two reminder sweeps at once (PostgreSQL, real threads): each reminder is mailed once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import AddressType, OutboxMail
from backoffice.services import conversations
from backoffice.services import service_orders as so
from tests.support.concurrency import run_together
from tests.support.directory import category, published_partner

NOW = datetime(2026, 11, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrency tests need PostgreSQL (SQLite serialises writers: nothing can race)")


def test_two_sweeps_at_once_remind_each_request_and_offer_once(app, ctx, make):
    partner = published_partner(make, "schulz", category("Design", "Design"))
    package = ctx.scalars(
        sa.select(so.ServicePackage).join(so.Service).where(so.Service.partner_id == partner.id)
    ).first()
    customers = [make.address(type=AddressType.customer, last_name=f"Kunde{n}") for n in range(4)]
    with transaction.unit_of_work(ctx):
        for customer in customers[:2]:
            so.send_request(ctx, customer.id, package.id, needs="Logo", wished_start=None, now=NOW)
        for customer in customers[2:]:
            posted = conversations.start_conversation(
                ctx, customer.id, partner.id, requirements="Logo", body="Hallo", now=NOW
            )
            so.send_offer(
                ctx,
                partner.id,
                posted.conversation_id,
                scope="Logo",
                price=Decimal("99.00"),
                delivery_days=3,
                expires_at=NOW + timedelta(hours=40),
                now=NOW,
            )
    run_at = NOW + timedelta(hours=30)  # requests due in 18 hours, offers expire in 10
    outcomes = run_together(
        app, [lambda session: transaction.run(lambda s: so.remind_due(s, now=run_at), session=session)] * 2
    )
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    # Between them the two claimed every reminder once (however they split the rows).
    assert (sum(o.requests for o in outcomes), sum(o.offers for o in outcomes)) == (2, 2)
    ctx.expire_all()
    kinds = ctx.scalars(
        sa.select(OutboxMail.kind).where(OutboxMail.kind.like("%_reminder")).order_by(OutboxMail.kind)
    ).all()
    assert kinds == ["service_order_offer_reminder"] * 2 + ["service_order_request_reminder"] * 2
