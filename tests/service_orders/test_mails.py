"""Mails of service orders, requests and offers: queued in the outbox with the change, sent
once to the real test SMTP server, in the recipient's language, linking to the right page.
A partner's mails go to its notification e-mail, else to its owner's login's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from backoffice import transaction
from backoffice.errors import DomainError
from backoffice.models import Address, AddressType, Language, OutboxMail, Partner, Party
from backoffice.services import conversations
from backoffice.services import service_orders as so
from backoffice.tasks.mail import deliver
from tests.support.directory import category, published_partner
from tests.support.smtp import parts

# Wednesday 2026-11-04 22:30 UTC = 23:30 in Berlin: request to order applies at night.
NIGHT = datetime(2026, 11, 4, 22, 30, tzinfo=UTC)
NOON = datetime(2026, 11, 4, 11, 0, tzinfo=UTC)
BASE = "https://desk.example"


@pytest.fixture
def shop(app, ctx, make, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", BASE + "/")
    design = category("Design", "Design")
    schulz = published_partner(make, "schulz", design)
    partner = ctx.get(Partner, schulz.id)
    partner.time_zone = "Europe/Berlin"
    ctx.commit()
    packages = sorted(
        (
            p
            for s in ctx.scalars(sa.select(so.Service).where(so.Service.partner_id == schulz.id))
            for p in s.packages
        ),
        key=lambda p: p.position,
    )
    return {"partner": partner, "packages": packages, "service_id": packages[0].service_id}


def owners_mail(ctx, partner: Partner) -> str:
    """Where a partner's mails go without a notification e-mail: its owner's login's."""
    return ctx.get(User, partner.user_id).email


def speaks(ctx, address_id: int, language: Language) -> None:
    ctx.get(Address, address_id).language = language
    ctx.commit()


def nights(ctx, shop):
    with transaction.unit_of_work(ctx):
        so.save_request_setting(
            ctx,
            shop["partner"].id,
            shop["service_id"],
            enabled=True,
            audience="new_customers",
            package_ids=[p.id for p in shop["packages"]],
            weekdays=list(range(7)),
            windows=[("0:00", "6:00"), ("21:00", "0:00")],
        )


def outbox(ctx) -> list[tuple[str, str]]:
    ctx.expire_all()
    return ctx.execute(sa.select(OutboxMail.kind, OutboxMail.recipient).order_by(OutboxMail.id)).all()


def received(ctx, smtp_server, count: int) -> list[tuple[str, str, str]]:
    assert deliver(ctx, limit=50) == {"sent": count, "failed": 0}
    return [
        (m["To"], str(make_header(decode_header(m["Subject"]))), parts(m)["text/plain"].replace("\r\n", "\n"))
        for m in smtp_server.wait_for(count)
    ]


