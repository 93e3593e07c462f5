"""Time windows of "request to order": the minute they open and close, midnight, DST days."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backoffice.services.order_windows import (
    ALL_DAYS,
    active_at,
    active_in_zone,
    end_minute,
    mask_of,
    parse_minute,
)

NIGHTS = [(0, 360), (1260, 1440)]  # 0:00–6:00 and 21:00–0:00
WRAP = [(1320, 360)]  # 22:00–6:00 in one window


@pytest.mark.parametrize(
    ("text", "minute"),
    [
        ("0:00", 0),
        ("6:00", 360),
        ("21:00", 1260),
        ("23.59", 1439),
        ("24:00", 1440),
        ("07:05", 425),
        ("25:00", None),
        ("9", None),
        ("", None),
        ("12:60", None),
    ],
)
def test_parse_minute(text, minute):
    assert parse_minute(text) == minute


def test_a_window_ending_at_midnight_ends_at_1440():
    assert end_minute(1260, 0) == 1440
    assert end_minute(1320, 360) == 360
    assert end_minute(0, 360) == 360


@pytest.mark.parametrize(
    ("hour", "minute", "windows", "active"),
    [
        (0, 0, NIGHTS, True),
        (5, 59, NIGHTS, True),
        (6, 0, NIGHTS, False),
        (20, 59, NIGHTS, False),
        (21, 0, NIGHTS, True),
        (23, 59, NIGHTS, True),
        (12, 0, NIGHTS, False),
        (22, 0, WRAP, True),
        (21, 59, WRAP, False),
        (3, 0, WRAP, True),
        (6, 0, WRAP, False),
    ],
)
def test_window_boundaries_on_every_day(hour, minute, windows, active):
    # Wednesday 2026-11-04
    assert active_at(ALL_DAYS, windows, datetime(2026, 11, 4, hour, minute)) is active


def test_a_wrapping_window_belongs_to_the_day_it_starts_on():
    friday_only = mask_of([4])
    assert active_at(friday_only, WRAP, datetime(2026, 11, 6, 23, 0)) is True  # Friday night
    assert (
        active_at(friday_only, WRAP, datetime(2026, 11, 7, 2, 0)) is True
    )  # Saturday morning, Friday's window
    assert active_at(friday_only, WRAP, datetime(2026, 11, 7, 23, 0)) is False  # Saturday night
    assert active_at(friday_only, WRAP, datetime(2026, 11, 6, 2, 0)) is False  # Thursday's night
    # Sunday's window runs into Monday (the week wraps as well).
    assert active_at(mask_of([6]), WRAP, datetime(2026, 11, 9, 5, 0)) is True


def test_wall_clock_in_the_partners_zone_on_dst_days():
    # Europe/Berlin goes to summer time on 2026-03-29 at 2:00 (→ 3:00): 5:59 local is 3:59 UTC.
    assert active_in_zone(ALL_DAYS, NIGHTS, "Europe/Berlin", datetime(2026, 3, 29, 3, 59, tzinfo=UTC)) is True
    assert active_in_zone(ALL_DAYS, NIGHTS, "Europe/Berlin", datetime(2026, 3, 29, 4, 0, tzinfo=UTC)) is False
    # The day before, 6:00 local is 5:00 UTC.
    assert active_in_zone(ALL_DAYS, NIGHTS, "Europe/Berlin", datetime(2026, 3, 28, 4, 59, tzinfo=UTC)) is True
    assert active_in_zone(ALL_DAYS, NIGHTS, "Europe/Berlin", datetime(2026, 3, 28, 5, 0, tzinfo=UTC)) is False
    # Back to winter time on 2026-10-25: 21:00 local is 20:00 UTC.
    assert (
        active_in_zone(ALL_DAYS, NIGHTS, "Europe/Berlin", datetime(2026, 10, 25, 19, 59, tzinfo=UTC)) is False
    )
    assert (
        active_in_zone(ALL_DAYS, NIGHTS, "Europe/Berlin", datetime(2026, 10, 25, 20, 0, tzinfo=UTC)) is True
    )


def test_the_partners_zone_not_the_companys():
    # 22:30 UTC is 23:30 in Berlin (winter) but 17:30 in New York.
    moment = datetime(2026, 11, 4, 22, 30, tzinfo=UTC)
    assert active_in_zone(ALL_DAYS, NIGHTS, "Europe/Berlin", moment) is True
    assert active_in_zone(ALL_DAYS, NIGHTS, "America/New_York", moment) is False
