"""Ending a user's logins: every browser session and every API token (access and refresh).

A session stores, and a token carries, the user's login generation at the time it was
issued; each request compares it with the stored one. `end_sessions` raises the stored
generation, so everything issued before stops working at once in this process and, where
API tokens' users are cached (`AUTH_TOKEN_USER_CACHE_SECONDS`), within those seconds in the
others. Logout, a password change and an admin's password reset call it; so does any code
that takes a person's access away (a member removed from a team, an erased address).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import LoginGeneration


def generation(session: Session, user_id: int) -> int:
    """The generation sessions and tokens of this user must carry to be valid."""
    value = session.execute(
        select(LoginGeneration.generation).where(LoginGeneration.user_id == user_id)
    ).scalar_one_or_none()
    return value or 0


def end_sessions(session: Session, user_id: int) -> int:
    """End every session and token of the user; returns the new generation. The caller's
    unit of work commits it (and a session that must live on stores the new number)."""
    row = session.get(LoginGeneration, user_id, with_for_update=True)
    if row is None:
        row = LoginGeneration(user_id=user_id, generation=0)
        session.add(row)
    row.generation = (row.generation or 0) + 1
    session.flush()
    return row.generation
