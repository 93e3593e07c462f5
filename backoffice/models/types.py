"""Column types shared by the models."""

from datetime import UTC, datetime

from sqlalchemy import Numeric
from sqlalchemy.types import DateTime, TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timezone-aware timestamp stored as UTC on every backend.

    SQLite has no time zones: without this, values come back naive and comparisons
    between SQLite and PostgreSQL runs differ.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware datetime (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# Money in euros to the cent, and VAT rates in percent (19.00, 7.00).
MONEY = Numeric(12, 2)
RATE = Numeric(4, 2)
