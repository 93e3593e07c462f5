"""Migration 0003 backfills the tree columns of addresses that exist before it runs."""

from __future__ import annotations

import sqlalchemy as sa

from app import create_app
from backoffice.extensions import db
from downline import integrity

ROWS = [(1, None), (2, 1), (3, 2), (4, 2), (5, 1)]


def test_upgrade_backfills_paths_and_sizes_of_existing_addresses(app, tmp_path):
    other = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'previous.db'}", "TESTING": True})
    with other.app_context():
        from flask_migrate import upgrade

        upgrade(revision="0001_initial")  # the previous release's schema
        with db.engine.begin() as conn:
            for address_id, sponsor_id in ROWS:
                conn.execute(sa.text(
                    "INSERT INTO address (id, type, last_name, country, language, registration_source, "
                    "registered_at, sponsor_id, consent_contact_by_sponsor, consent_marketing, created_at, "
                    "updated_at) VALUES (:id, 'customer', 'Alt', 'DE', 'de', 'desk', '2026-01-01 00:00:00', "
                    ":s, 0, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
                    {"id": address_id, "s": sponsor_id})
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, path, depth, firstline_count, downline_count "
                                        "FROM address ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [
            (1, "/", 0, 2, 4), (2, "/1/", 1, 2, 2), (3, "/1/2/", 2, 0, 0), (4, "/1/2/", 2, 0, 0),
            (5, "/1/", 1, 0, 0)]
        assert integrity.check(db.session).ok
        db.session.remove()
        db.engine.dispose()
