"""Files sent with messages: limits, the type read from the content, storage, who may fetch.

The type is what libmagic (python-magic) reads from the bytes, never the file name: an
executable called `offer.pdf` is refused. Only types on `ALLOWED` pass. The bytes are
written to `MESSAGE_FILES_DIR` under a random key (the user's file name is kept in the row
for the download only); with several machines that folder must be shared storage. A file is
handed out only to the conversation's two parties: the partner's team and the customer.

Storage follows the transaction that adds the row: the bytes go to `<key>.part` and are
renamed to `<key>` (a reader never sees half a file) before the commit, so a committed row
always has its file; when the transaction rolls back, the session's `after_rollback` hook
deletes the files it wrote. A process that dies between writing and committing leaves a file
no row names: `sweep` (the hourly `messages.sweep_files` task) deletes such files and `.part`
leftovers once they are older than `ORPHAN_AGE`, far longer than any transaction lasts.

`discard` is the way back: the rows go in the caller's transaction, the bytes once it
commits (`file_removal`), so from the commit on no download finds the file, and a rollback
keeps both.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import magic
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from ..errors import NotFound, RuleViolations
from ..models import Conversation, Message, MessageFile
from .file_removal import remove_after_commit

WRITTEN = "message_files_written"  # session.info: paths written in the open transaction
ORPHAN_AGE = timedelta(hours=1)

# Content type (as libmagic names it) → the file ending a download gets.
ALLOWED = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "text/plain": ".txt",
    "text/csv": ".csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


@dataclass(frozen=True)
class Checked:
    name: str
    data: bytes
    content_type: str


def _setting(name: str, default):
    return current_app.config.get(name, default)


def folder() -> Path:
    return Path(_setting("MESSAGE_FILES_DIR", "instance/message-files"))


def _clean_name(name: str, content_type: str) -> str:
    name = Path((name or "").replace("\\", "/")).name.strip()[:200] or _("file")
    ending = ALLOWED[content_type]
    return name if name.lower().endswith(ending) else name + ending


def check(uploads: list[Upload]) -> list[Checked]:
    """The files that may be sent, or RuleViolations on `files` naming the first problem."""
    uploads = [u for u in uploads if u.name or u.data]
    max_count = _setting("MESSAGE_FILES_MAX", 5)
    max_bytes = _setting("MESSAGE_FILE_MAX_BYTES", 10 * 1024 * 1024)
    if len(uploads) > max_count:
        raise RuleViolations({"files": [_("At most %(max)s files per message.", max=max_count)]})
    checked = []
    for upload in uploads:
        if not upload.data:
            raise RuleViolations({"files": [_("%(name)s is empty.", name=upload.name)]})
        if len(upload.data) > max_bytes:
            raise RuleViolations({"files": [_("%(name)s is larger than %(max)s MB.", name=upload.name,
                                              max=max_bytes // (1024 * 1024))]})
        content_type = magic.from_buffer(upload.data[:65536], mime=True)
        if content_type not in ALLOWED:
            raise RuleViolations({"files": [_(
                "%(name)s cannot be sent: PDF, pictures (PNG, JPEG, GIF, WebP), text, CSV, "
                "Word and Excel files only.", name=upload.name)]})
        checked.append(Checked(_clean_name(upload.name, content_type), upload.data, content_type))
    return checked


def store(session, message_id: int, files: list[Checked]) -> list[MessageFile]:
    """Write the bytes under new keys and add their rows to the caller's transaction; the
    files are deleted again if that transaction rolls back."""
    target = folder()
    target.mkdir(parents=True, exist_ok=True)
    written = session.info.setdefault(WRITTEN, [])
    rows = []
    for file in files:
        key = uuid.uuid4().hex
        path = target / key
        partial = path.with_name(key + ".part")
        written.append(partial)
        partial.write_bytes(file.data)
        written.append(path)
        partial.replace(path)
        row = MessageFile(message_id=message_id, file_name=file.name, content_type=file.content_type,
                          size=len(file.data), storage_key=key)
        session.add(row)
        rows.append(row)
    return rows


@event.listens_for(Session, "after_commit")
def _keep_written(session) -> None:
    session.info.pop(WRITTEN, None)


@event.listens_for(Session, "after_rollback")
def _delete_written(session) -> None:
    for path in session.info.pop(WRITTEN, ()):
        path.unlink(missing_ok=True)


def discard(session, file_ids) -> int:
    """Delete these files (ids, or a select of ids): their rows in the caller's transaction,
    their bytes after its commit. The number of files."""
    found = session.execute(select(MessageFile.id, MessageFile.storage_key)
                            .where(MessageFile.id.in_(file_ids))).all()
    if not found:
        return 0
    ids = [row.id for row in found]
    session.execute(delete(MessageFile).where(MessageFile.id.in_(ids))
                    .execution_options(synchronize_session="fetch"))
    target = folder()
    remove_after_commit(session, [target / row.storage_key for row in found])
    return len(found)


def sweep(session, *, now: float | None = None) -> int:
    """Delete files of the storage folder that no row names (and `.part` leftovers) once they
    are older than `ORPHAN_AGE`; the number deleted."""
    target = folder()
    if not target.is_dir():
        return 0
    limit = (time.time() if now is None else now) - ORPHAN_AGE.total_seconds()
    candidates = {}
    for entry in target.iterdir():
        try:
            if entry.is_file() and entry.stat().st_mtime < limit:
                candidates[entry.name] = entry
        except FileNotFoundError:  # deleted meanwhile
            continue
    keys = [name for name in candidates if not name.endswith(".part")]
    known = set()
    for start in range(0, len(keys), 1000):
        known.update(session.scalars(select(MessageFile.storage_key)
                                     .where(MessageFile.storage_key.in_(keys[start:start + 1000]))))
    deleted = 0
    for name, entry in candidates.items():
        if name not in known:
            entry.unlink(missing_ok=True)
            deleted += 1
    return deleted


def file_for(session, file_id: int, *, partner_id: int | None = None,
             customer_id: int | None = None) -> tuple[MessageFile, Path]:
    """A file of a conversation of this partner or this customer (else: not found)."""
    if partner_id is None and customer_id is None:
        raise ValueError("scope the file to a partner or a customer")
    stmt = (select(MessageFile).join(Message, Message.id == MessageFile.message_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(MessageFile.id == file_id))
    if partner_id is not None:
        stmt = stmt.where(Conversation.partner_id == partner_id)
    if customer_id is not None:
        stmt = stmt.where(Conversation.customer_id == customer_id)
    row = session.scalar(stmt)
    path = folder() / row.storage_key if row is not None else None
    if row is None or not path.is_file():
        raise NotFound("file_not_found", _("There is no such file."))
    return row, path
