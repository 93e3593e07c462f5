"""Fixtures: a migrated database per run (SQLite file or PostgreSQL), a clean slate per test.

Backend: `pytest --db sqlite` (default) or `pytest --db postgres`, which uses
TEST_DATABASE_URL; without it the PostgreSQL run is skipped, or fails when
REQUIRE_POSTGRES=1.
"""

from __future__ import annotations

import os
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import g
from flask_appbuilder import Model
from werkzeug.serving import make_server

from app import create_app
from backoffice.cli import init_roles
from backoffice.extensions import db
from backoffice.models import Address, AddressType, Article, AuditEntry, Partner
from backoffice.services.throttle import failed_logins
from tests.support.ids import start_ids_high

# Apps built by tests, benchmarks' smoke runs and worker processes get the development key.
os.environ.setdefault("PARTNERDESK_ENV", "test")


def our_tables() -> list[str]:
    """Every table of the app's models, those that point at others first; FAB's security
    tables (ab_*) apart: their roles and permissions stay, their users go (below)."""
    return [table.name for table in reversed(Model.metadata.sorted_tables)
            if not table.name.startswith("ab_") and not table.info.get("reference_data")]


def self_references(table: str) -> list[str]:
    """Columns of `table` restricting the delete of its own rows (a sponsor, a parent category).
    SQLite checks RESTRICT row by row, PostgreSQL at the end of the statement: emptying such a
    table in one DELETE needs them cleared first on SQLite."""
    return [fk.parent.name for fk in Model.metadata.tables[table].foreign_keys
            if fk.column.table.name == table and fk.ondelete == "RESTRICT"]


def pytest_addoption(parser):
    parser.addoption("--db", default=os.environ.get("TEST_DB", "sqlite"),
                     choices=["sqlite", "postgres"], help="database backend for this run")


def _database_url(config, tmp_path_factory) -> str:
    if config.getoption("--db") == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set", pytrace=False)
        pytest.skip("PostgreSQL run asked for, but TEST_DATABASE_URL is not set")
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.OperationalError as exc:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory):
    url = _database_url(request.config, tmp_path_factory)
    if url.startswith("postgresql"):
        _reset_postgres(url)
    return url


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    tasks = tmp_path_factory.mktemp("tasks")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": database_url,
        "TESTING": True,
        "FAB_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SERVER_NAME": None,
        # Never the repository's instance/ queue: tests that run tasks use `task_worker`.
        "TASKS_QUEUE_URL": f"sqlite:///{tasks / 'queue.sqlite'}",
        "TASKS_FILES_DIR": str(tasks / "files"),
        "IMPORTS_DIR": str(tmp_path_factory.mktemp("imports")),
        "MESSAGE_FILES_DIR": str(tmp_path_factory.mktemp("message-files")),
        # Mail: the embedded default (.eml files) unless a test starts `smtp_server`.
        "MAIL_SERVER": "",
        "MAIL_OUTBOX_DIR": str(tmp_path_factory.mktemp("mail")),
        "RATELIMIT_STORAGE_URI": f"sqlite:///{tasks / 'ratelimits.sqlite'}",
    })
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(revision="heads")
        init_roles()
        db.engine.dispose()
        start_ids_high(database_url)

    def fresh_request_globals():
        """Tests hold one app context per test, so requests would share `g` (and with it
        flask-login's user, the CSRF token, our cached partner, Babel's locale). Production gets a
        fresh context per request (and `g` with it); make the tests do the same."""
        for name in list(vars(g)):
            g.pop(name, None)

    app.before_request_funcs.setdefault(None, []).insert(0, fresh_request_globals)
    return app


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Each test starts with roles in place and no users, addresses, partners or articles."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.rollback()
        for table in our_tables():
            for column in self_references(table):
                db.session.execute(sa.text(f"UPDATE {table} SET {column} = NULL WHERE {column} IS NOT NULL"))
            db.session.execute(sa.text(f"DELETE FROM {table}"))
        db.session.execute(sa.text("DELETE FROM ab_user_role"))
        db.session.execute(sa.text("DELETE FROM ab_user"))
        db.session.commit()
        failed_logins.reset()  # and every other throttle's counters
        db.session.remove()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


