"""Finance's month in a real browser, on the 15th: the run for November as a background task,
an invoice's PDF with its e-invoice inside, the Excel export, the SEPA file (schema-checked),
a returned debit, and the open amount on the start page and in the partner's own view."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import openpyxl
import pytest
import sqlalchemy as sa
from lxml import etree
from playwright.sync_api import expect

from backoffice.extensions import db
from backoffice.models import OutboxMail
from backoffice.services.sepa import _schema
from reports.einvoice import xml_of
from tests.support.billing import charge
from tests.support.directory import category

from .conftest import log_in

pytestmark = pytest.mark.browser

THE_15TH = date(2026, 12, 15)


@pytest.fixture
def november(make, monkeypatch):
    """Schulz (with a mandate) was charged 60 € and 40 € in November, Meier 20 €; the clock
    says 15 December."""
    for module in ("backoffice.tasks.billing", "backoffice.views.billing", "backoffice.views.start"):
        monkeypatch.setattr(f"{module}.company_today", lambda: THE_15TH)
    elektro = category("Elektro", "Electrical")
    schulz = make.partner("schulz", iban="DE02120300000000202051", mandate_reference="PD-0001",
                          mandate_date=date(2026, 1, 5), notification_email="buchhaltung@schulz.example")
    meier = make.partner("meier")
    charge(schulz, elektro, "60.00", datetime(2026, 11, 3, 9, tzinfo=UTC))
    charge(schulz, elektro, "40.00", datetime(2026, 11, 20, 9, tzinfo=UTC))
    charge(meier, elektro, "20.00", datetime(2026, 11, 21, 9, tzinfo=UTC))
    make.user("fiona", "Finance")
    return schulz, meier


def test_finance_plays_a_month(page, november, task_worker):
    log_in(page, "fiona")
    page.goto("/billing/")
    expect(page.locator("#run-period")).to_have_value("2026-11")
    page.get_by_role("button", name="Monatsabrechnung starten").click()
    page.wait_for_url(re.compile(r".*/tasks/\d+$"))
    task_worker.wait(int(page.url.rsplit("/", 1)[1]))

    page.goto("/billing/")
    rows = page.locator("[data-test=statements] tbody tr")
    expect(rows).to_have_count(2)
    schulz_row = rows.filter(has_text="Schulz")
    expect(schulz_row).to_contain_text("PR-000001")
    expect(schulz_row).to_contain_text("119,00")
    pdf = page.request.get(schulz_row.get_by_role("link", name="PR-000001.pdf").get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    einvoice = etree.fromstring(xml_of(pdf.body()))
    assert einvoice.xpath("string(//*[local-name()='GrandTotalAmount'])") == "119.00"
    assert einvoice.xpath("string(//*[local-name()='DirectDebitMandateID'])") == "PD-0001"

    with page.expect_download() as export:
        page.locator("[data-test=billing-exports] [data-export=invoices]").click()
    sheet = openpyxl.load_workbook(io.BytesIO(open(export.value.path(), "rb").read())).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["PR-000001", "PR-000002"]

    page.get_by_role("button", name="SEPA-Datei für alle fälligen Lastschriften erstellen").click()
    expect(page.locator(".alert-success")).to_contain_text("mit 1 Lastschrift(en) über 119,00")
    with page.expect_download() as sepa:
        page.locator("[data-test=sepa-files] a").first.click()
    assert _schema().validate(etree.parse(sepa.value.path()))

    page.get_by_role("link", name="PR-000001", exact=True).click()
    expect(page.locator("[data-test=open-amount]")).to_have_text("0,00\xa0€")
    form = page.locator("[data-test=return-form]")
    form.locator("#returned_on").fill("28.12.2026")
    form.locator("#reason").fill("MD06 Rückgabe auf Verlangen")
    form.locator("#fee").fill("3,50")
    form.get_by_role("button", name="Rücklastschrift erfassen").click()
    expect(page.locator("[data-test=open-amount]")).to_have_text("119,00\xa0€")

    page.goto("/")
    expect(page.locator("[data-test=open-amount] .value")).to_have_text("142,80\xa0€")
    expect(page.locator("[data-test=billing-returns]")).to_contain_text("MD06 Rückgabe auf Verlangen")
    mails = db.session.execute(sa.select(OutboxMail.recipient).where(OutboxMail.kind == "debit_returned"))
    assert mails.scalars().all() == ["buchhaltung@schulz.example"]

    page.goto("/logout/")
    log_in(page, "schulz")
    page.goto("/my/billing/")
    expect(page.locator("[data-test=my-open-amount] .value")).to_have_text("119,00\xa0€")
    expect(page.locator("[data-test=my-invoices]")).to_contain_text("PR-000001")
    expect(page.locator("[data-test=my-invoices]")).not_to_contain_text("PR-000002")
    expect(page.locator("[data-test=my-returns]")).to_contain_text("3,50")
