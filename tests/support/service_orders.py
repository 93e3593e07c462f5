"""Builders for service orders: a service with a package, a request to order, a custom offer
and an order between one partner and one customer, written directly (no findable profile
needed), and the write routes of the isolation walks taken from the URL map."""

from __future__ import annotations

import re
from decimal import Decimal

from backoffice import transaction
from backoffice.extensions import db
from backoffice.models import (
    Offer,
    OfferState,
    OrderRequest,
    Party,
    RequestState,
    Service,
    ServiceOrder,
    ServiceOrderEvent,
    ServiceOrderStatus,
    ServicePackage,
)
from backoffice.models.types import utcnow
from tests.support.directory import category

# Values that every POST walk uses for a route's non-id arguments: the step either side may
# take, and accepting an offer.
WRITE_VALUES = {"action": "cancel", "decision": "accept"}


def service_orders_between(partner_id: int, customer_id: int, conversation_id: int, *, marker: str) -> dict:
    """Ids of the new service, package, request, offer and order; `marker` is in their texts."""
    now = utcnow()
    kind = category("Rundgang", "Walk")
    with transaction.unit_of_work() as session:
        service = Service(partner_id=partner_id, category_id=kind.id, title="Leistung", active=True)
        service.packages = [ServicePackage(position=1, name="Paket", price=Decimal("49.00"), delivery_days=3)]
        session.add(service)
        session.flush()
        package_id = service.packages[0].id
        found = OrderRequest(
            partner_id=partner_id,
            customer_id=customer_id,
            service_id=service.id,
            package_id=package_id,
            conversation_id=conversation_id,
            needs=f"{marker}bedarf",
            state=RequestState.offer_sent,
            created_at=now,
            answer_due_at=now,
        )
        session.add(found)
        session.flush()
        offer = Offer(
            partner_id=partner_id,
            customer_id=customer_id,
            conversation_id=conversation_id,
            request_id=found.id,
            service_id=service.id,
            scope=f"{marker}umfang",
            price=Decimal("5.00"),
            delivery_days=1,
            state=OfferState.open,
            created_at=now,
        )
        order = ServiceOrder(
            partner_id=partner_id,
            customer_id=customer_id,
            service_id=service.id,
            package_id=package_id,
            title="Auftrag",
            scope=f"{marker}auftrag",
            gross=Decimal("49.00"),
            vat_rate=Decimal("19.00"),
            net=Decimal("41.18"),
            vat=Decimal("7.82"),
            delivery_days=3,
            status=ServiceOrderStatus.ordered,
            created_at=now,
        )
        session.add_all([offer, order])
        session.flush()
        session.add(
            ServiceOrderEvent(
                order_id=order.id, to_status=ServiceOrderStatus.ordered, by=Party.customer, at=now
            )
        )
        ids = {
            "service": service.id,
            "package": package_id,
            "request": found.id,
            "offer": offer.id,
            "order": order.id,
        }
    db.session.expire_all()
    return ids


def states(ids: dict) -> tuple:
    """What a refused write must leave as it was."""
    db.session.expire_all()
    return (
        db.session.get(OrderRequest, ids["request"]).state,
        db.session.get(Offer, ids["offer"]).state,
        db.session.get(ServiceOrder, ids["order"]).status,
        db.session.query(ServiceOrder).count(),
        db.session.query(Offer).count(),
    )


def write_routes(app, prefixes: tuple[str, ...]):
    """Every POST route under `prefixes` that names a record by id, from the URL map: a new
    route there is walked without touching the walks."""
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and rule.rule.startswith(prefixes) and rule.arguments:
            yield rule


def write_urls(rule, ids) -> list[str]:
    urls = []
    for pk in ids:
        url = rule.rule
        for arg in sorted(rule.arguments):
            url = re.sub(rf"<(?:[a-z]+:)?{arg}>", str(WRITE_VALUES.get(arg, pk)), url)
        urls.append(url)
    return urls


def plain_service(partner_id: int) -> int:
    """A service of the partner without anything ordered: its settings page has a form."""
    kind = category("Eigenes", "Own")
    with transaction.unit_of_work() as session:
        service = Service(partner_id=partner_id, category_id=kind.id, title="Eigene Leistung", active=True)
        session.add(service)
        session.flush()
        return service.id
