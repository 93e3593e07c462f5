"""`flask tasks worker|list|run|cleanup`: the worker, and every periodic task for plain cron."""

from __future__ import annotations

import json
import logging
import sys

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from backoffice.extensions import db
from backoffice.models import Task, TaskStatus

tasks_cli = AppGroup("tasks", help="Background tasks: worker, list, cron commands.")


@tasks_cli.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Tasks run at the same time (threads).")
@click.option("--periodic/--no-periodic", default=True, show_default=True,
              help="Also schedule the periodic tasks (run it on one worker only).")
def worker_command(workers, periodic):
    """Run tasks from the queue until Ctrl-C (SIGINT waits for running tasks, SIGTERM does not)."""
    from .recovery import recover
    from .worker import consumer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    requeued = recover(db.session)
    db.session.remove()
    if requeued:
        click.echo(f"Queued again after a worker stopped: tasks {', '.join(map(str, requeued))}")
    consumer(current_app._get_current_object(), workers=workers, periodic=periodic).run()


@tasks_cli.command("list")
@click.option("--limit", default=30, show_default=True)
def list_command(limit):
    """The newest tasks with status and progress."""
    tasks = db.session.scalars(sa.select(Task).order_by(Task.id.desc()).limit(limit)).all()
    for task in tasks:
        total = f"/{task.progress_total}" if task.progress_total is not None else ""
        click.echo(f"{task.id:>6}  {task.status.value:<8} {task.progress_done}{total:<8} {task.kind:<18} "
                   f"{task.created_at:%Y-%m-%d %H:%M} UTC  user {task.user_id or '-'}  {task.title}")


def run_now(kind: str, params: dict, title: str | None = None) -> Task:
    """Record a task (user NULL) and run it in this process: what cron calls."""
    from .runner import run, submit

    task_id = submit(db.session, kind, params, user_id=None, title=title, enqueue=False).id
    run(task_id)
    task = db.session.get(Task, task_id)
    line = task.error if task.status == TaskStatus.failed else task.result
    click.echo(f"Task {task.id} ({kind}): {task.status.value}: {line}")
    if task.status == TaskStatus.failed:
        sys.exit(1)
    return task


@tasks_cli.command("run")
@click.argument("kind")
@click.option("--param", "params", multiple=True, metavar="NAME=JSON",
              help="A parameter of the task function, e.g. --param keep_days=7.")
def run_command(kind, params):
    """Run a registered task kind now, in this process (for cron), recorded as a task."""
    from . import registry

    try:
        registry.kind(kind)
    except registry.UnknownTaskKind as exc:
        raise click.ClickException(f"{exc}; known: {', '.join(sorted(registry.KINDS))}") from exc
    values = {}
    for param in params:
        name, _, raw = param.partition("=")
        try:
            values[name] = json.loads(raw)
        except ValueError:
            values[name] = raw
    run_now(kind, values)


@tasks_cli.command("cleanup")
@click.option("--keep-days", type=int, default=None, help="Default: TASKS_KEEP_DAYS (30).")
def cleanup_command(keep_days):
    """Delete tasks (rows and files) older than TASKS_KEEP_DAYS."""
    from . import registry

    run_now("tasks.cleanup", {} if keep_days is None else {"keep_days": keep_days},
            title=registry.kind("tasks.cleanup").title)
