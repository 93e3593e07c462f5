"""Extension singletons, bound to an app in `app.create_app` (microblog/Superset style).

The AppBuilder itself is created per app inside the factory: a module-level one breaks
a second app in the same process (FAB notes).
"""

import sqlite3

import psycopg
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

from backoffice import postgres_plans, sqlite_wal

db = SQLA()
migrate = Migrate()
csrf = CSRFProtect()


@event.listens_for(Engine, "connect")
def _connection_settings(dbapi_connection, _record):
    """The embedded database's settings (`sqlite_wal`; the busy timeout stays the
    connection's own: pysqlite 5 s, the task worker's side connections 0), and PostgreSQL's
    planner settings (`postgres_plans`)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        sqlite_wal.configure(dbapi_connection)
    elif isinstance(dbapi_connection, psycopg.Connection):
        postgres_plans.configure(dbapi_connection)

