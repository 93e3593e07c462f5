"""The one place that ends a transaction: commit, roll back, retry.

Services never commit: they take a session, change it and return. Whoever serves a
request, a task or a command opens the unit of work around the service calls:

    with unit_of_work() as session:
        result = vouchers.create_partner_code(session, partner, "vonmeier")

    result = transaction.run(lambda session: orders.place_order(session, ...), retries=2)

`unit_of_work` commits when the block ends and rolls back on any exception, so a refused
use case (a `DomainError`) leaves nothing half-written. `run` additionally runs the work
again when PostgreSQL aborted it to break a deadlock or a serialization conflict (nothing of
it was kept, so a second run sees the other transaction's outcome), and turns a unique or
foreign-key race that no rule could see coming into a `Conflict` (or hands it to the
caller's `on_conflict`, e.g. "the same order was placed a moment ago: answer with it").
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import TypeVar

from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from .errors import Conflict, DomainError
from .extensions import db

log = logging.getLogger(__name__)

T = TypeVar("T")

# PostgreSQL's deadlock_detected and serialization_failure: the transaction was aborted as a
# whole and may simply run again.
RETRY_SQLSTATES = frozenset({"40P01", "40001"})


def _session(session: Session | None) -> Session:
    return db.session if session is None else session


@contextlib.contextmanager
def unit_of_work(session: Session | None = None) -> Iterator[Session]:
    """Commit what the block did, or roll all of it back if it raised."""
    session = _session(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def discard(session: Session | None = None) -> None:
    """Roll back what the session holds uncommitted (a read-only request's snapshot, a
    refused change before an error answer)."""
    _session(session).rollback()


def keep(session: Session | None = None) -> None:
    """Commit what the session holds: for entry points that run several units of work one
    after another on one session (the task runner, an import run)."""
    _session(session).commit()


def finish(session: Session | None = None, *, keep_changes: bool) -> None:
    """End an all-or-nothing unit of work whose outcome is known only at its end: an import
    keeps its rows only if the whole file was clean and this was no dry run."""
    if keep_changes:
        keep(session)
    else:
        discard(session)


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRY_SQLSTATES


def run(work: Callable[[Session], T], *, session: Session | None = None, retries: int = 0,
        on_conflict: Callable[[Session, IntegrityError], T] | None = None) -> T:
    """`work(session)` in a unit of work, run again up to `retries` times after a deadlock or
    serialization failure; a unique/foreign-key clash becomes `on_conflict(session, exc)`
    (called after the rollback, in a fresh transaction) or a `Conflict`."""
    session = _session(session)
    for attempt in range(retries + 1):
        try:
            with unit_of_work(session):
                return work(session)
        except IntegrityError as exc:
            if on_conflict is not None:
                return on_conflict(session, exc)
            raise Conflict() from exc
        except DBAPIError as exc:
            if not is_retryable(exc) or attempt == retries:
                raise
            log.info("transaction aborted by the database (%s); running it again", exc.orig.sqlstate)
    raise AssertionError("unreachable")


def guarded(session: Session | None = None) -> contextlib.AbstractContextManager:
    """A unit of work whose database refusals reach the user as a `Conflict`/`DomainError`
    instead of the database's own text (which names tables, columns and values)."""
    return _Guarded(_session(session))


class _Guarded(contextlib.AbstractContextManager):
    def __init__(self, session: Session):
        self.session = session

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self.session.commit()
            except SQLAlchemyError as error:
                self.session.rollback()
                raise _as_domain_error(error) from error
            return False
        self.session.rollback()
        if isinstance(exc, SQLAlchemyError) and not isinstance(exc, DomainError):
            raise _as_domain_error(exc) from exc
        return False


def _as_domain_error(error: SQLAlchemyError) -> DomainError:
    if isinstance(error, IntegrityError):
        return Conflict("conflict", _("Not saved: the record conflicts with existing data "
                                      "(a unique value is taken or a referenced record is in use)."))
    log.warning("database refused a change: %s", error)
    return Conflict("not_saved", _("Not saved: the database refused the change."))
