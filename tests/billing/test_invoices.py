"""Invoices as a billing concept: one gapless number series per kind of invoice, an owner
that is an order or a partner, and the migration that brings existing invoices along."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import create_app
from backoffice import transaction
from backoffice.extensions import db
from backoffice.models import Invoice, InvoiceKind, InvoiceSeries
from backoffice.models.types import utcnow
from backoffice.services import billing
from tests.support.vouchers import ordered


def partner_invoice(partner, gross="11.90") -> dict:
    gross = Decimal(gross)
    return dict(series=InvoiceSeries.partner, kind=InvoiceKind.invoice, partner_id=partner.id,
                issued_at=utcnow(), delivery_date=date(2026, 11, 30), buyer_name="Meier",
                buyer_address="Hauptstraße 5\n04109 Leipzig", total_net=Decimal("10.00"),
                total_vat=gross - Decimal("10.00"), total_gross=gross)


@pytest.fixture
def tea(make):
    return make.article(article_no="TEA", gross_price=Decimal("4.28"), vat_rate=Decimal("7"))


def test_partner_invoices_count_in_their_own_series(ctx, make, tea):
    customer, meier, schulz = make.address(), make.partner("meier"), make.partner("schulz")
    first_order = ordered(ctx, "o-1", customer.id, [{"article_no": "TEA", "quantity": 1}])
    with transaction.unit_of_work(ctx):
        numbers = [billing.issue(ctx, partner_invoice(p))[1] for p in (meier, schulz)]
    second_order = ordered(ctx, "o-2", customer.id, [{"article_no": "TEA", "quantity": 1}])
    assert numbers == [1, 2]
    assert [first_order.invoices[0].number, second_order.invoices[0].number] == [1, 2]
    shown = sorted(i.display_number for i in ctx.execute(sa.select(Invoice)).scalars())
    assert shown == ["PR-000001", "PR-000002", "RE-000001", "RE-000002"]


def test_a_rolled_back_partner_invoice_gives_its_number_back(ctx, make):
    meier = make.partner("meier")
    with pytest.raises(RuntimeError), transaction.unit_of_work(ctx):
        billing.issue(ctx, partner_invoice(meier))
        raise RuntimeError("the run died half-way")
    with transaction.unit_of_work(ctx):
        assert billing.issue(ctx, partner_invoice(meier))[1] == 1


@pytest.mark.parametrize("owners", ["neither", "both"])
def test_an_invoice_belongs_to_exactly_one_order_or_partner(ctx, make, tea, owners):
    meier = make.partner("meier")
    order = ordered(ctx, "o-1", make.address().id, [{"article_no": "TEA", "quantity": 1}])
    values = partner_invoice(meier)
    values["partner_id"] = None if owners == "neither" else meier.id
    values["order_id"] = order.id if owners == "both" else None
    values["kind"] = InvoiceKind.cancellation  # not the order's (order, kind) pair
    with pytest.raises(sa.exc.IntegrityError), transaction.unit_of_work(ctx):
        billing.issue(ctx, values)
    assert ctx.execute(sa.select(sa.func.count(Invoice.id))).scalar() == 1


def test_upgrade_keeps_existing_invoices_in_the_order_series(app, tmp_path):
    other = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'release.db'}", "TESTING": True})
    with other.app_context():
        from flask_migrate import downgrade, upgrade

        upgrade(revision="0008_tasks")  # the previous release
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO address (id, type, last_name, country, language, registration_source, "
                "registered_at, consent_contact_by_sponsor, consent_marketing, created_at, updated_at, "
                "firstline_count, downline_count) VALUES (1, 'customer', 'Alt', 'DE', 'de', 'shop', "
                "'2026-01-01 00:00:00', 0, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0, 0)"))
            conn.execute(sa.text(
                "INSERT INTO shop_order (id, external_order_id, address_id, status, subtotal_gross, "
                "discount, total_gross, total_net, total_vat, placed_at) VALUES (1, 'alt-1', 1, "
                "'completed', 4.28, 0, 4.28, 4.00, 0.28, '2026-01-02 00:00:00')"))
            conn.execute(sa.text(
                "INSERT INTO invoice (id, number, kind, order_id, issued_at, delivery_date, buyer_name, "
                "total_net, total_vat, total_gross) VALUES (1, 41, 'invoice', 1, '2026-01-02 00:00:00', "
                "'2026-01-02', 'Alt', 4.00, 0.28, 4.28)"))
        upgrade(revision="heads")
        invoice = db.session.get(Invoice, 1)
        assert (invoice.series, invoice.number) == (InvoiceSeries.order, 41)
        assert invoice.display_number == "RE-000041"
        assert invoice.order_id == 1 and invoice.partner_id is None
        db.session.remove()
        downgrade(revision="0008_tasks")
        with db.engine.connect() as conn:
            row = conn.execute(sa.text("SELECT number, order_id FROM invoice")).one()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("invoice")}
        assert tuple(row) == (41, 1) and "series" not in columns and "partner_id" not in columns
        db.engine.dispose()