def test_request_offer_acceptance_and_delivery_each_mail_once_in_the_recipients_language(
    ctx, make, shop, smtp_server
):
    partner = shop["partner"]
    speaks(ctx, partner.address_id, Language.en)
    partner_mail = owners_mail(ctx, partner)
    customer = make.address(type=AddressType.new_customer, first_name="Erika", last_name="Neukundin")
    nights(ctx, shop)

    with transaction.unit_of_work(ctx):
        found = so.send_request(
            ctx,
            customer.id,
            shop["packages"][0].id,
            needs="Ein Logo",
            wished_start=date(2026, 11, 9),
            now=NIGHT,
        )
        request_id, conversation_id = found.id, found.conversation_id
    with transaction.unit_of_work(ctx):
        offer_id = so.send_offer(
            ctx,
            partner.id,
            conversation_id,
            scope="Logo in drei Entwürfen",
            price=Decimal("149.00"),
            delivery_days=4,
            expires_at=NIGHT + timedelta(days=2),
            request_id=request_id,
            now=NIGHT + timedelta(minutes=5),
        ).id
    accepted = transaction.run(
        lambda s: so.accept_offer(s, customer.id, offer_id, now=NIGHT + timedelta(hours=1))
    )
    assert transaction.run(
        lambda s: so.accept_offer(s, customer.id, offer_id, now=NIGHT + timedelta(hours=2))
    ) == so.Accepted(accepted.order_id, True)
    for action in ("accept", "deliver"):
        with transaction.unit_of_work(ctx):
            so.move_order(ctx, accepted.order_id, action, Party.partner, partner_id=partner.id, now=NIGHT)
    with pytest.raises(DomainError), transaction.unit_of_work(ctx):  # refused: no mail
        so.move_order(ctx, accepted.order_id, "deliver", Party.partner, partner_id=partner.id, now=NIGHT)
    with transaction.unit_of_work(ctx):  # the customer's own step: no mail
        so.move_order(ctx, accepted.order_id, "revision", Party.customer, customer_id=customer.id, now=NIGHT)

    assert outbox(ctx) == [
        ("service_order_request", partner_mail),
        ("service_order_offer", customer.email),
        ("service_order_offer_accepted", partner_mail),
        ("service_order_in_progress", customer.email),
        ("service_order_delivered", customer.email),
    ]
    mails = received(ctx, smtp_server, 5)
    assert [(to, subject) for to, subject, _body in mails] == [
        (partner_mail, "New request to order from Erika Neukundin: Leistung von schulz"),
        (customer.email, "Ihr individuelles Angebot von Schulz GmbH"),
        (partner_mail, "Erika Neukundin accepted your offer"),
        (customer.email, "Schulz GmbH hat Ihre Bestellung angenommen"),
        (customer.email, "Schulz GmbH hat Ihre Bestellung geliefert"),
    ]
    request_body, offer_body, offer_accepted_body, accepted_body, delivered_body = (
        body for _to, _subject, body in mails
    )
    assert (
        'Erika Neukundin accepted your custom offer for "Leistung von schulz"; it became order '
        f"{accepted.order_id}:\n\nLogo in drei Entwürfen\n\nPrice: €149.00 incl. VAT, delivery time: 4 days."
    ) in offer_accepted_body
    assert offer_accepted_body.rstrip().endswith(f"Your orders: {BASE}/my/service-orders/")
    assert 'would like to order "Paket 1" of your service "Leistung von schulz"' in request_body
    assert "Wished start: 2026-11-09" in request_body
    assert "Please answer by 2026-11-06 23:30 CET" in request_body  # 48 hours, company zone
    assert request_body.rstrip().endswith(f"Your requests: {BASE}/my/service-orders/")
    assert "Preis: 149,00\xa0€ inkl. MwSt., Lieferzeit: 4 Tage." in offer_body
    assert "Das Angebot gilt bis 06.11.2026 23:30 CET." in offer_body
    assert offer_body.rstrip().endswith(f"Zu Ihren Angeboten: {BASE}/c/service-orders/")
    assert f"Bestellung {accepted.order_id} angenommen" in accepted_body
    assert "Geplante Lieferung bis 08.11.2026 23:30 CET." in accepted_body  # accepted + 4 days
    assert accepted_body.rstrip().endswith(
        f"Zu Ihrer Bestellung: {BASE}/c/service-orders/{accepted.order_id}"
    )
    assert delivered_body.rstrip().endswith(
        f"Zu Ihrer Bestellung: {BASE}/c/service-orders/{accepted.order_id}"
    )


def test_a_direct_order_mails_the_partner_and_a_declined_request_the_customer(ctx, make, shop, smtp_server):
    partner = shop["partner"]
    partner_mail = owners_mail(ctx, partner)
    regular = make.address(
        type=AddressType.customer, first_name="Sam", last_name="Regular", language=Language.en
    )
    newcomer = make.address(
        type=AddressType.new_customer, first_name="Nora", last_name="New", language=Language.en
    )
    nights(ctx, shop)
    with transaction.unit_of_work(ctx):  # at noon no window is open: a direct order
        order_id = so.place_order(ctx, regular.id, shop["packages"][1].id, now=NOON).id
    with transaction.unit_of_work(ctx):
        request_id = so.send_request(
            ctx, newcomer.id, shop["packages"][0].id, needs="Logo", wished_start=None, now=NIGHT
        ).id
    with transaction.unit_of_work(ctx):
        so.decline_request(ctx, partner.id, request_id, "Leider ausgebucht.", now=NIGHT)

    assert outbox(ctx) == [
        ("service_order_placed", partner_mail),
        ("service_order_request", partner_mail),
        ("service_order_request_declined", newcomer.email),
    ]
    mails = received(ctx, smtp_server, 3)
    assert [(to, subject) for to, subject, _body in mails] == [
        (partner_mail, "Neue Bestellung von Sam Regular: Leistung von schulz – Paket 2"),
        (partner_mail, "Neue Bestellanfrage von Nora New: Leistung von schulz"),
        (newcomer.email, "Schulz GmbH declined your request to order"),
    ]
    placed, request, declined = (body for _to, _subject, body in mails)
    assert f"Sam Regular hat bestellt (Bestellung {order_id}):" in placed
    assert "Preis: 98,00\xa0€ inkl. MwSt., Lieferzeit: 6 Tage." in placed
    assert placed.rstrip().endswith(f"Zu Ihren Bestellungen: {BASE}/my/service-orders/")
    assert "Gewünschter Beginn" not in request
    assert (
        'declined your request to order for "Leistung von schulz" and writes:\n\nLeider ausgebucht.'
        in declined
    )
    assert declined.rstrip().endswith(f"Your requests: {BASE}/c/service-orders/")


