"""Two sweeps at once on PostgreSQL: each job expires once (one transition) and each reminder
is mailed once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.models import JobAssignment, JobStatus, JobTransition, OutboxMail
from backoffice.services import jobs
from tests.jobs.test_jobs import NOW, post
from tests.support.concurrency import run_together


@pytest.fixture(autouse=True)
def _postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrency tests need PostgreSQL (SQLite serialises writers: nothing can race)")


def sweep(now, what):
    def call(session):
        with transaction.unit_of_work(session):
            return what(session, now)

    return call


def test_two_expiry_sweeps_at_once_expire_each_job_once(app, ctx, market, design):
    customer = market[3]
    for _ in range(5):
        post(ctx, customer, design)
    later = NOW + timedelta(hours=72)
    outcomes = run_together(app, [sweep(later, jobs.expire_due), sweep(later, jobs.expire_due)])
    assert sorted(outcomes) == [0, 10]
    ctx.expire_all()
    assert ctx.scalar(sa.select(sa.func.count()).where(JobAssignment.status == JobStatus.expired)) == 10
    assert ctx.scalar(sa.select(sa.func.count()).where(JobTransition.to_status == JobStatus.expired)) == 10


def test_two_reminder_sweeps_at_once_mail_each_reminder_once(app, ctx, market, design):
    customer = market[3]
    for _ in range(3):
        post(ctx, customer, design)
    later = NOW + timedelta(hours=50)
    outcomes = run_together(app, [sweep(later, jobs.remind_due), sweep(later, jobs.remind_due)])
    assert sorted(outcomes) == [0, 6]
    assert ctx.scalar(sa.select(sa.func.count()).where(OutboxMail.kind == "job_reminder")) == 6
