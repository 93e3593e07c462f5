"""The derived tree data, kept in step with `address.sponsor_id` inside every flush.

Each address has a row in `address_tree` with `path` (the ids of its ancestors from the
root down to its sponsor, "/1/2/57/"; "/" for a root), `depth` and a copy of its `type`;
the address row itself holds `firstline_count` and `downline_count`. The downline of X is
then one index range: `path >= X.path||X.id||'/'` and below the same prefix with its last
"/" replaced by "0" (the next byte), on SQLite and PostgreSQL alike.

Whoever changes a sponsor (Desk form, REST API, import, shop, `downline.moves`) only sets
`sponsor_id`; the session hooks below then, in the same transaction:

* refuse a cycle or a missing sponsor (walking up from the new sponsor in the database,
  which already holds this flush's rows, so two changes in one flush are judged together),
* on PostgreSQL lock the new sponsor, the old and the new upline (`FOR NO KEY UPDATE`)
  and read their places after the locks, so two concurrent changes that would together close a cycle
  cannot both commit, and none computes a place or sizes from an upline another is moving,
* rewrite the moved subtree's paths and depths with one range UPDATE of `address_tree` and
  adjust the counts of the old and new upline (ancestors both share are left alone),
* copy a changed address type into `address_tree`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask_babel import gettext as _
from sqlalchemy import bindparam, event, inspect, text
from sqlalchemy.orm import Session

from backoffice.models import Address, AddressTree

from .sponsors import SponsorCycleError, SponsorMissingError, upline_ids

DERIVED = ("tree", "firstline_count", "downline_count")
ROOT_PATH = "/"


def prefix_of(path: str, address_id: int) -> str:
    """The path every member of the address's downline starts with."""
    return f"{path}{address_id}/"


def prefix_upper(prefix: str) -> str:
    """The smallest string above every string that starts with `prefix` ('/' + 1 == '0')."""
    return prefix[:-1] + "0"


def ids_in(path: str | None) -> list[int]:
    return [int(part) for part in (path or "").split("/") if part]


@dataclass
class _Change:
    obj: Address
    created: bool
    old_sponsor_id: int | None


def _sponsor_changed(state) -> tuple[bool, int | None]:
    col = state.attrs.sponsor_id.history
    if col.has_changes():
        return True, (col.deleted[0] if col.deleted else None)
    rel = state.attrs.sponsor.history
    if rel.has_changes():
        if rel.deleted and rel.deleted[0] is not None:
            return True, rel.deleted[0].id
        return True, (None if state.pending else state.obj().sponsor_id)
    return False, None


def _before_flush(session: Session, flush_context, instances):
    # Fresh for each flush: a flush that failed before `after_flush` (a deadlock, a constraint)
    # must not leave its changes behind for the next one to apply a second time.
    changes = session.info["downline_changes"] = []
    retyped = session.info["downline_retyped"] = []
    session.info.pop("downline_deleted", None)
    for obj in session.new:
        if isinstance(obj, Address):
            changes.append(_Change(obj, True, None))
    for obj in session.dirty:
        if isinstance(obj, Address):
            state = inspect(obj)
            changed, old = _sponsor_changed(state)
            if changed:
                changes.append(_Change(obj, False, old))
            if state.attrs.type.history.has_changes():
                retyped.append(obj)
    for obj in session.deleted:
        if isinstance(obj, Address):
            session.info.setdefault("downline_deleted", []).append((obj.id, obj.path, obj.sponsor_id))


# Statements are built once and take their ids as parameters: the same SQL every time, so
# SQLAlchemy compiles it once and PostgreSQL prepares it (ids written into the SQL cost a
# compile and a server-side parse per checkout).
_TREE_ROWS = text("SELECT a.id, t.path, t.depth, a.downline_count, a.sponsor_id FROM address a "
                  "LEFT JOIN address_tree t ON t.address_id = a.id WHERE a.id IN :ids"
                  ).bindparams(bindparam("ids", expanding=True))
# The type is read from the address row in the same statement: no enum conversion here, and
# a flush that changed both type and place writes the tree row once.
_INSERT_PLACE = text("INSERT INTO address_tree (address_id, path, depth, type) "
                     "SELECT id, :path, :depth, type FROM address WHERE id = :id")
_UPDATE_PLACE = text("UPDATE address_tree SET path = :path, depth = :depth, "
                     "type = (SELECT a.type FROM address a WHERE a.id = :id) WHERE address_id = :id")
_UPDATE_TYPES = text("UPDATE address_tree SET type = (SELECT a.type FROM address a "
                     "WHERE a.id = address_tree.address_id) WHERE address_id IN :ids"
                     ).bindparams(bindparam("ids", expanding=True))
