"""`flask jobs worker|list|run|cleanup`: the worker, and every periodic job for plain cron."""

from __future__ import annotations

import json
import logging
import sys

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from backoffice.extensions import db
from backoffice.models import Job, JobStatus

jobs_cli = AppGroup("jobs", help="Background jobs: worker, list, cron commands.")


@jobs_cli.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Jobs run at the same time (threads).")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also schedule the periodic jobs (run it on one worker only).")
def worker_command(workers, periodic):
    """Run jobs from the queue until Ctrl-C (SIGINT waits for running jobs, SIGTERM does not)."""
    from .recovery import recover
    from .worker import consumer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    requeued = recover(db.session)
    db.session.remove()
    if requeued:
        click.echo(f"Queued again after a worker stopped: jobs {', '.join(map(str, requeued))}")
    consumer(current_app._get_current_object(), workers=workers, periodic=periodic).run()


@jobs_cli.command("list")
@click.option("--limit", default=30, show_default=True)
def list_command(limit):
    """The newest jobs with status and progress."""
    jobs = db.session.scalars(sa.select(Job).order_by(Job.id.desc()).limit(limit)).all()
    for job in jobs:
        total = f"/{job.progress_total}" if job.progress_total is not None else ""
        click.echo(f"{job.id:>6}  {job.status.value:<8} {job.progress_done}{total:<8} {job.kind:<18} "
                   f"{job.created_at:%Y-%m-%d %H:%M} UTC  user {job.user_id or '-'}  {job.title}")


def run_now(kind: str, params: dict, title: str | None = None) -> Job:
    """Record a job (user NULL) and run it in this process: what cron calls."""
    from .runner import run, submit

    job_id = submit(db.session, kind, params, user_id=None, title=title, enqueue=False).id
    run(job_id)
    job = db.session.get(Job, job_id)
    line = job.error if job.status == JobStatus.failed else job.result
    click.echo(f"Job {job.id} ({kind}): {job.status.value}: {line}")
    if job.status == JobStatus.failed:
        sys.exit(1)
    return job


@jobs_cli.command("run")
@click.argument("kind")
@click.option("--param", "params", multiple=True, metavar="NAME=JSON",
              help="A parameter of the job function, e.g. --param keep_days=7.")
def run_command(kind, params):
    """Run a registered job kind now, in this process (for cron), recorded as a job."""
    from . import registry
    from .queue import queue_for

    queue_for(current_app._get_current_object())  # imports the job modules
    try:
        registry.function(kind)
    except registry.UnknownJobKind as exc:
        raise click.ClickException(f"{exc}; known: {', '.join(sorted(registry.FUNCTIONS))}") from exc
    values = {}
    for param in params:
        name, _, raw = param.partition("=")
        try:
            values[name] = json.loads(raw)
        except ValueError:
            values[name] = raw
    run_now(kind, values)


@jobs_cli.command("cleanup")
@click.option("--keep-days", type=int, default=None, help="Default: JOBS_KEEP_DAYS (30).")
def cleanup_command(keep_days):
    """Delete jobs (rows and files) older than JOBS_KEEP_DAYS."""
    run_now("jobs.cleanup", {} if keep_days is None else {"keep_days": keep_days},
            title="Delete old jobs and their files")
