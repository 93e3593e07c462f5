"""A returned direct debit tells the partner by mail, once, through the outbox: the bank's
reason, the fee, the open amount, in the partner's language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.errors import Conflict, InvalidInput
from backoffice.models import Language, OutboxMail, SepaDebit
from backoffice.services.billing import Billable, Period, issue_partner_statement
from backoffice.services.direct_debits import create_debit_file, record_return
from backoffice.tasks.mail import deliver
from tests.support.smtp import parts

MANDATE = dict(iban="DE02120300000000202051", mandate_reference="PD-0001", mandate_date=date(2026, 1, 5))


def collected(app, ctx, partner) -> int:
    """Partner's November statement (119.00 €) collected in a file; the debit's id."""
    item = Billable("lead_charge", 1, "Anfrage 1", D("100.00"), D("19"), date(2026, 11, 3))
    with transaction.unit_of_work(ctx):
        issue_partner_statement(ctx, partner, Period.month(2026, 11), [item], date(2026, 12, 15), 7)
    with transaction.unit_of_work(ctx):
        create_debit_file(ctx, date(2026, 12, 15), app.config)
    return ctx.execute(sa.select(SepaDebit.id)).scalar_one()


def outbox(ctx):
    ctx.rollback()
    return ctx.execute(sa.select(OutboxMail).where(OutboxMail.kind == "debit_returned")).scalars().all()


def test_a_return_mails_the_partner_once_with_reason_and_fee(app, ctx, make, smtp_server):
    schulz = make.partner("schulz", notification_email="buchhaltung@schulz.example", **MANDATE)
    debit = collected(app, ctx, schulz)
    with transaction.unit_of_work(ctx):
        record_return(ctx, debit, date(2026, 12, 28), "AC04 Konto erloschen", D("3.5"))
    with pytest.raises(Conflict), transaction.unit_of_work(ctx):  # the bank reports it twice
        record_return(ctx, debit, date(2026, 12, 29), "AC04 Konto erloschen", D("3.50"))
    assert len(outbox(ctx)) == 1
    assert deliver(ctx) == {"sent": 1, "failed": 0}
    assert deliver(ctx) == {"sent": 0, "failed": 0}
    [message] = smtp_server.messages
    assert message["To"] == "buchhaltung@schulz.example"
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "Lastschrift zurückgegeben: Rechnung PR-000001"
    text = " ".join(parts(message)["text/plain"].split())
    assert ("Ihre Bank hat unsere Lastschrift über 119,00 € für die Rechnung PR-000001 am 28.12.2026 "
            "zurückgegeben.") in text
    assert "Grund laut Bank: AC04 Konto erloschen" in text
    assert "Die Bank hat uns dafür 3,50 € berechnet." in text
    assert "Der Betrag von 119,00 € ist damit wieder offen." in text


def test_an_english_partner_without_fee_gets_the_english_mail(app, ctx, make, smtp_server):
    lee = make.partner("lee", **MANDATE)
    lee.address.language = Language.en
    ctx.commit()
    debit = collected(app, ctx, lee)
    with transaction.unit_of_work(ctx):
        record_return(ctx, debit, date(2026, 12, 28), "", D("0"))
    [mail] = outbox(ctx)
    assert mail.recipient == "lee@partnerdesk.test" and mail.language == "en"  # the login's address
    assert mail.subject == "Direct debit returned: invoice PR-000001"
    text = " ".join(mail.body_text.split())
    assert "your bank returned our direct debit of €119.00 for invoice PR-000001 on Dec 28, 2026." in text
    assert "Reason given by the bank: none given" in text and "charged us" not in text


def test_a_refused_return_mails_nothing(app, ctx, make):
    schulz = make.partner("schulz", **MANDATE)
    debit = collected(app, ctx, schulz)
    with pytest.raises(InvalidInput), transaction.unit_of_work(ctx):
        record_return(ctx, debit, date(2026, 12, 28), "AC04", D("-1"))
    assert outbox(ctx) == []
