"""Time windows of "request to order": minute intervals of the partner's local day.

A window is (start, end) in minutes after local midnight, [start, end): 21:00–0:00 is
(1260, 1440). A window with end <= start wraps midnight: (1320, 360) is 22:00–6:00, and its
part after midnight belongs to the day after the one it starts on. `weekdays` is a bit mask
(Monday = bit 0) of the days on which windows start. Everything is evaluated on the wall
clock of the partner's zone, so on the days clocks change a window still opens at the same
local time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY = 1440
ALL_DAYS = 127
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Berlin")


def parse_minute(text: str) -> int | None:
    """`"21:30"` → 1290; `"24:00"` → 1440 (the end of the day); None if it is no time."""
    text = (text or "").strip()
    if text in ("24:00", "24.00"):
        return DAY
    found = _TIME.match(text)
    if not found:
        return None
    return int(found.group(1)) * 60 + int(found.group(2))


def end_minute(start: int, end: int) -> int:
    """A window ending at 0:00 ends at the end of the day, not before it started."""
    return DAY if end == 0 and start > 0 else end


def as_text(minute: int) -> str:
    minute = minute % DAY
    return f"{minute // 60:d}:{minute % 60:02d}"


def days_of(weekdays: int) -> list[int]:
    return [day for day in range(7) if weekdays >> day & 1]


def mask_of(days: Iterable[int]) -> int:
    mask = 0
    for day in days:
        if 0 <= day <= 6:
            mask |= 1 << day
    return mask


def active_at(weekdays: int, windows: Iterable[tuple[int, int]], local: datetime) -> bool:
    """Whether a window is open at the local wall-clock time `local` (in the partner's zone)."""
    day = local.weekday()
    minute = local.hour * 60 + local.minute
    today = weekdays >> day & 1
    yesterday = weekdays >> ((day - 1) % 7) & 1
    for start, end in windows:
        if start < end:
            if today and start <= minute < end:
                return True
        elif (today and minute >= start) or (yesterday and minute < end):
            return True
    return False


def active_in_zone(weekdays: int, windows: Iterable[tuple[int, int]], zone_name: str, now: datetime) -> bool:
    return active_at(weekdays, windows, now.astimezone(zone(zone_name)))
