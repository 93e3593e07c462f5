"""SQLite enforces foreign keys for the application, but its migrations recreate tables (copy,
DROP, rename): they run with the keys off, so recreating a parent keeps its children, and
refuse to hand over a database whose references do not hold."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from backoffice.extensions import db

BEFORE_TREE = "0006_level_counts_index"  # 0007 recreates `address` on SQLite, both ways

ADDRESS = ("INSERT INTO address (id, type, last_name, country, language, registration_source, "
           "registered_at, sponsor_id, consent_contact_by_sponsor, consent_marketing, created_at, "
           "updated_at) VALUES (:id, 'partner', :name, 'DE', 'de', 'desk', :at, :sponsor, 0, 0, :at, :at)")
AUDIT = ("INSERT INTO audit_entry (id, occurred_at, actor_label, entity, entity_id, address_id, field) "
         "VALUES (:id, :at, 'Import', 'address', :address, :address, 'email')")
AT = "2026-11-23 08:00:00"


@pytest.fixture
def scratch(app, tmp_path, database_url):
    if database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL alters tables in place")
    other = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'previous.db'}", "TESTING": True})
    with other.app_context():
        yield
        db.session.remove()
        db.engine.dispose()


def _rows() -> tuple[list, list]:
    with db.engine.connect() as conn:
        addresses = conn.execute(sa.text("SELECT id, sponsor_id FROM address ORDER BY id")).all()
        audit = conn.execute(sa.text("SELECT id, address_id FROM audit_entry ORDER BY id")).all()
    return [tuple(r) for r in addresses], [tuple(r) for r in audit]


def test_recreating_a_parent_table_keeps_its_children(scratch):
    upgrade(revision=BEFORE_TREE)
    with db.engine.begin() as conn:
        conn.execute(sa.text(ADDRESS), {"id": 1, "name": "Sponsor", "at": AT, "sponsor": None})
        conn.execute(sa.text(ADDRESS), {"id": 2, "name": "Partnerin", "at": AT, "sponsor": 1})
        conn.execute(sa.text(AUDIT), {"id": 1, "at": AT, "address": 1})  # ON DELETE CASCADE
        conn.execute(sa.text(AUDIT), {"id": 2, "at": AT, "address": 2})
    before = _rows()
    assert before == ([(1, None), (2, 1)], [(1, 1), (2, 2)])

    upgrade(revision="heads")
    assert _rows() == before
    downgrade(revision=BEFORE_TREE)
    assert _rows() == before
    upgrade(revision="heads")
    assert _rows() == before

    with db.engine.connect() as conn:  # the application's connections enforce them again
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(sa.exc.IntegrityError):
            conn.exec_driver_sql("DELETE FROM address WHERE id = 1")  # sponsor: RESTRICT


def test_a_migration_leaving_broken_references_fails_loudly(scratch, capfd):
    upgrade(revision=BEFORE_TREE)
    with db.engine.begin() as conn:  # a row written while nothing enforced the keys
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.execute(sa.text(AUDIT), {"id": 1, "at": AT, "address": 99})
    with pytest.raises(SystemExit):
        upgrade(revision="heads")
    assert "1 broken foreign key(s): audit_entry row 1 -> address" in "".join(capfd.readouterr())
