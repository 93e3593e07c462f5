"""Kept counts over the whole address table, for the staff start page: "registered, never
ordered" (the addresses whose type is still `new_customer`) and, per UTC day, the
registrations and first orders.

Counting them on every page view grows with the table (350,000 new customers and ~27,000
registrations a month at 1,000,000 addresses); the counts are kept in `address_counter`
instead, one row per name ("never_ordered", "registered:2026-12-04",
"first_order:2026-12-04"), and read in a few rows.

- The ORM's flushes are watched like the tree's (`downline.tree`): a new address (a new
  customer unless typed otherwise, registered today unless dated), a changed type (a first
  order makes a customer), a changed registration or first-order time, a deleted address:
  each adds its +1/−1 to the session's pending changes.
- Bulk writes that bypass the ORM (the address import, the demo seed) call `add` or `recount`.
- The pending changes go into their rows at commit, in the same transaction, as
  `value = value + n`, in name order: PostgreSQL serialises concurrent commits on a row, so
  the counts are exact; the rows are the last locks a transaction takes, each taken in the
  same order, so they join no deadlock. A rollback drops the pending changes with the rest.
- `recount` (part of `flask downline rebuild`, also `flask downline recount`) sets them from
  the table; `flask downline check` compares.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session

from backoffice.models import Address, AddressType
from backoffice.models.types import utcnow

NEVER_ORDERED = "never_ordered"
REGISTERED = "registered:"
FIRST_ORDER = "first_order:"
_NEW = AddressType.new_customer
_PENDING = "address_counter_pending"
_FLUSH = "address_counter_flush"

_COUNT = text("SELECT COUNT(*) FROM address WHERE type = 'new_customer'")
_ADD = text("UPDATE address_counter SET value = value + :n WHERE name = :name")
_CREATE = text("INSERT INTO address_counter (name, value) VALUES (:name, 0) ON CONFLICT (name) DO NOTHING")
_READ = text("SELECT value FROM address_counter WHERE name = :name")
_RANGE = text("SELECT name, value FROM address_counter WHERE name >= :lo AND name <= :hi")


def _is_new(value) -> bool:
    return value == _NEW or value == _NEW.value


def day_name(prefix: str, moment) -> str | None:
    """The counter of `moment`'s UTC day ("registered:2026-12-04"); None for no moment."""
    if moment is None:
        return None
    if isinstance(moment, str):
        return prefix + moment[:10]
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return prefix + moment.date().isoformat()


def _bump(delta: dict, name: str | None, n: int) -> None:
    if name is not None and n:
        delta[name] = delta.get(name, 0) + n


def _moved(delta: dict, history, prefix: str) -> None:
    for value in history.deleted:
        _bump(delta, day_name(prefix, value), -1)
    for value in history.added:
        _bump(delta, day_name(prefix, value), 1)


def _before_flush(session: Session, flush_context, instances) -> None:
    delta: dict[str, int] = {}
    for obj in session.new:
        if isinstance(obj, Address):
            if obj.registered_at is None:
                obj.registered_at = utcnow()  # the column's default, taken now: counted on its day
            _bump(delta, NEVER_ORDERED, obj.type is None or _is_new(obj.type))
            _bump(delta, day_name(REGISTERED, obj.registered_at), 1)
            _bump(delta, day_name(FIRST_ORDER, obj.first_order_at), 1)
    for obj in session.dirty:
        if isinstance(obj, Address):
            attrs = inspect(obj).attrs
            history = attrs.type.history
            if history.has_changes():
                _bump(delta, NEVER_ORDERED,
                      sum(_is_new(v) for v in history.added) - sum(_is_new(v) for v in history.deleted))
            for attr, prefix in ((attrs.registered_at, REGISTERED), (attrs.first_order_at, FIRST_ORDER)):
                if attr.history.has_changes():
                    _moved(delta, attr.history, prefix)
    for obj in session.deleted:
        if isinstance(obj, Address):
            attrs = inspect(obj).attrs
            for attr, prefix in ((attrs.type, None), (attrs.registered_at, REGISTERED),
                                 (attrs.first_order_at, FIRST_ORDER)):
                value = attr.history.deleted[0] if attr.history.deleted else attr.value
                if prefix is None:
                    _bump(delta, NEVER_ORDERED, -_is_new(value))
                else:
                    _bump(delta, day_name(prefix, value), -1)
    # Fresh for each flush: a flush that failed adds nothing.
    session.info[_FLUSH] = delta


