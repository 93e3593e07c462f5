"""Alembic owns the schema: migrations build exactly what the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_appbuilder import Model

from backoffice.extensions import db


def test_migrated_schema_matches_the_models(ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Model.metadata)
    assert diff == []


def test_upgrade_reaches_head(ctx):
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    assert len(heads) == 1, f"migration history must be linear, found heads {heads}"
    with db.engine.connect() as connection:
        assert set(MigrationContext.configure(connection).get_current_heads()) == heads
