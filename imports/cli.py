"""`flask import <kind> FILE`: check (default) or import a file on the server, with a progress bar."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from tqdm import tqdm

from backoffice.extensions import db

from .kinds import KINDS
from .report import errors_file
from .runs import execute, mapping_of, new_run


@click.command("import")
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--commit", "commit", is_flag=True,
              help="Import; without it the file is only checked (dry run).")
@click.option("--errors", "errors_to", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the error report here (.csv or .xlsx).")
@click.option("--actor", default=None, help="Name recorded in the import log and audit trail.")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD",
              help="Read the file's COLUMN as FIELD (FIELD empty: ignore the column); repeatable.")
@click.option("--mapping-from", type=int, metavar="IMPORT_ID",
              help="Use the column mapping of an earlier import of the same kind.")
@with_appcontext
def import_command(kind, file, commit, errors_to, actor, maps, mapping_from):
    """Check or import FILE as KIND; exits 1 if the file has errors (nothing is written then)."""
    actor = actor or f"cli:{getpass.getuser()}"
    mapping = mapping_of(db.session, mapping_from, kind) or {}
    for item in maps:
        column, sep, name = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: write COLUMN=FIELD", param_hint="--map")
        mapping[column.strip()] = name.strip()
    record = new_run(db.session, kind, file.resolve(), file.name, dry_run=not commit, source="cli",
                     actor=actor, mapping=mapping or None)
    with tqdm(total=0, unit=" rows", desc=f"{kind} {'import' if commit else 'check'}", file=sys.stderr,
              dynamic_ncols=True) as bar:
        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        report = execute(db.session, record.id, progress=progress)
    click.echo(f"import #{record.id}: {report.rows} rows, {report.created} to create, "
               f"{report.updated} to update, {report.unchanged} unchanged, {report.rejected} rejected"
               + ("" if not commit else (" — imported" if report.written else " — nothing written")))
    if report.ignored_columns:
        click.echo(f"ignored columns: {', '.join(report.ignored_columns)}")
    for note in report.notes:
        click.echo(f"  {note}")
    if report.problem:
        click.echo(f"file problem: {report.problem}", err=True)
    for error in report.errors[:20]:
        click.echo(f"  line {error.line}, {error.column or '-'} = {error.value!r}: {error.message}", err=True)
    if report.error_count > 20:
        click.echo(f"  … and {report.error_count - 20} more", err=True)
    if errors_to and report.errors:
        fmt = "xlsx" if errors_to.suffix.lower() == ".xlsx" else "csv"
        errors_to.write_bytes(errors_file([e.as_list() for e in report.errors], fmt))
        click.echo(f"error report written to {errors_to}")
    if not report.ok:
        sys.exit(1)
