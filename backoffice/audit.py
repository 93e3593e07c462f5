"""Audit trail recording, hooked into the session so that no code path can forget it.

Tracked: an address's sponsor and type, a partner's payment profile, whether its public
profile is published, whether staff hid a review of the partner (a direct request's or a
job's; on the partner's address, with the reason for hiding). Whatever changes
them (Desk form, REST API, CLI, import, shop order) gets an `AuditEntry` in the same
transaction. The actor is the logged-in user, or what `acting_as()` names for batch work.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass

from flask import g, has_request_context
from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from .models import Address, AuditEntry, JobReview, Partner, PartnerProfile, Review
from .security import logged_in_user

TRACKED = {
    Address: ("sponsor_id", "type"),
    Partner: ("iban", "bic", "mandate_reference", "mandate_date"),
    PartnerProfile: ("published",),
    Review: ("hidden",),
    JobReview: ("hidden",),
}


_INSERT_AUDIT = insert(AuditEntry.__table__)


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)
_reason: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_reason", default=None)


@contextlib.contextmanager
def acting_as(label: str, user_id: int | None = None, reason=None):
    """Name the actor (and optionally a reason, a string or a lazy translation) for changes
    made outside a web request."""
    token = _actor.set(Actor(user_id, label))
    reason_token = _reason.set(reason)
    try:
        yield
    finally:
        _actor.reset(token)
        _reason.reset(reason_token)


def current_reason():
    """The reason named by `acting_as`, else the one a Desk form gave for this request
    (`g.audit_reason`, e.g. the reason for a new sponsor in the address form)."""
    reason = _reason.get()
    if reason is None and has_request_context():
        reason = g.get("audit_reason")
    return reason


@contextlib.contextmanager
def giving_reason(reason):
    """The reason recorded with the changes flushed inside the block, by the logged-in user
    (staff unpublishing a profile)."""
    token = _reason.set(reason)
    try:
        yield
    finally:
        _reason.reset(token)


def current_actor() -> Actor:
    actor = _actor.get()
    if actor is not None:
        return actor
    user = logged_in_user()
    if user is not None and getattr(user, "is_authenticated", False):
        return Actor(user.id, user.username)
    return Actor(None, "system")


def _display(value) -> str | None:
    if value is None:
        return None
    return value.value if hasattr(value, "value") else str(value)


def _old_sponsor(state):
    """The sponsor id before this flush, and whether it changed (set via id or relationship).

    The new id is read after the flush: a sponsor created in the same flush has none yet.
    """
    col = state.attrs.sponsor_id.history
    if col.has_changes():
        return (col.deleted[0] if col.deleted else None), True
    rel = state.attrs.sponsor.history
    if rel.has_changes():
        if rel.deleted and rel.deleted[0] is not None:
            return rel.deleted[0].id, True
        # FK column not yet synced from the relationship: it still holds the old value.
        return (None if state.pending else state.obj().sponsor_id), True
    return None, False


def _changes(obj):
    state = inspect(obj)
    for field in TRACKED[type(obj)]:
        if field == "sponsor_id":
            old, changed = _old_sponsor(state)
            if changed:
                yield field, old, None
            continue
        hist = state.attrs[field].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if _display(old) != _display(new):
            yield field, old, new


def _before_flush(session: Session, flush_context, instances):
    actor = current_actor()
    pending = session.info["audit_pending"] = []  # fresh: a failed flush leaves nothing behind
    for obj in list(session.new) + list(session.dirty):
        if type(obj) not in TRACKED:
            continue
        created = obj in session.new
        if not created and not session.is_modified(obj, include_collections=False):
            continue
        for field, old, new in _changes(obj):
            if created and field != "sponsor_id":
                continue  # a new record's first values are no change; its first sponsor is
            entry = {"actor_user_id": actor.user_id, "actor_label": actor.label,
                     "entity": type(obj).__tablename__, "field": field, "old_value": _display(old),
                     "new_value": _display(new), "reason": _display(current_reason())}
            pending.append((entry, obj, created))


def _address_id(session: Session, obj) -> int:
    """The address whose trail shows the change: a review's is its partner's."""
    if isinstance(obj, Address):
        return obj.id
    if isinstance(obj, Review | JobReview):
        return session.get(Partner, obj.partner_id).address_id
    return obj.address_id


def _after_flush(session: Session, flush_context):
    """Ids exist only now: complete the entries and write them in this flush's transaction,
    with one INSERT (not as new objects, which would need another flush to be written)."""
    rows = []
    for entry, obj, created in session.info.pop("audit_pending", []):
        if entry["field"] == "sponsor_id":
            entry["new_value"] = _display(obj.sponsor_id)
            if entry["new_value"] == entry["old_value"]:
                continue
        if created and entry["new_value"] is None:
            continue
        entry["entity_id"] = inspect(obj).mapper.primary_key_from_instance(obj)[0]
        entry["address_id"] = _address_id(session, obj)
        rows.append(entry)
    if rows:
        session.connection().execute(_INSERT_AUDIT, rows)


def install(session_class=Session) -> None:
    """Register the listeners once per process (idempotent)."""
    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)
        event.listen(session_class, "after_flush", _after_flush)
