"""Files the system keeps in the database (`StoredFile`): written once, read by any machine."""

from __future__ import annotations

import hashlib

from ..models import StoredFile


def store(session, content: bytes, content_type: str) -> StoredFile:
    """Add the bytes to the caller's transaction as a new stored file (flushed: it has its id)."""
    stored = StoredFile(content_type=content_type, size=len(content),
                        sha256=hashlib.sha256(content).hexdigest(), content=content)
    session.add(stored)
    session.flush()
    return stored