class Factory:
    """Builds records the way the Desk would, committed, with readable defaults."""

    def __init__(self, app):
        self.app = app
        self.n = 0

    def address(self, **values) -> Address:
        self.n += 1
        values.setdefault("last_name", f"Testperson{self.n}")
        values.setdefault("first_name", "Erika")
        values.setdefault("email", f"person{self.n}@example.org")
        values.setdefault("postal_code", "10115")
        values.setdefault("city", "Berlin")
        address = Address(**values)
        db.session.add(address)
        db.session.commit()
        return address

    def user(self, username: str, role: str, password: str | None = None):
        sm = self.app.appbuilder.sm
        user = sm.add_user(username, username.title(), "Test", f"{username}@partnerdesk.test",
                           sm.find_role(role), password or username)
        assert user, f"could not create user {username}"
        return user

    def partner(self, username: str, sponsor: Address | None = None, **values) -> Partner:
        address = self.address(type=AddressType.partner, sponsor=sponsor,
                               last_name=values.pop("last_name", username.title()))
        user = self.user(username, "Partner")
        partner = Partner(address=address, user_id=user.id, subdomain=values.pop("subdomain", username),
                          **values)
        db.session.add(partner)
        db.session.commit()
        return partner

    def team_member(self, partner: Partner, username: str):
        """A login of `partner`'s team (not its owner)."""
        from backoffice.models import TeamMember

        user = self.user(username, "Partner")
        db.session.add(TeamMember(partner_id=partner.id, user_id=user.id))
        db.session.commit()
        return user

    def article(self, **values) -> Article:
        self.n += 1
        values.setdefault("article_no", f"T-{self.n:04d}")
        values.setdefault("name", f"Testartikel {self.n}")
        values.setdefault("gross_price", Decimal("10.00"))
        values.setdefault("vat_rate", Decimal("19"))
        article = Article(**values)
        db.session.add(article)
        db.session.commit()
        return article

    def audit_for(self, address_id: int):
        return db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.address_id == address_id)
            .order_by(AuditEntry.id)).scalars().all()


@pytest.fixture
def make(app, ctx):
    return Factory(app)




@pytest.fixture(scope="session")
def live_server(app):
    """The app served on a free loopback port in a thread, for browser tests."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


class TaskQueue:
    """This test's queue (and files folder) on the test app; `wait(task_id)` until a task is done."""

    def __init__(self, app, env: dict):
        self.app, self.env = app, env

    def task(self, task_id: int):
        from backoffice.models import Task

        db.session.rollback()  # see what the worker committed
        return db.session.get(Task, task_id)

    def wait(self, task_id: int, timeout: float = 30, until=None):
        import time

        deadline = time.monotonic() + timeout
        while True:
            task = self.task(task_id)
            if until(task) if until else task.finished:
                return task
            assert time.monotonic() < deadline, f"task {task_id} still {task.status.value}"
            time.sleep(0.05)


@pytest.fixture
def task_queue_url(tmp_path):
    """The queue of one test: a fresh SqliteHuey file (a test module may override it)."""
    return f"sqlite:///{tmp_path / 'tasks-queue.sqlite'}"


@pytest.fixture
def task_queue(app, task_queue_url, tmp_path):
    """Point the test app at this test's queue and files folder; no worker runs yet."""
    import uuid

    from backoffice.tasks.queue import queue_for, reset_queue

    env = {"TASKS_QUEUE_URL": task_queue_url, "TASKS_QUEUE_NAME": f"test-{uuid.uuid4().hex[:12]}",
           "TASKS_FILES_DIR": str(tmp_path / "task-files")}
    saved = {key: app.config[key] for key in env}
    app.config.update(env)
    reset_queue(app)
    yield TaskQueue(app, env)
    queue_for(app).huey.flush()
    reset_queue(app)
    app.config.update(saved)


@pytest.fixture
def task_worker(task_queue, ctx):
    """A real huey consumer (two worker threads in this process) on the test app and database:
    `task = submit(db.session, ...); task_worker.wait(task.id)`."""
    from backoffice.tasks.worker import ThreadedConsumer, consumer

    worker = consumer(task_queue.app, workers=2, periodic=False, cls=ThreadedConsumer, shutdown_timeout=10)
    worker.start()
    yield task_queue
    worker.stop(graceful=True)


@pytest.fixture
def task_worker_process(task_queue, database_url, tmp_path):
    """Start `flask tasks worker` as its own process (`proc = task_worker_process()`), on the
    test database and this test's queue, with the test task kinds; all stopped at the end."""
    import subprocess
    import sys

    from config import BASE_DIR

    env = {**os.environ, **task_queue.env, "DATABASE_URL": database_url, "PYTHONPATH": str(BASE_DIR)}
    started = []

    def start():
        log = open(tmp_path / f"worker-{len(started)}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app",
                                 "tests.support.task_kinds:create_app",
                                 "tasks", "worker", "--workers", "1", "--no-periodic"],
                                cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append((proc, log))
        return proc

    yield start
    for proc, log in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        log.close()


@pytest.fixture
def smtp_server(app, tmp_path):
    """A real SMTP server on loopback that the app sends its mail to (`smtp_server.stop()`
    takes it down, `.start()` brings it back on the same port)."""
    from tests.support.smtp import SmtpServer

    server = SmtpServer()
    server.start()
    settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": server.port, "MAIL_TIMEOUT": 3,
                "MAIL_OUTBOX_DIR": str(tmp_path / "mail")}
    saved = {key: app.config.get(key) for key in settings}
    app.config.update(settings)
    yield server
    server.stop()
    app.config.update(saved)


@pytest.fixture
def ids_high_again(database_url):
    """For tests that run the demo seed: it writes its own ids and sets the sequences to them;
    later tests get high ids again."""
    yield
    start_ids_high(database_url)
