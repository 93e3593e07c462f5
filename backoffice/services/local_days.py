"""The calendar day, in a time zone, of a UTC timestamp column, computed by the database.

Set-based statements (the monthly run writes a month's lines in one `INSERT … SELECT` per
batch) need the local day of each row in SQL. PostgreSQL converts with the zone itself;
SQLite knows no zones, so there the day is taken with the UTC offsets in force between two
instants: one offset per stretch between the zone's transitions (a month has at most two
stretches), chosen by a CASE on the timestamp. Rows outside those instants are not covered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlalchemy import Date, String, case, cast, func, literal, type_coerce

from ..models.types import UTCDateTime

_STEP = timedelta(minutes=15)


@lru_cache(maxsize=64)
def offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, timedelta]]:
    """The UTC offsets in force in [start, end): (from which instant, offset), in order."""
    found = [(start, start.astimezone(zone).utcoffset())]
    moment = start
    while moment < end:
        later = min(moment + _STEP, end)
        offset = later.astimezone(zone).utcoffset()
        if offset != found[-1][1] and later < end:
            low, high = moment, later  # the transition to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                before = middle.astimezone(zone).utcoffset() == found[-1][1]
                low, high = (middle, high) if before else (low, middle)
            found.append((high, offset))
        moment = later
    return found


def local_day(column, zone: ZoneInfo, start: datetime, end: datetime, dialect: str):
    """SQL for the day in `zone` of `column` (a `UTCDateTime`), for values in [start, end)."""
    if dialect == "postgresql":
        return cast(func.timezone(zone.key, column), Date)
    stretches = offsets(zone, start, end)

    def shifted(offset: timedelta):
        return type_coerce(func.date(column, f"{int(offset.total_seconds()) // 60:+d} minutes"), Date)

    if len(stretches) == 1:
        return shifted(stretches[0][1])
    whens = [(column < literal(until, UTCDateTime()), shifted(offset))
             for (_since, offset), (until, _next) in zip(stretches, stretches[1:], strict=False)]
    return case(*whens, else_=shifted(stretches[-1][1]))


def day_text(day, dialect: str):
    """SQL for a day as German text, 03.11.2026 (what `f"{day:%d.%m.%Y}"` gives)."""
    if dialect == "postgresql":
        return func.to_char(day, "DD.MM.YYYY")
    return type_coerce(func.strftime("%d.%m.%Y", day), String)
