"""The import log around `runner.run`: keep the file, record who ran what, store the outcome.

One place for the Desk (background task), the CLI and the REST API, so every import shows
up in the history with the same counts and errors.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from werkzeug.utils import secure_filename

from backoffice import transaction
from backoffice.audit import acting_as
from backoffice.errors import InvalidInput
from backoffice.models import ImportRun, ImportStatus
from backoffice.models.types import utcnow

from .report import Report
from .runner import run

# What the import log keeps per run; the full list is in the downloadable report while the
# run's file is kept, and the count always says how many there were.
KEPT_ERRORS = 1000


def storage_dir() -> Path:
    folder = Path(current_app.config["IMPORTS_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_upload(stream, file_name: str) -> tuple[Path, int]:
    """Save an uploaded file under a unique name; returns its path and size."""
    safe = secure_filename(file_name) or "upload.csv"
    path = storage_dir() / f"{uuid.uuid4().hex}-{safe}"
    with open(path, "wb") as out:
        shutil.copyfileobj(stream, out, length=1 << 20)
    return path, path.stat().st_size


def parse_mapping(text: str | None) -> dict[str, str] | None:
    """A column mapping as the API and CLI take it: a JSON object {"file column": "field"} ("" or
    null ignores a column)."""
    if not text or not str(text).strip():
        return None
    try:
        mapping = json.loads(text)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and (v is None or isinstance(v, str))
                                                for k, v in mapping.items()):
        raise InvalidInput("invalid_mapping", _('The mapping is a JSON object: {"file column": "field"}.'))
    return {k: v or "" for k, v in mapping.items()}


def mapping_of(session, run_id: int | None, kind: str) -> dict[str, str] | None:
    """The column mapping an earlier run of the same kind used: reused for the next file from
    the same source."""
    if not run_id:
        return None
    record = session.get(ImportRun, run_id)
    if record is None or record.kind != kind:
        raise InvalidInput("invalid_mapping", _("No %(kind)s import #%(id)s to take the mapping from.",
                                                kind=kind, id=run_id))
    return record.columns.get("requested") or record.columns.get("mapping") or None


def new_run(session, kind: str, path: Path, file_name: str, *, dry_run: bool, source: str,
            user_id: int | None = None, actor: str | None = None,
            mapping: dict[str, str] | None = None) -> ImportRun:
    """A logged run, not started yet (committed: a background task can pick it up). `mapping`
    (file column → field) overrides matching the header by name."""
    requested = json.dumps({"requested": mapping}, ensure_ascii=False) if mapping else None
    record = ImportRun(kind=kind, file_name=file_name[:255], file_path=str(path), columns_json=requested,
                       file_size=path.stat().st_size,
                       dry_run=dry_run, status=ImportStatus.uploaded, source=source, user_id=user_id,
                       actor=(actor or "")[:100] or None, rows_total=0, rows_done=0, created=0, updated=0,
                       unchanged=0, rejected=0, error_count=0)
    with transaction.unit_of_work(session):
        session.add(record)
    return record


def again(session, previous: ImportRun, *, dry_run: bool, user_id: int | None,
          actor: str | None) -> ImportRun:
    """The same stored file once more (typically: import after a clean dry run)."""
    return new_run(session, previous.kind, Path(previous.file_path), previous.file_name, dry_run=dry_run,
                   source=previous.source, user_id=user_id, actor=actor,
                   mapping=previous.columns.get("requested"))


def execute(session, run_id: int, progress: Callable[[int, int], None] | None = None) -> Report:
    """Run a logged import and record its outcome. The import's own transaction commits or
    rolls back inside `runner.run`; the log row is written after it, in a transaction of its own."""
    record = session.get(ImportRun, run_id)
    kind, path, dry_run, actor, user_id = (record.kind, record.file_path, record.dry_run,
                                           record.actor or "import", record.user_id)
    mapping = record.columns.get("requested")
    with transaction.unit_of_work(session):
        record.status = ImportStatus.running
    try:
        with acting_as(actor, user_id, None):
            report = run(session, kind, path, dry_run=dry_run, progress=progress, mapping=mapping)
    except Exception as exc:
        with transaction.unit_of_work(session):
            record = session.get(ImportRun, run_id)
            record.status, record.message, record.finished_at = ImportStatus.failed, str(exc)[:2000], utcnow()
        raise
    with transaction.unit_of_work(session):
        save_report(session.get(ImportRun, run_id), report)
    return report


def save_report(record: ImportRun, report: Report) -> None:
    record.encoding, record.separator = report.encoding or None, report.separator or None
    record.rows_total = record.rows_done = report.rows
    record.created, record.updated, record.unchanged = report.created, report.updated, report.unchanged
    record.rejected, record.error_count = report.rejected, report.error_count
    record.errors_json = json.dumps([e.as_list() for e in report.errors[:KEPT_ERRORS]], ensure_ascii=False)
    record.columns_json = json.dumps({"mapping": report.columns, "ignored": report.ignored_columns,
                                      "notes": report.notes, "requested": record.columns.get("requested")},
                                     ensure_ascii=False)
    record.message = report.problem
    if report.problem:
        record.status = ImportStatus.failed
    elif not report.ok:
        record.status = ImportStatus.rejected
    else:
        record.status = ImportStatus.checked if report.dry_run else ImportStatus.imported
    record.finished_at = utcnow()
