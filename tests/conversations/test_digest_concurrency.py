"""Two digests at once on PostgreSQL: each partner's mail is queued once, and goes out once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import AddressType, OutboxMail, Party
from backoffice.services import conversations
from backoffice.tasks.mail import deliver
from backoffice.tasks.messages import run_digest
from tests.support.concurrency import run_together
from tests.support.directory import category, published_partner

NOW = datetime(2026, 11, 3, 10, 20, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrency tests need PostgreSQL (SQLite serialises writers: nothing can race)")


def test_two_digests_at_once_send_each_partners_mail_once(app, ctx, make, smtp_server):
    design = category("Design", "Design")
    partners = [published_partner(make, f"p{n}", design) for n in range(6)]
    customer = make.address(type=AddressType.customer, first_name="Anna", last_name="Becker")
    for partner in partners:
        with transaction.unit_of_work(ctx):
            posted = conversations.start_conversation(
                ctx, customer.id, partner.id, requirements="Logo", body="Hallo", now=NOW - timedelta(hours=1)
            )
            conversation = conversations.conversation_of(ctx, posted.conversation_id, partner_id=partner.id)
            for minute in range(3):
                conversations.post_message(
                    ctx,
                    conversation,
                    Party.customer,
                    f"Nachricht {minute}",
                    now=NOW + timedelta(minutes=minute),
                )
    run_at = NOW + timedelta(hours=1)
    outcomes = run_together(app, [lambda session: run_digest(session, now=run_at, chunk=2)] * 2)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert sorted(o["claimed"] for o in outcomes) == [0, 18]
    assert sum(o["mails"] for o in outcomes) == 6
    ctx.expire_all()
    digests = ctx.scalars(
        sa.select(OutboxMail.recipient).where(OutboxMail.kind == "conversation_digest")
    ).all()
    assert sorted(digests) == sorted(p.user.email for p in partners)
    deliver(ctx, limit=50)
    received = [m for m in smtp_server.messages if "ungelesene" in m["Subject"]]
    assert sorted(m["To"] for m in received) == sorted(p.user.email for p in partners)
    assert {m["Subject"] for m in received} == {"3 ungelesene Nachrichten in der letzten Stunde"}
    assert len({m["Message-ID"] for m in received}) == 6
