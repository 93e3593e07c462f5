"""Files the system made itself and keeps in the database: every machine reads the same bytes.

A rendered invoice PDF is stored once and referred to by its invoice's document row and by
the attachment of the mail that carries it, so a mail sent later, by any worker on any
machine, attaches exactly the bytes that were rendered (a worker's memory or local disk is
not shared between machines).
"""

from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Column, Integer, LargeBinary, String

from .types import UTCDateTime, utcnow


class StoredFile(Model):
    __tablename__ = "stored_file"

    id = Column(Integer, primary_key=True)
    content_type = Column(String(100), nullable=False)
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    content = Column(LargeBinary, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
