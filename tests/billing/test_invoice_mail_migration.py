"""Migration 0029: partner invoices issued before it are not rendered and mailed afterwards
(they keep being drawn on demand); the downgrade and a second upgrade keep the invoices."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from backoffice.extensions import db


def test_invoices_before_the_migration_are_stamped_without_a_file(app, tmp_path):
    other = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'previous.db'}", "TESTING": True})
    with other.app_context():
        upgrade(revision="0027_profiles_more")
        with db.engine.begin() as conn:
            # The partner and the order the two invoices belong to (the migrations check references).
            conn.exec_driver_sql(
                "INSERT INTO address (id, type, last_name, country, language, registration_source, "
                "registered_at, consent_contact_by_sponsor, consent_marketing, created_at, updated_at) "
                "VALUES (3, 'partner', 'Alt', 'DE', 'de', 'desk', '2026-11-01 08:00:00', 0, 0, "
                "'2026-11-01 08:00:00', '2026-11-01 08:00:00')")
            conn.exec_driver_sql(
                "INSERT INTO partner (id, address_id, subdomain, time_zone, available, created_at, "
                "updated_at) VALUES (3, 3, 'alt', 'Europe/Berlin', 1, '2026-11-01 08:00:00', "
                "'2026-11-01 08:00:00')")
            conn.exec_driver_sql(
                "INSERT INTO shop_order (id, external_order_id, address_id, status, subtotal_gross, "
                "discount, total_gross, total_net, total_vat, placed_at) "
                "VALUES (3, 'A-3', 3, 'completed', 1.19, 0, 1.19, 1, 0.19, '2026-11-30 10:00:00')")
            for invoice_id, owner in ((7, "partner_id"), (8, "order_id")):
                conn.exec_driver_sql(
                    f"INSERT INTO invoice (id, series, number, kind, {owner}, issued_at, delivery_date, "
                    "buyer_name, total_net, total_vat, total_gross) VALUES "
                    f"({invoice_id}, '{'partner' if owner == 'partner_id' else 'invoice'}', 1, 'invoice', 3, "
                    "'2026-12-15 11:00:00', '2026-11-30', 'Alt', 1, 0.19, 1.19)")
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT invoice_id, file_id, mail_id, rendered_at IS NOT NULL "
                                        "FROM invoice_document").all()
        assert [tuple(r) for r in rows] == [(7, None, None, 1)]
        downgrade(revision="0027_profiles_more")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM invoice").scalar() == 2
            assert "invoice_document" not in sa.inspect(conn).get_table_names()
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT invoice_id FROM invoice_document").scalars().all() == [7]
        db.session.remove()
        db.engine.dispose()
