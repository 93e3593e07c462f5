"""Finance's start page and Excel exports, the partner's own billing page and exports: exact
figures, German headers, typed and formula-safe cells, and nothing of another partner."""

from __future__ import annotations

import io
import re
from datetime import datetime
from decimal import Decimal as D

import openpyxl
import pytest
import sqlalchemy as sa

from backoffice.models import Payment
from reports.einvoice import xml_of
from tests.billing.conftest import TODAY
from tests.support.http import csrf_token, euros, login

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
INVOICE_HEADERS = ["Rechnungsnummer", "Art", "Partner", "Name des Partners", "Rechnungsdatum", "Leistung vom",
                   "Leistung bis", "Fällig am", "Netto", "MwSt.", "Brutto", "Bezahlt", "Offener Betrag",
                   "Mandatsreferenz"]
CHARGE_HEADERS = ["Berechnet am", "Anfrage", "Branche", "Partner", "Netto", "MwSt.-Satz", "MwSt.", "Brutto",
                  "Rechnungsnummer"]
PAYMENT_HEADERS = ["Bezahlt am", "Rechnungsnummer", "Partner", "Zahlungsart", "Betrag", "Verwendungszweck"]


@pytest.fixture(autouse=True)
def december(monkeypatch):
    for module in ("backoffice.views.billing", "backoffice.views.start"):
        monkeypatch.setattr(f"{module}.company_today", lambda: TODAY)


def flat(html: str) -> str:
    """Whitespace (no-break spaces too) as single spaces: the page's text as a reader sees it."""
    return " ".join(html.split())


def sheet(response):
    assert response.status_code == 200 and response.mimetype == XLSX
    return openpyxl.load_workbook(io.BytesIO(response.data)).active


def rows(ws):
    return [list(row) for row in ws.iter_rows(values_only=True)]


def test_finance_start_page_shows_the_billing_figures(app, month, make):
    make.user("fiona", "Finance")
    page = flat(login(app.test_client(), "fiona").get("/").get_data(as_text=True))
    section = page[page.index('data-test="start-billing"'):]
    assert ('data-test="open-amount"> <div class="value"><a href="/billing/?open=1">132,80 €</a></div> '
            '<div class="label">Offen auf Partnerrechnungen (2)</div>') in section
    assert ('data-test="uninvoiced"> <div class="value">21,00 €</div> '
            '<div class="label">Anfragekosten dieses Monats, noch nicht berechnet (netto, 2)</div>'
            ) in section
    assert 'data-test="owed-to-partners"> <div class="value"><a href="/billing/?open=1">11,90 €' in section
    assert 'data-test="partner-invoices-month"> <div class="value"><a href="/billing/">2</a>' in section
    assert 'data-test="credit-notes-month"> <div class="value"><a href="/billing/">1</a>' in section
    chart = section[section.index('data-test="chart-partner-revenue"'):section.index("</svg>")]
    assert "<title>Nov. 26: 120,00 €</title>" in chart and "<title>Okt. 26: -10,00 €</title>" in chart
    returns = section[section.index('data-test="billing-returns"'):]
    assert "PR-000001" in returns and "MD06 Rückgabe auf Verlangen" in returns
    assert euros(returns) == [D("119.00"), D("3.50")]   # the amount and the bank's fee
    assert "2026-11" in section[section.index('data-test="billing-runs"'):]


def test_finance_exports_a_month_of_invoices_charges_and_payments(app, month, make):
    make.user("fiona", "Finance")
    client = login(app.test_client(), "fiona")
    invoices = sheet(client.get("/billing/export/invoices.xlsx?period=2026-11"))
    assert rows(invoices)[0] == INVOICE_HEADERS
    assert [r[:3] + r[8:13] for r in rows(invoices)[1:]] == [
        ["PR-000001", "Rechnung", "schulz", 100, 19, 119, 0, 119],
        ["PR-000002", "Rechnung", "meier", 20, 3.8, 23.8, 10, 13.8]]
    assert invoices["E2"].value == datetime(2026, 12, 10) and invoices["E2"].number_format == "DD.MM.YYYY"
    assert invoices["K2"].number_format == '#,##0.00 "€"'
    assert invoices.freeze_panes == "A2" and invoices.auto_filter.ref == "A1:N3"

    charges = rows(sheet(client.get("/billing/export/charges.xlsx?period=2026-11")))
    assert charges[0] == CHARGE_HEADERS
    assert [(r[0], r[3], r[4], r[8]) for r in charges[1:]] == [
        (datetime(2026, 11, 3, 10, 0), "schulz", 100, "PR-000001"),
        (datetime(2026, 11, 30, 23, 30), "meier", 20, "PR-000002")]  # Berlin time, 30 Nov still

    payments = sheet(client.get("/billing/export/payments.xlsx?period=2026-12"))
    assert rows(payments)[0] == PAYMENT_HEADERS
    assert [r[:5] for r in rows(payments)[1:]] == [
        [datetime(2026, 12, 12), "PR-000002", "meier", "Überweisung", 10],
        [datetime(2026, 12, 17), "PR-000001", "schulz", "Lastschrift", 119],  # due date
        [datetime(2026, 12, 21), "PR-000001", "schulz", "Rücklastschrift", -119]]
    reference = payments["F2"]
    assert reference.value == "=SUMME(A1:A9)" and reference.data_type == "s" and reference.quotePrefix

    assert client.get("/billing/export/secrets.xlsx").status_code == 404
    assert rows(sheet(client.get("/billing/export/invoices.xlsx?period=2026-09"))) == [INVOICE_HEADERS]


