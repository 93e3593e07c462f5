"""Running an import: one transaction, all or nothing, streamed in chunks.

The CLI, the Desk's background task and the REST endpoint all call `run()`. Rows are
checked chunk by chunk; while no error has been seen they are also written (inside the
one transaction), after the first error the rest is only checked so the report is
complete, and at the end the transaction commits only if the file was clean and this is
no dry run. A file that breaks off mid-way (unreadable, the database gone) rolls back.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from flask_babel import gettext as _

from backoffice import transaction

from .kinds import KINDS
from .reading import FileProblem, open_table
from .report import Report

CHUNK_ROWS = 50_000


def kind_of(name: str):
    try:
        return KINDS[name]()
    except KeyError:
        raise FileProblem(_("Unknown import kind %(kind)s; known: %(kinds)s.", kind=name,
                            kinds=", ".join(KINDS))) from None


def estimated_rows(path: Path) -> int:
    """Newlines minus the header: exact unless fields hold line breaks (then a bit high)."""
    count = 0
    with open(path, "rb") as fh:
        if fh.read(2) == b"PK":
            return 0  # a workbook: the rows are counted as they are read
        fh.seek(0)
        while block := fh.read(1 << 22):
            count += block.count(b"\n")
    size = os.path.getsize(path)
    if size:
        with open(path, "rb") as fh:
            fh.seek(size - 1)
            if fh.read(1) != b"\n":
                count += 1
    return max(count - 1, 0)


def run(session, kind_name: str, path: Path | str, *, dry_run: bool = True,
        progress: Callable[[int, int], None] | None = None, chunk_rows: int = CHUNK_ROWS,
        mapping: dict[str, str] | None = None) -> Report:
    """Check (and unless `dry_run`, import) the file. Commits or rolls back; returns the report.

    `mapping` (file column → field, "" to ignore a column) overrides matching by header name."""
    kind = kind_of(kind_name)
    report = Report(kind=kind_name, dry_run=dry_run)
    path = Path(path)

    def bad_row(line, shown, message):
        report.rows += 1
        report.error(line, "", shown, message)

    try:
        table = open_table(path, kind.aliases(), kind.required(), mapping)
        report.encoding, report.separator = table.encoding or table.format, table.separator
        report.columns, report.ignored_columns = dict(table.mapping), list(table.ignored)
        report.notes = [note for _column, note in table.notes]
        if kind.one_of and not set(kind.one_of) & set(table.mapping.values()):
            raise FileProblem(_("The file needs one of these columns to match rows on re-import: "
                                "%(names)s.", names=", ".join(kind.one_of)))
        total = estimated_rows(path)
        column_of = {f: c for c, f in table.mapping.items()}
        kind.column_of, kind.dry_run = column_of, dry_run
        kind.prepare(session, table, report)
        for frame in table.chunks(chunk_rows, bad_row=bad_row):
            report.rows += len(frame)
            frame = kind.parse(frame, report, column_of)
            kind.process(session, frame, report, write=report.ok and not dry_run)
            if progress:
                progress(report.rows, max(total, report.rows))
        kind.finish(session, report, write=report.ok and not dry_run)
    except FileProblem as exc:
        report.problem = str(exc)
    except BaseException:
        kind.close()
        transaction.discard(session)
        raise
    kind.close()
    report.errors.sort(key=lambda e: e.line)
    transaction.finish(session, keep_changes=report.written)
    return report


def preview(kind_name: str, path: Path | str, rows: int = 10, mapping: dict[str, str] | None = None) -> dict:
    """How the file reads: detected encoding and separator, the column mapping, the first rows."""
    kind = kind_of(kind_name)
    try:
        table = open_table(Path(path), kind.aliases(), kind.required(), mapping)
        frame = next(table.chunks(rows), None)
    except FileProblem as exc:
        table = exc.table
        return {"problem": str(exc), "choices": [f.name for f in kind.fields],
                "header": table.header if table else [], "mapping": table.mapping if table else {}}
    shown = [c for c in frame.columns if c != "_pos"] if frame is not None else []
    return {"encoding": table.encoding or table.format, "separator": table.separator,
            "mapping": table.mapping, "header": table.header, "ignored": table.ignored,
            "notes": [note for _column, note in table.notes], "fields": shown[1:],
            "choices": [f.name for f in kind.fields],
            "rows": frame[shown].head(rows).values.tolist() if frame is not None else []}
