"""Races on PostgreSQL: two sweeps at once expire each job once (one transition) and mail each
reminder once; two status changes of one job at once apply one of them, with one transition."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backoffice import transaction
from backoffice.errors import Conflict
from backoffice.models import JobAssignment, JobStatus, JobTransition, OutboxMail
from backoffice.services import jobs
from tests.jobs.test_jobs import JOB, NOW, post
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


def direct_job(ctx, market) -> JobAssignment:
    """A direct job to Meier: the customer sees it at once, so both sides can act on it."""
    meier, customer = market[1], market[3]
    service_id = ctx.scalar(sa.select(jobs.Service.id).where(jobs.Service.partner_id == meier.id))
    with transaction.unit_of_work(ctx):
        posted = jobs.post_direct_job(ctx, customer.id, meier.id, dict(JOB, postal_code="",
                                                                        service_id=str(service_id)), now=NOW)
    return ctx.scalar(sa.select(JobAssignment).where(JobAssignment.job_id == posted.job_id))


def in_unit(call):
    def run(session):
        with transaction.unit_of_work(session):
            return call(session).status

    return run


def transitions(ctx, assignment_id) -> list[tuple[JobStatus, JobStatus]]:
    ctx.expire_all()
    rows = sa.select(JobTransition).where(JobTransition.assignment_id == assignment_id)
    rows = rows.order_by(JobTransition.id)
    return [(t.from_status, t.to_status) for t in ctx.scalars(rows)]


def test_two_team_members_opening_a_job_at_once_record_one_opening(app, ctx, market, design):
    meier = market[1]
    job = direct_job(ctx, market)
    later = NOW + timedelta(hours=1)
    outcomes = run_together(app, [in_unit(lambda s: jobs.open_job(s, meier.id, job.id, now=later))] * 2)
    assert outcomes == [JobStatus.opened, JobStatus.opened]
    assert transitions(ctx, job.id) == [(None, JobStatus.new), (JobStatus.new, JobStatus.opened)]


def test_closing_and_declining_a_job_at_once_apply_one_change(app, ctx, market, design):
    customer = market[3]
    job = direct_job(ctx, market)
    later = NOW + timedelta(hours=1)
    outcomes = run_together(app, [
        in_unit(lambda s: jobs.close(s, customer.id, job.id, now=later)),
        in_unit(lambda s: jobs.decline_by_customer(s, customer.id, job.id, "Doch nicht", now=later)),
    ])
    done = [o for o in outcomes if isinstance(o, JobStatus)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(done) == 1 and len(refused) == 1, outcomes
    # Refused by the guarded UPDATE (both read "new") or, read after the first commit, as a move
    # from a final status.
    assert refused[0].code in ("job_changed", "illegal_transition")
    assert transitions(ctx, job.id) == [(None, JobStatus.new), (JobStatus.new, done[0])]
    ctx.expire_all()
    assert ctx.get(JobAssignment, job.id).status is done[0]