def _after_flush(session: Session, flush_context) -> None:
    for name, n in session.info.pop(_FLUSH, {}).items():
        add(session, n, name)


def add(session: Session, n: int, name: str = NEVER_ORDERED) -> None:
    """Count `n` more under `name` when this transaction commits (bulk writers)."""
    if n:
        pending = session.info.setdefault(_PENDING, {})
        pending[name] = pending.get(name, 0) + n


def add_rows(session: Session, rows) -> None:
    """Bulk writers: count new addresses given as (type, registered_at, first_order_at)."""
    for type_, registered_at, first_order_at in rows:
        add(session, _is_new(type_))
        add(session, 1, day_name(REGISTERED, registered_at or utcnow()))
        if first_order_at is not None:
            add(session, 1, day_name(FIRST_ORDER, first_order_at))


def _before_commit(session: Session) -> None:
    session.flush()  # the commit's own flush comes after this hook: its changes count too
    pending = session.info.pop(_PENDING, {})
    if not pending:
        return
    conn = session.connection()
    for name in sorted(pending):  # one order for every transaction: no deadlock between them
        if pending[name] and not conn.execute(_ADD, {"n": pending[name], "name": name}).rowcount:
            if name == NEVER_ORDERED:
                recount(conn)  # the rows were emptied by hand: counted from the table once
                return
            conn.execute(_CREATE, {"name": name})  # a day's first
            conn.execute(_ADD, {"n": pending[name], "name": name})


def _forget(session: Session, previous_transaction=None) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_FLUSH, None)


_ACTUAL = (
    "SELECT :never AS name, COUNT(*) AS value FROM address WHERE type = 'new_customer' "
    "UNION ALL SELECT :reg || {day_reg}, COUNT(*) FROM address GROUP BY {day_reg} "
    "UNION ALL SELECT :first || {day_first}, COUNT(*) FROM address "
    "WHERE first_order_at IS NOT NULL GROUP BY {day_first}")


def _actual(conn) -> dict[str, int]:
    def day(column):
        if conn.dialect.name == "postgresql":
            return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        return f"substr({column}, 1, 10)"
    sql = _ACTUAL.format(day_reg=day("registered_at"), day_first=day("first_order_at"))
    rows = conn.execute(text(sql), {"never": NEVER_ORDERED, "reg": REGISTERED, "first": FIRST_ORDER})
    return {name: value for name, value in rows}


def recount(conn) -> int:
    """Set every kept count from the address table (no commit); the never-ordered count."""
    actual = _actual(conn)
    conn.execute(text("DELETE FROM address_counter"))
    conn.execute(text("INSERT INTO address_counter (name, value) VALUES (:name, :value)"),
                 [{"name": name, "value": value} for name, value in sorted(actual.items())])
    return actual[NEVER_ORDERED]


def never_ordered(session: Session) -> int:
    """The kept count of registered addresses that never ordered."""
    value = session.execute(_READ, {"name": NEVER_ORDERED}).scalar()
    return value if value is not None else session.execute(_COUNT).scalar_one()


def per_day(session: Session, prefix: str, first: dt.date, last: dt.date) -> dict[dt.date, int]:
    """The kept counts of the UTC days `first`..`last` under `prefix` (days without any absent)."""
    rows = session.execute(_RANGE, {"lo": prefix + first.isoformat(), "hi": prefix + last.isoformat()})
    return {dt.date.fromisoformat(name[len(prefix):]): value for name, value in rows if value}


def differences(conn) -> list[str]:
    """What the kept counts say against the table, for the integrity check."""
    kept = {name: value for name, value in conn.execute(text("SELECT name, value FROM address_counter"))
            if value}
    actual = {name: value for name, value in _actual(conn).items() if value}  # a missing row counts 0
    return [f"counter: {name} is {kept.get(name, 0)}, the addresses say {actual.get(name, 0)}"
            for name in sorted(set(kept) | set(actual)) if kept.get(name, 0) != actual.get(name, 0)]


def install(session_class=Session) -> None:
    """Register the hooks once per process (idempotent)."""
    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)
        event.listen(session_class, "after_flush", _after_flush)
        event.listen(session_class, "before_commit", _before_commit)
        event.listen(session_class, "after_soft_rollback", _forget)
        event.listen(session_class, "after_commit", _forget)
