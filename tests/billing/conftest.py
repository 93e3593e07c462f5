"""The billed month most billing page tests start from."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import SepaDebit, Task, TaskStatus
from backoffice.services import monthly_invoice
from backoffice.services.billing import Billable, Period, issue_partner_statement
from backoffice.services.direct_debits import create_debit_file, record_return, record_transfer
from tests.support.billing import charge
from tests.support.directory import category

TODAY = date(2026, 12, 10)
NOVEMBER = Period.month(2026, 11)
MANDATE = dict(iban="DE02120300000000202051", mandate_reference="PD-0001", mandate_date=date(2026, 1, 5))


@pytest.fixture
def month(app, ctx, make):
    """November billed on 10 December; Schulz's debit came back, Meier paid 10 € of 23.80 €;
    Huber got a credit note for October; December has charged 12 € and 9 € so far."""
    elektro = category("Elektro", "Electrical")
    schulz = make.partner("schulz", **MANDATE)
    meier = make.partner("meier")
    huber = make.partner("huber")
    charge(schulz, elektro, "100.00", datetime(2026, 11, 3, 9, tzinfo=UTC))
    # 30 Nov 23:30 in Berlin is still November; 1 Dec 00:30 in Berlin is December.
    charge(meier, elektro, "20.00", datetime(2026, 11, 30, 22, 30, tzinfo=UTC))
    charge(schulz, elektro, "12.00", datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    charge(meier, elektro, "9.00", datetime(2026, 12, 5, 10, tzinfo=UTC))
    run = monthly_invoice.run(ctx, NOVEMBER, TODAY, 7)
    schulz_invoice, meier_invoice = run.written
    credit = Billable("dispute_credit", 1, "Gutschrift", D("-10.00"), D("19"), date(2026, 10, 20))
    with transaction.unit_of_work(ctx):
        credit_note = issue_partner_statement(ctx, huber, Period.month(2026, 10), [credit], TODAY, 7)
    with transaction.unit_of_work(ctx):
        create_debit_file(ctx, TODAY, app.config)
    debit = ctx.execute(sa.select(SepaDebit)).scalar_one()
    with transaction.unit_of_work(ctx):
        record_return(ctx, debit.id, date(2026, 12, 21), "MD06 Rückgabe auf Verlangen", D("3.50"))
        record_transfer(ctx, meier_invoice, D("10.00"), date(2026, 12, 12), "=SUMME(A1:A9)")
        ctx.add(Task(kind="billing.monthly_run", title="Monatsrechnungen", params="{}",
                     status=TaskStatus.done, result=json.dumps({"period": "2026-11", "invoices": 2})))
    return dict(schulz=schulz, meier=meier, huber=huber, schulz_invoice=schulz_invoice,
                meier_invoice=meier_invoice, credit_note=credit_note, debit=debit.id)


