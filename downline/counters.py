"""Kept counts over the whole address table: "registered, never ordered" (the addresses whose
type is still `new_customer`) for the staff start page.

Counting that many index entries on every page view grows with the table (350,000 of them at
1,000,000 addresses); the count is kept in `address_counter` instead and read in one row.

- The ORM's flushes are watched like the tree's (`downline.tree`): a new address (a new
  customer unless typed otherwise), a changed type (a first order makes a customer) and a
  deleted address each add their +1/−1 to the session's pending change.
- Bulk writes that bypass the ORM (the address import, the demo seed) call `add` or `recount`.
- The pending change goes into the row at commit, in the same transaction, as
  `value = value + n`: PostgreSQL serialises concurrent commits on the row, so the count is
  exact; the row is the last lock a transaction takes, so it joins no deadlock. A rollback
  drops the pending change with the rest.
- `recount` (part of `flask downline rebuild`) sets it from the table; `flask downline check`
  compares.
"""

from __future__ import annotations

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session

from backoffice.models import Address, AddressType

NEVER_ORDERED = "never_ordered"
_NEW = AddressType.new_customer
_PENDING = "address_counter_pending"
_FLUSH = "address_counter_flush"

_COUNT = text("SELECT COUNT(*) FROM address WHERE type = 'new_customer'")
_ADD = text("UPDATE address_counter SET value = value + :n WHERE name = :name")
_READ = text("SELECT value FROM address_counter WHERE name = :name")


def _is_new(value) -> bool:
    return value == _NEW or value == _NEW.value


def _before_flush(session: Session, flush_context, instances) -> None:
    delta = 0
    for obj in session.new:
        if isinstance(obj, Address) and (obj.type is None or _is_new(obj.type)):
            delta += 1
    for obj in session.dirty:
        if isinstance(obj, Address):
            history = inspect(obj).attrs.type.history
            if history.has_changes():
                delta += sum(_is_new(v) for v in history.added) - sum(_is_new(v) for v in history.deleted)
    for obj in session.deleted:
        if isinstance(obj, Address):
            history = inspect(obj).attrs.type.history
            delta -= _is_new(history.deleted[0] if history.deleted else obj.type)
    # Fresh for each flush: a flush that failed adds nothing.
    session.info[_FLUSH] = delta


def _after_flush(session: Session, flush_context) -> None:
    add(session, session.info.pop(_FLUSH, 0))


def add(session: Session, n: int) -> None:
    """Count `n` more never-ordered addresses when this transaction commits (bulk writers)."""
    if n:
        session.info[_PENDING] = session.info.get(_PENDING, 0) + n


def _before_commit(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook: its changes count too
    n = session.info.pop(_PENDING, 0)
    if n and not session.connection().execute(_ADD, {"n": n, "name": NEVER_ORDERED}).rowcount:
        recount(session.connection())


def _forget(session: Session, previous_transaction=None) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_FLUSH, None)


def recount(conn) -> int:
    """Set the kept count from the address table (no commit); creates the row if missing."""
    conn.execute(text("INSERT INTO address_counter (name, value) VALUES (:name, 0) "
                      "ON CONFLICT (name) DO NOTHING"), {"name": NEVER_ORDERED})
    value = conn.execute(_COUNT).scalar_one()
    conn.execute(text("UPDATE address_counter SET value = :v WHERE name = :name"),
                 {"v": value, "name": NEVER_ORDERED})
    return value


def never_ordered(session: Session) -> int:
    """The kept count of registered addresses that never ordered (this transaction's own
    uncommitted registrations not yet included)."""
    value = session.execute(_READ, {"name": NEVER_ORDERED}).scalar()
    return value if value is not None else session.execute(_COUNT).scalar_one()


def counted(conn) -> tuple[int | None, int]:
    """(kept, actual) for the integrity check."""
    return conn.execute(_READ, {"name": NEVER_ORDERED}).scalar(), conn.execute(_COUNT).scalar_one()


def install(session_class=Session) -> None:
    """Register the hooks once per process (idempotent)."""
    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)
        event.listen(session_class, "after_flush", _after_flush)
        event.listen(session_class, "before_commit", _before_commit)
        event.listen(session_class, "after_soft_rollback", _forget)
        event.listen(session_class, "after_commit", _forget)
