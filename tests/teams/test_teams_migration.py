"""Migration 0011 adds the outbox, team and customer tables beside existing data and takes
them away again on downgrade, leaving partners and addresses as they were."""

from __future__ import annotations

import sqlalchemy as sa

from app import create_app
from backoffice.extensions import db
from tests.tasks.test_tasks_migration import scratch_url  # noqa: F401  (fixture)

NEW_TABLES = {"mail_outbox", "team_member", "team_invitation", "customer_account", "customer_sign_in"}


def _tables() -> set[str]:
    with db.engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def _partners() -> list[tuple]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT p.id, p.subdomain, a.last_name FROM partner p JOIN address a ON a.id = p.address_id"))]


def test_the_new_tables_arrive_beside_existing_partners_and_go_again(app, scratch_url):  # noqa: F811
    other = create_app({"SQLALCHEMY_DATABASE_URI": scratch_url, "TESTING": True})
    with other.app_context():
        from flask_migrate import downgrade, upgrade

        upgrade(revision="0008_tasks")
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO address (id, type, last_name, country, language, registration_source, "
                "registered_at, consent_contact_by_sponsor, consent_marketing, created_at, updated_at) "
                "VALUES (1, 'partner', 'Meier', 'DE', 'de', 'desk', :now, :no, :no, :now, :now)"),
                {"now": "2026-12-01 10:00:00", "no": False})
            conn.execute(sa.text(
                "INSERT INTO partner (id, address_id, subdomain, time_zone, available, created_at, "
                "updated_at) VALUES (1, 1, 'meier', 'Europe/Berlin', :yes, :now, :now)"),
                {"now": "2026-12-01 10:00:00", "yes": True})
        before = _partners()
        assert not NEW_TABLES & _tables()

        upgrade(revision="0011_teams")
        assert NEW_TABLES <= _tables() and _partners() == before
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO customer_account (address_id, created_at) VALUES (1, :now)"),
                {"now": "2026-12-01 10:00:00"})

        downgrade(revision="0008_tasks")
        assert not NEW_TABLES & _tables() and _partners() == before
        db.session.remove()
        db.engine.dispose()
