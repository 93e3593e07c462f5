"""Demo data of the customer work: conversations, expert jobs and service orders with offers and
a request to order, between the published partners and some customers, so that `make run`
shows the inbox, the jobs list and the orders pages with something in them (the demo partner
login among them). Goes through the services with a fixed `now` in the past (the same rules
as real use); the caller commits."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from .demo import DEMO_LOGINS
from .models import (
    Address,
    AddressType,
    Conversation,
    CustomerAccount,
    JobAssignment,
    JobStatus,
    Partner,
    PartnerProfile,
    Party,
    Service,
    ServicePackage,
)
from .services import conversation_tags, conversations, jobs, service_orders
from .services.directory import findable_condition

OPENINGS = [
    ("Shop-Umzug auf ein neues Theme",
     "Hallo, können Sie mein Theme umstellen? Der Shop hat etwa 200 Artikel."),
    ("Produktfotos für 30 Artikel", "Guten Tag, ich brauche freigestellte Fotos für meine neue Kollektion."),
    ("Steckdosen im Laden", "Hallo, im Verkaufsraum fehlen drei Steckdosen. Wann hätten Sie Zeit?"),
    ("Logo überarbeiten", "Unser Logo ist zehn Jahre alt. Können Sie es modernisieren?"),
    ("Zahlungsarten einrichten", "Ich möchte PayPal und Rechnungskauf anbieten. Geht das bis Monatsende?"),
    ("Wände im Büro streichen", "Zwei Räume, etwa 40 m², am liebsten an einem Samstag."),
]
PARTNER_ANSWERS = [
    "Gern, das übernehme ich. Schicken Sie mir bitte noch den Zugang zum Shop.",
    "Danke für Ihre Anfrage! Ich melde mich morgen mit einem Vorschlag.",
    "Das ist gut machbar. Passt Ihnen ein Termin nächste Woche?",
]
CUSTOMER_ANSWERS = [
    "Prima, danke! Den Zugang schicke ich Ihnen heute Abend.",
    "Nächste Woche passt gut, am liebsten vormittags.",
    "Was würde das ungefähr kosten?",
]
JOB_TEXTS = [
    "Unser Onlineshop braucht ein neues Theme und schnellere Ladezeiten.",
    "Wir suchen Hilfe beim Einrichten von Versandregeln für DE, AT und CH.",
    "Bitte 25 Produktfotos auf weißem Hintergrund erstellen.",
    "Die Rechnungsvorlage im Shop soll unser neues Logo zeigen.",
    "Im Lager sollen vier Lampen und zwei Steckdosen ergänzt werden.",
]
TAG = "Rückruf"


@dataclass
class DemoWork:
    conversations: int = 0
    messages: int = 0
    jobs: int = 0
    job_statuses: int = 0
    orders: int = 0
    open_offers: int = 0
    requests: int = 0


@dataclass(frozen=True)
class _Cast:
    demo_partner: Partner
    partners: list[Partner]
    customers: list[Address]


def _cast(session, *, partners: int, customers: int) -> _Cast | None:
    """The demo partner login's partner, further findable partners with active services, and
    customers with an e-mail address (each given a portal account)."""
    address_id = next(a for _, _, role, _, _, a in DEMO_LOGINS if role == "Partner")
    findable = (
        select(Partner)
        .join(PartnerProfile, PartnerProfile.partner_id == Partner.id)
        .where(findable_condition(), Partner.available.is_(True))
        .order_by(Partner.id)
    )
    demo_partner = session.scalar(findable.where(Partner.address_id == address_id))
    others = session.scalars(findable.where(Partner.address_id != address_id).limit(partners)).all()
    found = session.scalars(
        select(Address)
        .where(Address.type == AddressType.customer, Address.email.is_not(None))
        .order_by(Address.id)
        .limit(customers)
    ).all()
    if demo_partner is None or not others or len(found) < 3:
        return None
    with_account = set(session.scalars(select(CustomerAccount.address_id).where(
        CustomerAccount.address_id.in_([c.id for c in found]))))
    for customer in found:
        if customer.id not in with_account:
            session.add(CustomerAccount(address_id=customer.id))
    session.flush()
    return _Cast(demo_partner, list(others), list(found))


def _services(session, partner_id: int) -> list[Service]:
    return session.scalars(
        select(Service).where(Service.partner_id == partner_id, Service.active.is_(True)).order_by(Service.id)
    ).all()


def _packages(session, partner_id: int) -> list[ServicePackage]:
    return session.scalars(
        select(ServicePackage)
        .join(Service)
        .where(Service.partner_id == partner_id, Service.active.is_(True))
        .order_by(ServicePackage.id)
    ).all()


def seed_demo_conversations(
    session, cast: _Cast, rnd: random.Random, now: datetime, count: int = 20
) -> tuple[int, int]:
    """`count` conversations of a few messages each over the last four weeks, every third with the
    demo partner; the demo partner has read some of them (the rest count as unread), one is
    tagged. Returns (conversations, messages)."""
    messages = 0
    demo = cast.demo_partner
    tagged = False
    for n in range(count):
        partner = demo if n % 3 == 0 else cast.partners[n % len(cast.partners)]
        customer = cast.customers[n % len(cast.customers)]
        services = _services(session, partner.id)
        when = now - timedelta(days=rnd.randint(2, 28), hours=rnd.randint(0, 10))
        requirements, body = rnd.choice(OPENINGS)
        posted = conversations.start_conversation(
            session, customer.id, partner.id, requirements=requirements, body=body,
            service_id=services[0].id if services and rnd.random() < 0.5 else None, now=when)
        messages += 1
        conversation = session.get(Conversation, posted.conversation_id)
        unanswered = partner is demo and n % 6 == 3  # the customer's first message, still unread
        for turn in range(0 if unanswered else rnd.randint(1, 3)):
            when += timedelta(hours=rnd.randint(1, 20))
            if turn % 2 == 0:
                conversations.post_message(session, conversation, Party.partner, rnd.choice(PARTNER_ANSWERS),
                                           author_user_id=partner.user_id, now=when)
            else:
                conversations.post_message(session, conversation, Party.customer,
                                           rnd.choice(CUSTOMER_ANSWERS), now=when)
            messages += 1
        if partner is demo and demo.user_id is not None and n % 12 == 0:
            conversations.mark_read(session, conversation.id, demo.user_id, now=when)
        if partner is demo and not tagged:
            tag = conversation_tags.create_tag(session, demo.id, TAG)
            conversation_tags.apply_tags(session, demo.id, conversation.id, [tag.id])
            tagged = True
    return count, messages


def seed_demo_jobs(session, cast: _Cast, rnd: random.Random, now: datetime) -> tuple[int, int]:
    """Direct jobs in every status a partner meets (new, opened, replied, awaiting response,
    completed, declined, one expired by the sweep) and one matched job; about half with the
    demo partner. Returns (jobs, distinct statuses)."""
    plan = [JobStatus.expired] + [JobStatus.new] * 3 + [JobStatus.opened] + [JobStatus.replied] * 3 + \
        [JobStatus.awaiting_response] * 3 + [JobStatus.completed] * 2 + [JobStatus.declined]
    statuses = set()
    posted_jobs = 0
    for n, status in enumerate(plan):
        partner = cast.demo_partner if n % 2 == 0 else cast.partners[n % len(cast.partners)]
        customer = cast.customers[(n + 1) % len(cast.customers)]
        services = _services(session, partner.id)
        if status is JobStatus.expired:
            when = now - timedelta(days=6)
        elif status in (JobStatus.new, JobStatus.opened):  # within their 72 hours: the sweep keeps them
            when = now - timedelta(hours=rnd.randint(4, 30))
        else:
            when = now - timedelta(days=rnd.randint(3, 20), hours=rnd.randint(0, 8))
        values = {"service_id": str(rnd.choice(services).id), "requirements": rnd.choice(JOB_TEXTS),
                  "priority_time": rnd.randint(1, 3), "priority_cost": 2, "priority_quality": 3}
        posted = jobs.post_direct_job(session, customer.id, partner.id, values, now=when)
        posted_jobs += 1
        assignment = session.scalars(select(JobAssignment).where(
            JobAssignment.job_id == posted.job_id)).one()
        user_id = partner.user_id
        if status is JobStatus.expired:
            jobs.expire_due(session, now=when + timedelta(hours=jobs.EXPIRY_HOURS + 1))
        elif status is JobStatus.opened:
            jobs.open_job(session, partner.id, assignment.id, user_id=user_id, now=when + timedelta(hours=2))
        elif status is JobStatus.declined:
            jobs.decline_by_partner(session, partner.id, assignment.id,
                                    "Dafür haben wir gerade keine Kapazität.", user_id=user_id,
                                    now=when + timedelta(hours=5))
        elif status is not JobStatus.new:
            replied = when + timedelta(hours=rnd.randint(1, 12))
            jobs.reply(session, partner.id, assignment.id, rnd.choice(PARTNER_ANSWERS), user_id=user_id,
                       now=replied)
            if status is JobStatus.awaiting_response:
                jobs.write_as_customer(session, customer.id, assignment.id, rnd.choice(CUSTOMER_ANSWERS),
                                       now=replied + timedelta(hours=rnd.randint(1, 20)))
            elif status is JobStatus.completed:
                jobs.mark(session, partner.id, assignment.id, JobStatus.completed, user_id=user_id,
                          now=replied + timedelta(days=2))
        session.refresh(assignment)
        statuses.add(assignment.status)
    profile = session.get(PartnerProfile, cast.demo_partner.id)
    services = _services(session, cast.demo_partner.id)
    if profile is not None and services:
        jobs.post_match_job(session, cast.customers[0].id, {
            "category_id": str(services[0].category_id), "requirements": JOB_TEXTS[0],
            "postal_code": profile.postal_code}, now=now - timedelta(hours=6))
        posted_jobs += 1
    return posted_jobs, len(statuses)


def seed_demo_service_orders(session, cast: _Cast, rnd: random.Random, now: datetime) -> tuple[int, int, int]:
    """Service orders in every state, custom offers in conversations (some open, one accepted
    into an order) and the demo partner's request to order with one pending request.
    Returns (orders, open offers, requests)."""
    steps = {  # the partner's (p) and customer's (c) actions after the order, one day apart
        "ordered": [], "in_progress": [("accept", "p")], "delivered": [("accept", "p"), ("deliver", "p")],
        "completed": [("accept", "p"), ("deliver", "p"), ("confirm", "c")],
        "revision": [("accept", "p"), ("deliver", "p"), ("revision", "c")], "cancelled": [("cancel", "c")],
    }
    plan = ["ordered", "in_progress", "delivered", "completed", "revision", "cancelled",
            "ordered", "in_progress", "completed"]
    orders = 0
    for n, state in enumerate(plan):
        partner = cast.demo_partner if n % 2 == 0 else cast.partners[n % len(cast.partners)]
        customer = cast.customers[(n + 2) % len(cast.customers)]
        package = rnd.choice(_packages(session, partner.id))
        when = now - timedelta(days=rnd.randint(len(steps[state]) + 2, 30))
        order = service_orders.place_order(session, customer.id, package.id, now=when)
        orders += 1
        for action, side in steps[state]:
            when += timedelta(days=1, hours=rnd.randint(0, 6))
            if side == "p":
                service_orders.move_order(session, order.id, action, Party.partner, partner_id=partner.id,
                                          user_id=partner.user_id, now=when)
            else:
                service_orders.move_order(session, order.id, action, Party.customer, customer_id=customer.id,
                                          reason="Hat sich erledigt, danke." if action == "cancel" else None,
                                          now=when)
    open_offers = 0
    threads = session.scalars(select(Conversation).where(Conversation.declined_at.is_(None))
                              .order_by(Conversation.id)).all()
    demo_threads = [c for c in threads if c.partner_id == cast.demo_partner.id][:3]
    other_threads = [c for c in threads if c.partner_id != cast.demo_partner.id][:2]
    for n, conversation in enumerate(demo_threads + other_threads):
        when = max(conversation.last_message_at, now - timedelta(days=3)) + timedelta(hours=1)
        offer = service_orders.send_offer(
            session, conversation.partner_id, conversation.id,
            scope="Einrichtung wie besprochen, inkl. Test", price=Decimal(rnd.randrange(90, 900)),
            delivery_days=rnd.choice((3, 5, 10)),
            user_id=session.get(Partner, conversation.partner_id).user_id,
            now=min(when, now - timedelta(hours=1)))
        if n == 1:  # the demo partner's second offer was accepted: an order from an offer
            service_orders.accept_offer(session, conversation.customer_id, offer.id,
                                        now=now - timedelta(minutes=30))
            orders += 1
        else:
            open_offers += 1
    services = _services(session, cast.demo_partner.id)
    service = services[-1]
    package_ids = [p.id for p in service.packages]
    service_orders.save_request_setting(
        session, cast.demo_partner.id, service.id, enabled=True, audience="new_customers",
        package_ids=package_ids, weekdays=list(range(7)), windows=[("20:00", "8:00")])
    service_orders.send_request(session, cast.customers[-1].id, package_ids[0],
                                needs="Bitte zuerst kurz telefonieren, ob das zu meinem Shop passt.",
                                wished_start=None, now=now - timedelta(hours=3))
    return orders, open_offers, 1


def seed_demo_work(session, *, now: datetime | None = None, seed: int = 5, partners: int = 8,
                   customers: int = 10) -> DemoWork:
    """All three areas once (nothing when conversations exist already or nobody fits)."""
    if session.scalar(select(Conversation.id).limit(1)) is not None:
        return DemoWork()
    cast = _cast(session, partners=partners, customers=customers)
    if cast is None:
        return DemoWork()
    rnd = random.Random(seed)
    now = (now or datetime.now(UTC)) - timedelta(minutes=5)
    result = DemoWork()
    result.conversations, result.messages = seed_demo_conversations(session, cast, rnd, now)
    result.jobs, result.job_statuses = seed_demo_jobs(session, cast, rnd, now)
    result.orders, result.open_offers, result.requests = seed_demo_service_orders(session, cast, rnd, now)
    session.flush()
    return result
