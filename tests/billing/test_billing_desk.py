"""Finance's billing pages: statements with their PDF, a SEPA file, a return, a transfer
typed the German way; other roles cannot use them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import Payment, SepaDebit, SepaFile
from backoffice.services.billing import Billable, Period, issue_partner_statement
from reports.einvoice import xml_of
from tests.support.http import csrf_token, euros, login


@pytest.fixture
def statements(ctx, make):
    schulz = make.partner("schulz", iban="DE02120300000000202051", mandate_reference="PD-0001",
                          mandate_date=date(2026, 1, 5))
    meier = make.partner("meier")
    ids = []
    for n, partner in enumerate((schulz, meier), 1):
        item = Billable("lead_charge", n, f"Anfrage {n} (Elektro)", D("100.00"), D("19"), date(2026, 11, 3))
        with transaction.unit_of_work(ctx):
            ids.append(issue_partner_statement(ctx, partner, Period.month(2026, 11), [item],
                                               date(2026, 12, 15), 7))
    return ids


def test_finance_collects_records_a_return_and_a_transfer(app, ctx, make, statements):
    make.user("fiona", "Finance")
    client = login(app.test_client(), "fiona")
    page = client.get("/billing/").get_data(as_text=True)
    assert "PR-000001" in page and "PR-000002" in page and euros(page) == [D("119.00")] * 4
    pdf = client.get(f"/billing/statement/{statements[0]}.pdf")
    assert pdf.status_code == 200 and b"PR-000001" in xml_of(pdf.data)

    token = csrf_token(client, "/billing/")
    made = client.post("/billing/sepa-files", data={"csrf_token": token}, follow_redirects=True)
    assert "mit 1 Lastschrift(en) über 119,00\xa0€ erstellt" in made.get_data(as_text=True)
    file = ctx.execute(sa.select(SepaFile)).scalar_one()
    download = client.get(f"/billing/sepa-files/{file.id}.xml")
    assert download.status_code == 200 and b"<MndtId>PD-0001</MndtId>" in download.data

    debit = ctx.execute(sa.select(SepaDebit)).scalar_one()
    token = csrf_token(client, f"/billing/statement/{statements[0]}")
    client.post(f"/billing/debit/{debit.id}/return", data={
        "csrf_token": token, "returned_on": "28.12.2026", "reason": "MD06", "fee": "3,50"})
    ctx.expire_all()
    assert ctx.get(SepaDebit, debit.id).return_fee == D("3.50")

    token = csrf_token(client, f"/billing/statement/{statements[1]}")
    client.post(f"/billing/statement/{statements[1]}/transfer", data={
        "csrf_token": token, "amount": "119,00", "paid_on": "20.12.2026",
        "reference": "Überweisung Meier"})
    transfer = ctx.execute(sa.select(Payment).where(Payment.method == "transfer")).scalar_one()
    assert (transfer.amount, transfer.paid_on) == (D("119.00"), date(2026, 12, 20))
    page = client.get(f"/billing/statement/{statements[1]}").get_data(as_text=True)
    assert 'data-test="open-amount">0,00\xa0€' in page


def test_a_mistyped_amount_is_refused_with_a_message(app, ctx, make, statements):
    make.user("fiona", "Finance")
    client = login(app.test_client(), "fiona")
    url = f"/billing/statement/{statements[1]}"
    token = csrf_token(client, url)
    answer = client.post(f"{url}/transfer", data={"csrf_token": token, "amount": "zwölf",
                                                  "paid_on": "20.12.2026"},
                         headers={"Referer": url}, follow_redirects=True)
    assert answer.status_code == 200
    assert "1.234,56" in answer.get_data(as_text=True)
    assert ctx.execute(sa.select(sa.func.count(Payment.id))).scalar() == 0


@pytest.mark.parametrize("role", ["Partner", "Shop"])
def test_other_roles_cannot_open_billing(app, make, statements, role):
    make.user("other", role)
    client = login(app.test_client(), "other") if role != "Shop" else app.test_client()
    statement = f"/billing/statement/{statements[0]}"
    for url in ("/billing/", statement, f"{statement}.pdf"):
        answer = client.get(url)
        if role == "Shop":   # not signed in (a shop login has no Desk session): the sign-in page
            assert (answer.status_code, answer.headers["Location"]) == (
                302, f"/login/?next=http://localhost{url}"), url
        else:
            assert answer.status_code == 403, url
        assert b"PR-000001" not in answer.data