def test_without_a_public_url_the_mails_carry_no_link(app, ctx, make, shop, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "")
    regular = make.address(type=AddressType.customer, last_name="Stamm")
    with transaction.unit_of_work(ctx):
        so.place_order(ctx, regular.id, shop["packages"][0].id, now=NOON)
    ctx.expire_all()
    (body,) = ctx.scalars(sa.select(OutboxMail.body_text)).all()
    assert "http" not in body and "Zu Ihren Bestellungen" not in body


def test_a_day_before_expiry_the_partner_and_the_customer_are_reminded_once(ctx, make, shop, smtp_server):
    partner = shop["partner"]
    partner_mail = owners_mail(ctx, partner)
    asking = make.address(type=AddressType.new_customer, first_name="Nora", last_name="New")
    holding = make.address(
        type=AddressType.customer, first_name="Sam", last_name="Regular", language=Language.en
    )
    with transaction.unit_of_work(ctx):  # due at NIGHT + 48 h
        so.send_request(
            ctx, asking.id, shop["packages"][0].id, needs="Ein Logo", wished_start=None, now=NIGHT
        )
        posted = conversations.start_conversation(
            ctx, holding.id, partner.id, requirements="Flyer", body="Hallo", now=NIGHT
        )
        so.send_offer(
            ctx,
            partner.id,
            posted.conversation_id,
            scope="Flyer A5",
            price=Decimal("80.00"),
            delivery_days=2,
            expires_at=NIGHT + timedelta(hours=30),
            now=NIGHT,
        )
        so.send_offer(  # without an expiry: never reminded
            ctx,
            partner.id,
            posted.conversation_id,
            scope="Plakat",
            price=Decimal("90.00"),
            delivery_days=2,
            now=NIGHT,
        )
    before = len(outbox(ctx))

    def sweep(hours):
        return transaction.run(lambda s: so.remind_due(s, now=NIGHT + timedelta(hours=hours)))

    assert sweep(5) == so.Reminded(0, 0)
    assert sweep(7) == so.Reminded(0, 1)  # the offer expires in 23 hours, the request in 41
    assert sweep(25) == so.Reminded(1, 0)  # the request is due in 23 hours
    assert sweep(26) == so.Reminded(0, 0)
    assert sweep(50) == so.Reminded(0, 0)  # past its due time: the expiry sweep's, no reminder
    assert outbox(ctx)[before:] == [
        ("service_order_offer_reminder", holding.email),
        ("service_order_request_reminder", partner_mail),
    ]
    for kind in ("service_order_request", "service_order_offer", "conversation_first_contact"):
        ctx.execute(sa.delete(OutboxMail).where(OutboxMail.kind == kind))
    ctx.commit()
    (offer_to, offer_subject, offer_body), (request_to, request_subject, request_body) = received(
        ctx, smtp_server, 2
    )
    assert (offer_to, offer_subject) == (holding.email, "Your offer from Schulz GmbH expires soon")
    assert "is valid only until 2026-11-06 05:30 CET:\n\nFlyer A5\n\nPrice: €80.00 incl. VAT." in offer_body
    assert offer_body.rstrip().endswith(f"Your offers: {BASE}/c/service-orders/")
    assert (request_to, request_subject) == (
        partner_mail,
        "Bestellanfrage läuft in 24 Stunden ab: Leistung von schulz",
    )
    assert "Bestellanfrage von Nora New zu „Leistung von schulz“" in request_body
    assert "läuft sie am 06.11.2026 23:30 CET ab" in request_body
    assert request_body.rstrip().endswith(f"Zu Ihren Anfragen: {BASE}/my/service-orders/")


