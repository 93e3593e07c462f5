"""`flask downline check` (exits 1 and lists problems), `flask downline rebuild` and
`flask downline recount` (the kept count of addresses that never ordered)."""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

from backoffice.extensions import db
from backoffice.transaction import discard, unit_of_work

from . import counters
from .integrity import check
from .maintenance import rebuild

downline_cli = AppGroup("downline", help="The sponsor tree: integrity check and rebuild.")


@downline_cli.command("check")
@click.option("--limit", default=50, show_default=True, help="Problems listed per kind.")
def check_command(limit):
    """Cycles, orphans and derived data out of step with the sponsor column."""
    started = time.perf_counter()
    report = check(db.session, limit=limit)
    discard()
    for problem in report.problems:
        click.echo(problem)
    click.echo(f"{report.checked} addresses checked in {time.perf_counter() - started:.1f} s: "
               + ("OK" if report.ok else f"{len(report.problems)} problems"))
    if not report.ok:
        sys.exit(1)


@downline_cli.command("rebuild")
def rebuild_command():
    """Recompute paths, depths and sizes of every address (set-based)."""
    started = time.perf_counter()
    with unit_of_work() as session:
        result = rebuild(session)
    click.echo(f"Rebuilt in {time.perf_counter() - started:.1f} s: depth {result['max_depth']}, "
               f"{result['unplaced']} addresses not reachable from a root.")


@downline_cli.command("recount")
def recount_command():
    """Set the kept count of registered addresses that never ordered from the addresses."""
    with unit_of_work() as session:
        value = counters.recount(session.connection())
    click.echo(f"Registered, never ordered: {value}")
