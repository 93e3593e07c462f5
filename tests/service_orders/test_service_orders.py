"""Service orders, request to order, requests and custom offers as services."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.errors import DomainError, Forbidden, NotFound, RuleViolations
from backoffice.models import (
    AddressType,
    Offer,
    OfferState,
    OrderRequest,
    Partner,
    Party,
    RequestState,
    ServiceOrder,
    ServiceOrderEvent,
    ServiceOrderStatus,
)
from backoffice.services import conversations
from backoffice.services import service_orders as so
from tests.support.directory import category, published_partner

S = ServiceOrderStatus
# Wednesday 2026-11-04 22:30 UTC = 23:30 in Berlin (winter time).
NIGHT = datetime(2026, 11, 4, 22, 30, tzinfo=UTC)
NOON = datetime(2026, 11, 4, 11, 0, tzinfo=UTC)


@pytest.fixture
def shop(ctx, make):
    design = category("Design", "Design")
    schulz = published_partner(make, "schulz", design)
    other = published_partner(make, "meier", design)
    ctx.get(Partner, schulz.id).time_zone = "Europe/Berlin"
    ctx.commit()
    service = ctx.get(Partner, schulz.id)
    packages = sorted(
        (
            p
            for s in ctx.scalars(sa.select(so.Service).where(so.Service.partner_id == schulz.id))
            for p in s.packages
        ),
        key=lambda p: p.position,
    )
    new = make.address(type=AddressType.new_customer, last_name="Neukundin")
    regular = make.address(type=AddressType.customer, last_name="Stammkunde")
    return {
        "partner": service,
        "other": other,
        "packages": packages,
        "service_id": packages[0].service_id,
        "new": new,
        "regular": regular,
    }


def nights_for_new_customers(ctx, shop, packages=None):
    with transaction.unit_of_work(ctx):
        return so.save_request_setting(
            ctx,
            shop["partner"].id,
            shop["service_id"],
            enabled=True,
            audience="new_customers",
            package_ids=[p.id for p in (packages or shop["packages"])],
            weekdays=list(range(7)),
            windows=[("0:00", "6:00"), ("21:00", "0:00")],
        )


def order(ctx, customer, package, now=NOON):
    with transaction.unit_of_work(ctx):
        return so.place_order(ctx, customer.id, package.id, now=now).id


def test_a_direct_order_snapshots_scope_price_vat_and_delivery(ctx, shop):
    package = shop["packages"][1]  # Paket 2: 98.00, 6 days
    order_id = order(ctx, shop["regular"], package)
    package.price = Decimal("120.00")
    ctx.commit()
    found = ctx.get(ServiceOrder, order_id)
    assert (
        found.title,
        found.scope,
        found.gross,
        found.net,
        found.vat,
        found.vat_rate,
        found.delivery_days,
        found.status,
    ) == (
        "Leistung von schulz – Paket 2",
        "Beschreibung",
        Decimal("98.00"),
        Decimal("82.35"),
        Decimal("15.65"),
        Decimal("19.00"),
        6,
        S.ordered,
    )
    assert [(e.from_status, e.to_status, e.by) for e in found.events] == [(None, S.ordered, Party.customer)]


def test_the_order_moves_through_its_steps_and_each_is_recorded(ctx, shop):
    order_id = order(ctx, shop["regular"], shop["packages"][0])
    pid, cid = shop["partner"].id, shop["regular"].id
    steps = [
        ("accept", Party.partner),
        ("deliver", Party.partner),
        ("revision", Party.customer),
        ("deliver", Party.partner),
        ("confirm", Party.customer),
    ]
    for number, (action, by) in enumerate(steps):
        with transaction.unit_of_work(ctx):
            scope = {"partner_id": pid} if by is Party.partner else {"customer_id": cid}
            so.move_order(ctx, order_id, action, by, now=NOON + timedelta(hours=number + 1), **scope)
    found = ctx.get(ServiceOrder, order_id)
    ctx.refresh(found)
    assert found.status is S.completed
    assert found.due_at == NOON + timedelta(hours=1, days=3)
    assert [(e.from_status, e.to_status, e.by) for e in found.events] == [
        (None, S.ordered, Party.customer),
        (S.ordered, S.in_progress, Party.partner),
        (S.in_progress, S.delivered, Party.partner),
        (S.delivered, S.revision, Party.customer),
        (S.revision, S.delivered, Party.partner),
        (S.delivered, S.completed, Party.customer),
    ]


def test_illegal_steps_are_refused_with_a_clear_message(ctx, shop):
    order_id = order(ctx, shop["regular"], shop["packages"][0])
    pid, cid = shop["partner"].id, shop["regular"].id
    with pytest.raises(DomainError) as refused:
        so.move_order(ctx, order_id, "deliver", Party.partner, partner_id=pid)
    assert (refused.value.code, refused.value.message) == (
        "illegal_transition",
        "„Liefern“ ist nicht möglich, solange der Auftrag „Bestellt“ ist.",
    )
    with pytest.raises(Forbidden) as not_yours:
        so.move_order(ctx, order_id, "confirm", Party.partner, partner_id=pid)
    assert not_yours.value.message == "Nur die Kundin oder der Kunde kann das tun."
    with pytest.raises(NotFound):  # another partner's order
        so.move_order(ctx, order_id, "accept", Party.partner, partner_id=shop["other"].id)
    with pytest.raises(RuleViolations) as no_reason:
        so.move_order(ctx, order_id, "cancel", Party.customer, customer_id=cid, reason=" ")
    assert no_reason.value.fields == {"reason": ["Bitte sagen Sie, warum der Auftrag storniert wird."]}
    ctx.rollback()
    with transaction.unit_of_work(ctx):
        so.move_order(
            ctx, order_id, "cancel", Party.customer, customer_id=cid, reason="Doch nicht nötig", now=NOON
        )
    found = ctx.get(ServiceOrder, order_id)
    assert (found.status, found.cancelled_by, found.cancel_reason, found.cancelled_at) == (
        S.cancelled,
        Party.customer,
        "Doch nicht nötig",
        NOON,
    )
    with pytest.raises(DomainError) as again:
        so.move_order(ctx, order_id, "accept", Party.partner, partner_id=pid)
    assert again.value.message == "„Annehmen“ ist nicht möglich, solange der Auftrag „Storniert“ ist."


def test_request_to_order_applies_in_the_night_to_new_customers_for_chosen_packages(ctx, shop):
    first, second = shop["packages"]
    nights_for_new_customers(ctx, shop, packages=[first])
    new, regular = shop["new"], shop["regular"]
    order(ctx, regular, second)  # regular becomes an existing customer
    assert so.may_order_now(ctx, new.id, first.id, NIGHT) is False
    assert so.may_order_now(ctx, None, first.id, NIGHT) is False  # a visitor counts as new
    assert so.may_order_now(ctx, new.id, first.id, NOON) is True  # outside the windows
    assert so.may_order_now(ctx, new.id, second.id, NIGHT) is True  # another package
    assert so.may_order_now(ctx, regular.id, first.id, NIGHT) is True  # other audience
    with pytest.raises(DomainError) as refused:
        so.place_order(ctx, new.id, first.id, now=NIGHT)
    assert (refused.value.code, refused.value.status) == ("request_required", 409)
    ctx.rollback()
    # 23:30 in Berlin is 17:30 in New York: no window open there.
    ctx.get(Partner, shop["partner"].id).time_zone = "America/New_York"
    ctx.commit()
    assert so.may_order_now(ctx, new.id, first.id, NIGHT) is True
    # Switched off: direct again.
    ctx.get(Partner, shop["partner"].id).time_zone = "Europe/Berlin"
    with transaction.unit_of_work(ctx):
        so.save_request_setting(
            ctx,
            shop["partner"].id,
            shop["service_id"],
            enabled=False,
            audience="all_customers",
            package_ids=[first.id],
            weekdays=[],
            windows=[],
        )
    assert so.may_order_now(ctx, new.id, first.id, NIGHT) is True


def test_a_cancelled_order_does_not_make_an_existing_customer(ctx, shop):
    first = shop["packages"][0]
    nights_for_new_customers(ctx, shop)
    order_id = order(ctx, shop["new"], first)
    with transaction.unit_of_work(ctx):
        so.move_order(
            ctx, order_id, "cancel", Party.partner, partner_id=shop["partner"].id, reason="Keine Zeit"
        )
    assert so.may_order_now(ctx, shop["new"].id, first.id, NIGHT) is False


def test_the_setting_is_checked_and_read_back(ctx, shop):
    pid, sid = shop["partner"].id, shop["service_id"]
    foreign = shop["other"]
    with pytest.raises(RuleViolations) as invalid:
        so.save_request_setting(
            ctx,
            pid,
            sid,
            enabled=True,
            audience="alle",
            package_ids=[999999],
            weekdays=[],
            windows=[("25:00", "6:00"), ("6:00", "6:00")],
        )
    assert invalid.value.fields == {
        "audience": ["Wählen Sie Neukunden oder alle Kunden."],
        "package_ids": ["Wählen Sie Pakete dieser Leistung."],
        "weekdays": ["Wählen Sie mindestens einen Tag."],
        "window_0": ["Geben Sie die Zeiten in Stunden und Minuten an, z. B. 21:00."],
        "window_1": ["Ein Zeitfenster darf nicht zur selben Zeit beginnen und enden."],
    }
    ctx.rollback()
    with pytest.raises(NotFound):
        so.save_request_setting(
            ctx,
            foreign.id,
            sid,
            enabled=False,
            audience="all_customers",
            package_ids=[],
            weekdays=[],
            windows=[],
        )
    saved = nights_for_new_customers(ctx, shop)
    assert (saved.enabled, saved.audience.value, saved.weekdays, saved.windows) == (
        True,
        "new_customers",
        127,
        ((0, 360), (1260, 1440)),
    )


def request(ctx, shop, customer=None, now=NIGHT):
    with transaction.unit_of_work(ctx):
        return so.send_request(
            ctx,
            (customer or shop["new"]).id,
            shop["packages"][0].id,
            needs="Ein Logo in Grün",
            wished_start=date(2026, 11, 10),
            now=now,
        ).id


def offer_for(ctx, shop, request_id=None, conversation_id=None, expires_at=None, now=NIGHT):
    if conversation_id is None:
        conversation_id = ctx.get(OrderRequest, request_id).conversation_id
    with transaction.unit_of_work(ctx):
        return so.send_offer(
            ctx,
            shop["partner"].id,
            conversation_id,
            scope="Logo, drei Entwürfe",
            price=Decimal("150.00"),
            delivery_days=5,
            expires_at=expires_at,
            request_id=request_id,
            now=now + timedelta(minutes=10),
        ).id


def test_a_request_answered_by_an_offer_that_is_accepted_becomes_one_order(ctx, shop):
    nights_for_new_customers(ctx, shop)
    request_id = request(ctx, shop)
    found = ctx.get(OrderRequest, request_id)
    assert (found.state, found.needs, found.wished_start, found.answer_due_at) == (
        RequestState.pending,
        "Ein Logo in Grün",
        date(2026, 11, 10),
        NIGHT + timedelta(hours=48),
    )
    offer_id = offer_for(ctx, shop, request_id, expires_at=NIGHT + timedelta(days=2))
    offer = ctx.get(Offer, offer_id)
    conversation = conversations.conversation_of(ctx, found.conversation_id, customer_id=shop["new"].id)
    assert [m.body for m in conversation.messages] == [
        "Anfrage zum Auftrag „Paket 1“: Ein Logo in Grün",
        "Individuelles Angebot: Logo, drei Entwürfe — 150,00\xa0€, Lieferung in 5 Tagen "
        "(gültig bis 06.11.2026, 23:30)",
    ]
    assert offer.message_id == conversation.messages[1].id
    ctx.expire_all()
    assert ctx.get(OrderRequest, request_id).state is RequestState.offer_sent
    with transaction.unit_of_work(ctx):
        first = so.accept_offer(ctx, shop["new"].id, offer_id, now=NIGHT + timedelta(hours=1))
    with transaction.unit_of_work(ctx):
        again = so.accept_offer(ctx, shop["new"].id, offer_id, now=NIGHT + timedelta(hours=1))
    assert (again.order_id, again.repeated, first.repeated) == (first.order_id, True, False)
    orders = ctx.scalars(sa.select(ServiceOrder)).all()
    assert [(o.id, o.offer_id, o.gross, o.scope, o.delivery_days, o.customer_id) for o in orders] == [
        (first.order_id, offer_id, Decimal("150.00"), "Logo, drei Entwürfe", 5, shop["new"].id)
    ]
    assert ctx.get(OrderRequest, request_id).state is RequestState.accepted


def test_an_open_offer_may_be_accepted_where_request_to_order_applies(ctx, shop):
    nights_for_new_customers(ctx, shop)
    with transaction.unit_of_work(ctx):
        posted = conversations.start_conversation(
            ctx, shop["new"].id, shop["partner"].id, requirements="Logo", body="Hallo", now=NOON
        )
    offer_id = offer_for(ctx, shop, conversation_id=posted.conversation_id)
    assert so.may_order_now(ctx, shop["new"].id, shop["packages"][0].id, NIGHT) is False
    with transaction.unit_of_work(ctx):
        accepted = so.accept_offer(ctx, shop["new"].id, offer_id, now=NIGHT + timedelta(hours=1))
    assert ctx.get(ServiceOrder, accepted.order_id).status is S.ordered


def test_an_expired_offer_is_refused_at_acceptance_before_any_sweep(ctx, shop):
    nights_for_new_customers(ctx, shop)
    request_id = request(ctx, shop)
    offer_id = offer_for(ctx, shop, request_id, expires_at=NIGHT + timedelta(hours=1))
    with pytest.raises(DomainError) as refused:
        so.accept_offer(ctx, shop["new"].id, offer_id, now=NIGHT + timedelta(hours=1))
    assert (refused.value.code, refused.value.message) == (
        "offer_expired",
        "Dieses Angebot ist am 05.11.2026, 00:30 abgelaufen und kann nicht mehr angenommen werden.",
    )
    ctx.rollback()
    assert ctx.scalar(sa.select(sa.func.count()).select_from(ServiceOrder)) == 0


def test_the_sweep_expires_unanswered_requests_and_old_offers_once(ctx, shop):
    nights_for_new_customers(ctx, shop)
    unanswered = request(ctx, shop)
    answered = request(ctx, shop)
    offer_id = offer_for(ctx, shop, answered, expires_at=NIGHT + timedelta(hours=5))
    with transaction.unit_of_work(ctx):
        early = so.expire_due(ctx, now=NIGHT + timedelta(hours=4))
    with transaction.unit_of_work(ctx):
        late = so.expire_due(ctx, now=NIGHT + timedelta(hours=48))
    with transaction.unit_of_work(ctx):
        again = so.expire_due(ctx, now=NIGHT + timedelta(hours=49))
    assert (early, late, again) == (so.Expired(0, 0), so.Expired(1, 1), so.Expired(0, 0))
    ctx.expire_all()
    assert ctx.get(OrderRequest, unanswered).state is RequestState.expired
    assert ctx.get(OrderRequest, answered).state is RequestState.offer_expired
    assert ctx.get(Offer, offer_id).state is OfferState.expired
    with pytest.raises(DomainError) as refused:
        so.decline_request(ctx, shop["partner"].id, unanswered, "Leider nicht")
    assert refused.value.message == (
        "Diese Anfrage ist „Unbeantwortet abgelaufen“ und kann nicht mehr beantwortet werden."
    )


def test_declining_and_withdrawing(ctx, shop):
    nights_for_new_customers(ctx, shop)
    declined = request(ctx, shop)
    with transaction.unit_of_work(ctx):
        so.decline_request(
            ctx, shop["partner"].id, declined, "Gerade ausgebucht", now=NIGHT + timedelta(hours=1)
        )
    found = ctx.get(OrderRequest, declined)
    assert (found.state, found.decline_message) == (RequestState.declined, "Gerade ausgebucht")
    assert found.answered_at == NIGHT + timedelta(hours=1)
    withdrawn = request(ctx, shop)
    offer_id = offer_for(ctx, shop, withdrawn)
    with transaction.unit_of_work(ctx):
        so.withdraw_offer(ctx, shop["partner"].id, offer_id)
    with pytest.raises(DomainError) as refused:
        so.accept_offer(ctx, shop["new"].id, offer_id, now=NIGHT + timedelta(hours=1))
    assert (
        refused.value.message == "Dieses Angebot ist „Zurückgezogen“ und kann nicht mehr angenommen werden."
    )
    ctx.rollback()
    assert ctx.get(OrderRequest, withdrawn).state is RequestState.withdrawn
    refused_by_customer = offer_for(ctx, shop, request(ctx, shop))
    with transaction.unit_of_work(ctx):
        so.decline_offer(ctx, shop["new"].id, refused_by_customer)
    assert ctx.get(Offer, refused_by_customer).state is OfferState.declined
    with pytest.raises(NotFound):  # another customer's offer
        so.accept_offer(ctx, shop["regular"].id, refused_by_customer)


def test_offers_are_checked(ctx, shop):
    nights_for_new_customers(ctx, shop)
    request_id = request(ctx, shop)
    conversation_id = ctx.get(OrderRequest, request_id).conversation_id
    with pytest.raises(RuleViolations) as invalid:
        so.send_offer(
            ctx,
            shop["partner"].id,
            conversation_id,
            scope=" ",
            price=Decimal("1.234"),
            delivery_days=400,
            expires_at=NIGHT - timedelta(minutes=1),
            now=NIGHT,
        )
    assert invalid.value.fields == {
        "scope": ["Beschreiben Sie, was das Angebot umfasst."],
        "price": ["Geben Sie einen Preis in Euro an, z. B. 149,00."],
        "delivery_days": ["Geben Sie die Lieferzeit in Tagen an (0 bis 365)."],
        "expires_at": ["Das Ablaufdatum muss in der Zukunft liegen."],
    }
    ctx.rollback()
    with pytest.raises(NotFound):  # another partner's conversation
        so.send_offer(
            ctx, shop["other"].id, conversation_id, scope="x", price=Decimal("1.00"), delivery_days=1
        )


def test_a_declined_request_leaves_the_cancellation_rate_unchanged(ctx, shop):
    nights_for_new_customers(ctx, shop)
    pid = shop["partner"].id
    kept = order(ctx, shop["regular"], shop["packages"][0], now=NOON - timedelta(days=3))
    with transaction.unit_of_work(ctx):
        so.move_order(
            ctx, kept, "accept", Party.partner, partner_id=pid, now=NOON - timedelta(days=3, hours=-2)
        )
    cancelled = order(ctx, shop["regular"], shop["packages"][0], now=NOON - timedelta(days=2))
    with transaction.unit_of_work(ctx):
        so.move_order(
            ctx,
            cancelled,
            "cancel",
            Party.customer,
            customer_id=shop["regular"].id,
            reason="Zu teuer",
            now=NOON - timedelta(days=2),
        )
    before = so.metrics(ctx, pid, now=NOON)
    declined = request(ctx, shop, now=NOON - timedelta(days=1))
    with transaction.unit_of_work(ctx):
        so.decline_request(ctx, pid, declined, "Ausgebucht", now=NOON - timedelta(days=1, hours=-4))
    after = so.metrics(ctx, pid, now=NOON)
    assert (before.cancellation_rate, before.orders, before.cancelled) == (Decimal("50.0"), 2, 1)
    assert (after.cancellation_rate, after.orders, after.cancelled) == (Decimal("50.0"), 2, 1)
    # Response: the accepted order (2 h) and the declined request (4 h) in time; the order the
    # customer cancelled was never answered by the partner.
    assert (after.response_rate, after.response_hours, after.requests) == (Decimal("66.7"), Decimal("3.0"), 1)


def test_a_block_closes_open_requests_offers_and_orders(ctx, shop):
    nights_for_new_customers(ctx, shop)
    pid, new = shop["partner"].id, shop["new"]
    pending = request(ctx, shop)
    offered = request(ctx, shop)
    offer_id = offer_for(ctx, shop, offered)
    order_id = order(ctx, new, shop["packages"][1], now=NOON)
    finished = order(ctx, new, shop["packages"][1], now=NOON)
    for action in ("accept", "deliver", "complete"):
        with transaction.unit_of_work(ctx):
            so.move_order(ctx, finished, action, Party.partner, partner_id=pid)
    other_customer = request(ctx, shop, customer=shop["regular"])
    with transaction.unit_of_work(ctx):
        conversations.block_customer(ctx, pid, new.id, user_id=None, reason="Beleidigend", now=NIGHT)
    ctx.expire_all()
    assert [ctx.get(OrderRequest, r).state for r in (pending, offered, other_customer)] == [
        RequestState.closed,
        RequestState.closed,
        RequestState.pending,
    ]
    assert ctx.get(Offer, offer_id).state is OfferState.closed
    cancelled = ctx.get(ServiceOrder, order_id)
    assert (cancelled.status, cancelled.cancelled_by, cancelled.cancel_reason) == (
        S.cancelled,
        Party.partner,
        "Der Partner hat die Kundin oder den Kunden blockiert.",
    )
    assert ctx.get(ServiceOrder, finished).status is S.completed
    assert (
        ctx.scalar(
            sa.select(sa.func.count())
            .select_from(ServiceOrderEvent)
            .where(ServiceOrderEvent.order_id == order_id, ServiceOrderEvent.to_status == S.cancelled)
        )
        == 1
    )
    with pytest.raises(Forbidden):
        so.place_order(ctx, new.id, shop["packages"][1].id, now=NOON)