def test_an_accepted_offer_mails_the_partners_notification_address_once_with_the_acceptance(
    ctx, make, shop, smtp_server
):
    partner = shop["partner"]
    partner.notification_email = "auftraege@schulz.example"  # the job preferences' choice
    ctx.commit()
    customer = make.address(
        type=AddressType.customer, first_name="Eve", last_name="<script>alert(1)</script>",
        language=Language.en,
    )
    with transaction.unit_of_work(ctx):
        posted = conversations.start_conversation(
            ctx, customer.id, partner.id, requirements="Flyer", body="Hallo", now=NOON
        )
        offer_id = so.send_offer(
            ctx, partner.id, posted.conversation_id, scope="Flyer <b>A5</b>\nbeidseitig",
            price=Decimal("80.00"), delivery_days=2, now=NOON,
        ).id
    ctx.execute(sa.delete(OutboxMail))
    ctx.commit()

    def accepted_mails():
        ctx.expire_all()
        return ctx.execute(
            sa.select(OutboxMail.recipient, OutboxMail.message_id)
            .where(OutboxMail.kind == "service_order_offer_accepted")
        ).all()

    with pytest.raises(RuntimeError), transaction.unit_of_work(ctx):  # the acceptance fails later on
        so.accept_offer(ctx, customer.id, offer_id, now=NOON + timedelta(hours=1))
        raise RuntimeError("rolled back")
    assert accepted_mails() == []

    def accept(hours: int):
        moment = NOON + timedelta(hours=hours)
        return transaction.run(lambda s: so.accept_offer(s, customer.id, offer_id, now=moment))

    first, again = accept(1), accept(2)
    assert (first.repeated, again) == (False, so.Accepted(first.order_id, True))
    fixed = so.offer_accepted_message_id(offer_id)
    assert fixed == f"<offer-accepted-{offer_id}@partnerdesk.local>"
    assert accepted_mails() == [("auftraege@schulz.example", fixed)]
    with pytest.raises(sa.exc.IntegrityError), transaction.unit_of_work(ctx):  # the outbox's unique key
        so._mail_offer_accepted(ctx, offer_id, first.order_id, partner.id, customer.id, None, "x",
                                Decimal("1.00"), 1)
    assert accepted_mails() == [("auftraege@schulz.example", fixed)]

    assert deliver(ctx, limit=50) == {"sent": 1, "failed": 0}
    (message,) = smtp_server.wait_for(1)
    assert (message["To"], message["Message-ID"]) == ("auftraege@schulz.example", fixed)
    assert str(make_header(decode_header(message["Subject"]))) == (
        "Eve <script>alert(1)</script> hat Ihr Angebot angenommen"  # partner speaks German
    )
    body = parts(message)
    assert body["text/plain"].replace("\r\n", "\n") == (
        "Hallo,\n\nEve <script>alert(1)</script> hat Ihr individuelles Angebot angenommen; daraus ist die "
        f"Bestellung {first.order_id} entstanden:\n\nFlyer <b>A5</b>\nbeidseitig\n\n"
        "Preis: 80,00\xa0€ inkl. MwSt., Lieferzeit: 2 Tage.\n\n"
        "Bitte nehmen Sie die Bestellung an, sobald Sie mit der Arbeit beginnen.\n\n"
        f"Zu Ihren Bestellungen: {BASE}/my/service-orders/\n"
    )
    html = body["text/html"]
    assert "<script" not in html and "<b>A5" not in html
    assert "<p>Eve &lt;script&gt;alert(1)&lt;/script&gt; hat Ihr individuelles Angebot" in html
    assert "Flyer &lt;b&gt;A5&lt;/b&gt;\nbeidseitig</p>" in html.replace("\r\n", "\n")
    assert f'<a href="{BASE}/my/service-orders/"' in html and ">Zu Ihren Bestellungen</a>" in html
    assert '<html lang="de">' in html


def test_a_request_to_order_escapes_the_customers_words_in_the_html_part(ctx, make, shop):
    customer = make.address(type=AddressType.new_customer, first_name="Nora", last_name="New")
    nights(ctx, shop)
    with transaction.unit_of_work(ctx):
        so.send_request(
            ctx, customer.id, shop["packages"][0].id, needs='<script>alert("x")</script> & mehr',
            wished_start=None, now=NIGHT,
        )
    ctx.expire_all()
    text, html = ctx.execute(
        sa.select(OutboxMail.body_text, OutboxMail.body_html)
        .where(OutboxMail.kind == "service_order_request")
    ).one()
    assert 'Was gebraucht wird:\n<script>alert("x")</script> & mehr\n' in text  # plain text stays as written
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; mehr</p>" in html
