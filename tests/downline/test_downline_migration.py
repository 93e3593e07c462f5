"""Migrations 0003 and 0007 carry the tree of addresses that exist before they run."""

from __future__ import annotations

import sqlalchemy as sa

from app import create_app
from backoffice.extensions import db
from downline import integrity

ROWS = [(1, None), (2, 1), (3, 2), (4, 2), (5, 1)]


def _insert_old_addresses(type_of) -> None:
    """ROWS as the schema of 0001 stores them (no tree data at all)."""
    with db.engine.begin() as conn:
        for address_id, sponsor_id in ROWS:
            conn.execute(sa.text(
                "INSERT INTO address (id, type, last_name, country, language, registration_source, "
                "registered_at, sponsor_id, consent_contact_by_sponsor, consent_marketing, created_at, "
                "updated_at) VALUES (:id, :t, 'Alt', 'DE', 'de', 'desk', '2026-01-01 00:00:00', "
                ":s, 0, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
                {"id": address_id, "s": sponsor_id, "t": type_of(address_id)})


def test_upgrade_backfills_paths_and_sizes_of_existing_addresses(app, tmp_path):
    other = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'previous.db'}", "TESTING": True})
    with other.app_context():
        from flask_migrate import upgrade

        upgrade(revision="0001_initial")  # the previous release's schema
        _insert_old_addresses(lambda address_id: "customer")
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT id, path, depth, firstline_count, downline_count "
                "FROM address JOIN address_tree ON address_id = id ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [
            (1, "/", 0, 2, 4), (2, "/1/", 1, 2, 2), (3, "/1/2/", 2, 0, 0), (4, "/1/2/", 2, 0, 0),
            (5, "/1/", 1, 0, 0)]
        assert integrity.check(db.session).ok
        db.session.remove()
        db.engine.dispose()


def test_tree_moves_to_its_own_table_and_back(app, tmp_path):
    """0007 takes the previous release's maintained paths over as they are; its downgrade
    puts them back into the address rows."""
    other = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'release.db'}", "TESTING": True})
    with other.app_context():
        from flask_migrate import downgrade, upgrade

        upgrade(revision="0001_initial")
        _insert_old_addresses(lambda address_id: "partner" if address_id < 3 else "customer")
        upgrade(revision="0006_level_counts_index")  # the previous release
        upgrade(revision="heads")
        with db.engine.connect() as conn:
            tree = conn.execute(sa.text("SELECT address_id, path, depth, type FROM address_tree "
                                        "ORDER BY address_id")).all()
            columns = [c["name"] for c in sa.inspect(conn).get_columns("address")]
        assert [tuple(r) for r in tree] == [
            (1, "/", 0, "partner"), (2, "/1/", 1, "partner"), (3, "/1/2/", 2, "customer"),
            (4, "/1/2/", 2, "customer"), (5, "/1/", 1, "customer")]
        assert "path" not in columns and "depth" not in columns
        assert integrity.check(db.session).ok
        db.session.remove()
        downgrade(revision="0006_level_counts_index")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, path, depth FROM address ORDER BY id")).all()
            assert "address_tree" not in sa.inspect(conn).get_table_names()
        assert [tuple(r) for r in rows] == [(1, "/", 0), (2, "/1/", 1), (3, "/1/2/", 2), (4, "/1/2/", 2),
                                            (5, "/1/", 1)]
        db.engine.dispose()