def test_a_partner_sees_and_exports_its_own_billing_only(app, month):
    client = login(app.test_client(), "meier")
    page = flat(client.get("/my/billing/").get_data(as_text=True))
    assert ('data-test="my-open-amount"><div class="value">13,80 €</div> '
            '<div class="label">Offener Betrag (1 Rechnung)</div>') in page
    assert 'data-test="my-uninvoiced"><div class="value">9,00 €</div>' in page
    assert "PR-000002" in page and "PR-000001" not in page and "schulz" not in page.lower()
    assert "<td>November 2026</td>" in page and "<td>17.12.2026</td>" in page  # month, due date
    client.get("/lang/en")
    english = flat(client.get("/my/billing/").get_data(as_text=True))
    assert "<td>November 2026</td>" in english and "<td>Dec 17, 2026</td>" in english
    client.get("/lang/de")
    own = client.get(f"/my/billing/{month['meier_invoice']}.pdf")
    assert own.status_code == 200 and b"PR-000002" in xml_of(own.data)
    for foreign in (month["schulz_invoice"], month["credit_note"], 999999):
        answer = client.get(f"/my/billing/{foreign}.pdf")
        assert answer.status_code == 404 and b"PR-00000" not in answer.data
    for name, period in (("invoices", "2026-11"), ("charges", "2026-11"), ("payments", "2026-12")):
        body = rows(sheet(client.get(f"/my/billing/export/{name}.xlsx?period={period}")))
        assert body[1:] and all("meier" in r for r in body[1:]), name
        assert "schulz" not in str(body) and "huber" not in str(body), name
    december = rows(sheet(client.get("/my/billing/export/charges.xlsx?period=2026-12")))[1:]
    assert [(r[3], r[4], r[8]) for r in december] == [("meier", 9, None)]  # not invoiced yet
    start = flat(client.get("/").get_data(as_text=True))
    assert 'data-test="my-open-amount"> <div class="value"><a href="/my/billing/">13,80 €</a>' in start
    assert 'data-test="charges-open"> <div class="value"><a href="/my/billing/">9,00 €</a>' in start
    assert 'data-test="charges-month"> <div class="value"><a href="/my/requests/">9,00 €</a>' in start


def test_a_team_member_sees_the_charges_but_not_the_owners_invoices(app, month, make):
    make.team_member(month["meier"], "kollegin")
    client = login(app.test_client(), "kollegin")
    start = flat(client.get("/").get_data(as_text=True))
    assert 'data-test="charges-open"> <div class="value">9,00 €</div>' in start
    assert 'data-test="charges-month"> <div class="value"><a href="/my/requests/">9,00 €</a>' in start
    assert 'my-open-amount' not in start and "/my/billing/" not in start
    requests = flat(client.get("/my/requests/").get_data(as_text=True))
    assert "Kosten in diesem Monat (noch nicht abgerechnet): 1 Anfragen, 9,00 € netto." in requests


@pytest.mark.parametrize("role", ["Partner", "Staff"])
def test_finance_exports_are_finances(app, month, make, role):
    make.user("other", role)
    client = login(app.test_client(), "other")
    answer = client.get("/billing/export/invoices.xlsx?period=2026-11")
    assert answer.status_code == 403 and answer.mimetype != XLSX


def test_a_wrong_month_is_refused_with_a_message(app, month, make):
    make.user("fiona", "Finance")
    answer = login(app.test_client(), "fiona").get("/billing/export/invoices.xlsx?period=Dezember",
                                                    follow_redirects=True)
    assert answer.mimetype != XLSX
    assert "Geben Sie den Monat als JJJJ-MM an, z. B. 2026-11." in answer.get_data(as_text=True)



def test_finance_checks_then_imports_a_bank_statement(app, ctx, month, make):
    make.user("fiona", "Finance")
    client = login(app.test_client(), "fiona")
    token = csrf_token(client, "/billing/bank-statement")
    body = "Buchungstag;Verwendungszweck;Betrag\n22.12.2026;PR-000002;13,80\n23.12.2026;Spende;5,00\n"
    checked = client.post("/billing/bank-statement", data={
        "csrf_token": token, "file": (io.BytesIO(body.encode("cp1252")), "umsaetze.csv")},
        content_type="multipart/form-data")
    page = flat(checked.get_data(as_text=True))
    assert ("1 Zeilen zugeordnet (13,80 €), 1 nicht zugeordnet, 0 schon importiert, 0 nicht lesbar."
            in page)
    assert 'data-line="3" data-status="unmatched"' in page and "Keine Rechnungsnummer (PR-…)" in page
    assert ctx.execute(sa.select(sa.func.count(Payment.id)).where(Payment.bank_reference.is_not(None))
                       ).scalar() == 0
    action = re.search(r'action="(/billing/bank-statement/[^"]+)"', page).group(1)
    done = flat(client.post(action, data={"csrf_token": token, "file_name": "umsaetze.csv"}
                            ).get_data(as_text=True))
    assert "1 Zahlungen erfasst." in done and "Importiert: umsaetze.csv" in done
    ctx.rollback()
    imported = sa.select(Payment.amount).where(Payment.bank_reference.is_not(None))
    assert ctx.execute(imported).scalars().all() == [D("13.80")]
    again = client.post(action, data={"csrf_token": token, "file_name": "umsaetze.csv"})
    assert "0 Zahlungen erfasst." in flat(again.get_data(as_text=True))
    assert client.post("/billing/bank-statement/..%2F..%2Fconfig.py", data={"csrf_token": token}
                       ).status_code == 404