_LOCK_ROWS = text("SELECT id FROM address WHERE id = ANY(:ids) ORDER BY id FOR NO KEY UPDATE")
# The addresses and every upline their paths name, locked in id order (PostgreSQL).
_LOCK_WITH_UPLINES = text(
    "SELECT a.id FROM address a WHERE a.id = ANY(:ids) OR a.id = ANY(ARRAY("
    "SELECT CAST(unnest(string_to_array(btrim(t.path, '/'), '/')) AS integer) "
    "FROM address_tree t WHERE t.address_id = ANY(:ids))) ORDER BY a.id FOR NO KEY UPDATE")
_MOVE_SUBTREE = text("UPDATE address_tree SET path = :np || substr(path, :cut), depth = depth + :dd "
                     "WHERE path >= :lo AND path < :hi")


def tree_rows(conn, *ids) -> dict:
    """The tree columns of a few addresses, fresh from the database, in one query."""
    wanted = sorted({int(i) for i in ids if i is not None})
    if not wanted:
        return {}
    return {row.id: row for row in conn.execute(_TREE_ROWS, {"ids": wanted})}


def lock_rows(conn, ids) -> None:
    """PostgreSQL: row locks in id order (no deadlock between two lockers of the same rows).

    `FOR NO KEY UPDATE`, the lock an UPDATE of these rows takes anyway: it waits for another
    mover's, but not for the key-share locks that foreign keys to the row take (a checkout
    setting a customer's sponsor holds one on the sponsor; `FOR UPDATE` deadlocked there)."""
    ids = sorted(set(i for i in ids if i is not None))
    if ids and conn.dialect.name == "postgresql":
        conn.execute(_LOCK_ROWS, {"ids": ids})


@lru_cache(maxsize=128)
def _write_statement(n_downline: int, n_firstline: int, place_sql: str | None = None):
    """The UPDATE of `_write` for this many size deltas, after `place_sql` (PostgreSQL)."""
    sets = []

    def delta(column: str, prefix: str, n: int) -> str:
        whens = " ".join(f"WHEN :{prefix}_id{k} THEN :{prefix}{k}" for k in range(n))
        return f"{column} = {column} + CASE id {whens} ELSE 0 END"

    if n_downline:
        sets.append(delta("downline_count", "dl", n_downline))
    if n_firstline:
        sets.append(delta("firstline_count", "fl", n_firstline))
    sql = f"UPDATE address SET {', '.join(sets)} WHERE id IN :ids"
    if place_sql is not None:
        sql = f"WITH place AS ({place_sql}) {sql}"
    return text(sql).bindparams(bindparam("ids", expanding=True))


def _write(conn, downline: dict[int, int], firstline: dict[int, int], place=None,
           place_params: dict | None = None) -> None:
    """One UPDATE for the sizes of several addresses ({id: delta} each), after `place` (the
    statement writing an address's tree row) if given. On PostgreSQL the place is a
    data-modifying WITH of the same statement: one round trip fewer per sponsor change."""
    downline = {int(i): int(d) for i, d in downline.items() if i is not None and d}
    firstline = {int(i): int(d) for i, d in firstline.items() if i is not None and d}
    ids = set(downline) | set(firstline)
    if place is not None and (not ids or conn.dialect.name != "postgresql"):
        conn.execute(place, place_params)
        place = None
    if not ids:
        return
    params: dict = dict(place_params or {}) if place is not None else {}
    for prefix, deltas in (("dl", downline), ("fl", firstline)):
        for k, (i, d) in enumerate(deltas.items()):
            params[f"{prefix}_id{k}"], params[f"{prefix}{k}"] = i, d
    statement = _write_statement(len(downline), len(firstline), place.text if place is not None else None)
    conn.execute(statement, dict(params, ids=sorted(ids)))


def settled_rows(conn, *ids) -> dict:
    """`tree_rows` of these addresses; on PostgreSQL read after locking them and their
    uplines, and again until every upline read is locked.

    A concurrent move of an ancestor holds that ancestor's row until it commits; a place read
    before waiting for it would be the old one, and the sizes would go to the old upline. A
    move rewrites the places below the moved address without locking those rows, so holding
    every upline of a place is what keeps it. The first lock takes the uplines the statement
    itself reads from the paths (one round trip instead of a read and a lock). On SQLite the
    first write of a transaction takes the one write lock, so the reads after it are current."""
    wanted = sorted({int(i) for i in ids if i is not None})
    if not wanted or conn.dialect.name != "postgresql":
        return tree_rows(conn, *wanted)
    locked = set(conn.execute(_LOCK_WITH_UPLINES, {"ids": wanted}).scalars())
    while True:
        rows = tree_rows(conn, *wanted)
        missing = {i for row in rows.values() for i in ids_in(row.path)} - locked
        if not missing:
            return rows
        lock_rows(conn, missing)
        locked |= missing


