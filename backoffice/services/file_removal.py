"""Files on disk that a transaction stops naming are deleted only once it commits.

Deleting before the commit would lose the bytes of a row that a rollback keeps; deleting
after it leaves, if the process dies in between, a file no row names, which the owner's
sweep removes (`message_files.sweep`). `remove_after_commit` collects the paths in
`session.info`; a rollback forgets them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

PENDING = "files_removed_after_commit"  # session.info: paths to delete at the commit


def remove_after_commit(session, paths: Iterable[Path]) -> None:
    session.info.setdefault(PENDING, []).extend(paths)


@event.listens_for(Session, "after_commit")
def _remove(session) -> None:
    for path in session.info.pop(PENDING, ()):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    session.info.pop(PENDING, None)