def _place(conn, sponsor, address_id: int, check: bool = True):
    """(path, depth) for a new member of `sponsor`'s firstline (a row of `settled_rows`, None for
    a root), after the cycle check. An address without a downline needs no check
    (`check=False`): nothing below it can become its sponsor."""
    if sponsor is None:
        return ROOT_PATH, 0
    if sponsor.path is None:
        return None, None  # tree not built yet (bulk load before rebuild)
    if check and (sponsor.id == address_id or address_id in upline_ids(conn, sponsor.id)):
        raise SponsorCycleError(_("This sponsor sits in the address's own downline: "
                                  "the move would create a cycle."))
    return prefix_of(sponsor.path, sponsor.id), sponsor.depth + 1


def _sponsor_row(rows: dict, sponsor_id: int | None):
    if sponsor_id is not None and sponsor_id not in rows:
        raise SponsorMissingError(_("Sponsor %(id)s does not exist.", id=sponsor_id))
    return rows.get(sponsor_id) if sponsor_id is not None else None


def _created(conn, change: _Change) -> None:
    obj = change.obj
    sponsor = _sponsor_row(settled_rows(conn, obj.sponsor_id), obj.sponsor_id)
    path, depth = _place(conn, sponsor, obj.id, check=False)
    place = {"id": obj.id, "path": path, "depth": depth}
    if path is None:  # tree not built yet: the rebuild places it
        conn.execute(_INSERT_PLACE, place)
        return
    _write(conn, dict.fromkeys(ids_in(path), 1), {obj.sponsor_id: 1}, _INSERT_PLACE, place)


def _moved(conn, change: _Change) -> bool:
    """The moved row is already updated (and so, on PostgreSQL, locked) by this flush: its
    `downline_count` read now is current, and while it is 0 no concurrent move can put
    anything below it, so a leaf (every new customer's first order with a partner code)
    skips the cycle walk and the subtree's range UPDATE."""
    obj = change.obj
    rows = settled_rows(conn, obj.id, obj.sponsor_id)
    new_sponsor_id = rows[obj.id].sponsor_id
    if new_sponsor_id == change.old_sponsor_id:
        return False
    if new_sponsor_id is not None and new_sponsor_id not in rows:  # set via the relationship
        rows = settled_rows(conn, obj.id, new_sponsor_id)
    _sponsor_row(rows, new_sponsor_id)
    old = rows[obj.id]
    leaf = old.downline_count == 0
    path, depth = _place(conn, rows.get(new_sponsor_id), obj.id, check=not leaf)
    if old.path is None or path is None:
        conn.execute(_UPDATE_PLACE, {"id": obj.id, "path": None, "depth": None})
        return True
    if not leaf:
        old_prefix, new_prefix = prefix_of(old.path, obj.id), prefix_of(path, obj.id)
        conn.execute(_MOVE_SUBTREE, {"np": new_prefix, "cut": len(old_prefix) + 1, "dd": depth - old.depth,
                                     "lo": old_prefix, "hi": prefix_upper(old_prefix)})
    size = old.downline_count + 1
    before, after = set(ids_in(old.path)), set(ids_in(path))
    downline = {**dict.fromkeys(before - after, -size), **dict.fromkeys(after - before, size)}
    # The two sponsors differ (checked above); `_write` skips a None (a root had none).
    _write(conn, downline, {change.old_sponsor_id: -1, new_sponsor_id: 1}, _UPDATE_PLACE,
           {"id": obj.id, "path": path, "depth": depth})
    return True


def _after_flush(session: Session, flush_context):
    changes = session.info.pop("downline_changes", [])
    retyped = session.info.pop("downline_retyped", [])
    deleted = session.info.pop("downline_deleted", [])
    if not changes and not deleted and not retyped:
        return
    conn = session.connection()
    created = sorted((c for c in changes if c.created), key=lambda c: c.obj.id)
    for change in created:
        _created(conn, change)
    placed = {c.obj.id for c in created}
    for change in changes:
        if not change.created and _moved(conn, change):
            placed.add(change.obj.id)
    # A moved address got its type with its place; the rest of the changed types here.
    if retyped_ids := sorted({obj.id for obj in retyped} - placed):
        conn.execute(_UPDATE_TYPES, {"ids": retyped_ids})
    for address_id, path, sponsor_id in deleted:
        # SQLite enforces no foreign keys here, so the row's cascade is written out.
        conn.execute(text("DELETE FROM address_tree WHERE address_id = :id"), {"id": address_id})
        if path is not None:
            _write(conn, dict.fromkeys(ids_in(path), -1), {sponsor_id: -1})
    session.info["downline_expire"] = True


def _after_flush_postexec(session: Session, flush_context):
    """The database now holds newer derived values than the objects in memory."""
    if session.info.pop("downline_expire", False):
        for obj in list(session.identity_map.values()):
            if isinstance(obj, Address):
                session.expire(obj, DERIVED)
            elif isinstance(obj, AddressTree):
                session.expire(obj)


def install(session_class=Session) -> None:
    """Register the hooks once per process (idempotent)."""
    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)
        event.listen(session_class, "after_flush", _after_flush)
        event.listen(session_class, "after_flush_postexec", _after_flush_postexec)
