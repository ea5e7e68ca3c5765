"""The call window, read in each contact's own time zone at one instant."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

import pytest

from app.scheduler.window import CallWindow, InvalidWindow, is_open_in_zone, open_zones

ROME = "Europe/Rome"
NEW_YORK = "America/New_York"
TOKYO = "Asia/Tokyo"
SYDNEY = "Australia/Sydney"
FOUR_ZONES = (ROME, NEW_YORK, TOKYO, SYDNEY)

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def window(start: str = "09:00", end: str = "20:00", days: list[str] | None = None) -> CallWindow:
    return CallWindow.parse(
        {"start": start, "end": end, "days": ALL_DAYS if days is None else days}
    )


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- parse ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "start", "end", "days"),
    [
        ({"start": "09:00", "end": "20:00", "days": ["mon", "tue"]}, time(9), time(20), {0, 1}),
        ({"start": "08:30:15", "end": "12:00", "days": ["sun"]}, time(8, 30, 15), time(12), {6}),
        (
            {"start": "00:00", "end": "23:59", "days": ["Monday", "SUNDAY"]},
            time(0),
            time(23, 59),
            {0, 6},
        ),
        ({"start": "09:00", "end": "20:00", "days": ["sat", "sat", "Sat"]}, time(9), time(20), {5}),
        ({"start": "09:00", "end": "20:00", "days": ALL_DAYS}, time(9), time(20), set(range(7))),
        ({"start": "09:00", "end": "09:01", "days": ["wed"]}, time(9), time(9, 1), {2}),
    ],
)
def test_parse_valid(raw: dict[str, Any], start: time, end: time, days: set[int]) -> None:
    parsed = CallWindow.parse(raw)

    assert parsed == CallWindow(start=start, end=end, days=frozenset(days))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"start": "9:00", "end": "20:00", "days": ["mon"]}, "call_window: "),
        ({"start": "25:00", "end": "26:00", "days": ["mon"]}, "call_window: "),
        ({"start": "nine", "end": "20:00", "days": ["mon"]}, "call_window: "),
        ({"start": "09:00", "end": "8pm", "days": ["mon"]}, "call_window: "),
        ({"start": "09:00", "end": "", "days": ["mon"]}, "call_window: "),
        ({"start": None, "end": "20:00", "days": ["mon"]}, "call_window: "),
        ({"end": "20:00", "days": ["mon"]}, "call_window: "),
        ({"start": "09:00", "days": ["mon"]}, "call_window: "),
        ({"start": "09:00", "end": "20:00"}, "call_window: "),
        ({"start": "20:00", "end": "09:00", "days": ["mon"]}, "start must be before end"),
        ({"start": "09:00", "end": "09:00", "days": ["mon"]}, "start must be before end"),
        ({"start": "09:00", "end": "20:00", "days": []}, "days must not be empty"),
        ({"start": "09:00", "end": "20:00", "days": ["mon", "xyz"]}, "call_window: "),
        ({"start": "09:00", "end": "20:00", "days": ["mo"]}, "call_window: "),
        ({"start": "09:00", "end": "20:00", "days": [1]}, "call_window: "),
        ({"start": "09:00", "end": "20:00", "days": None}, "call_window: "),
        ({"start": "09:00", "end": "20:00", "days": "mon"}, "call_window: "),
        # A window is wall-clock time in the contact's zone; a UTC offset has no meaning there
        # and, if accepted, cannot be compared with the naive local time of day.
        pytest.param(
            {"start": "09:00+01:00", "end": "20:00", "days": ["mon"]},
            "call_window: ",
            id="utc-offset-on-start",
        ),
        pytest.param(
            {"start": "09:00Z", "end": "20:00Z", "days": ["mon"]},
            "call_window: ",
            id="utc-offset-on-both",
        ),
    ],
)
def test_parse_rejects(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidWindow) as info:
        CallWindow.parse(raw)

    assert message in str(info.value)
    assert str(info.value).startswith("call_window: ")


def test_invalid_window_is_a_value_error() -> None:
    assert issubclass(InvalidWindow, ValueError)


# --- is_open on wall-clock time --------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 6, 15, 8, 59, 59, 999999), False),  # Monday, a microsecond early
        (datetime(2026, 6, 15, 9, 0), True),  # start is inclusive
        (datetime(2026, 6, 15, 13, 30), True),
        (datetime(2026, 6, 15, 19, 59, 59, 999999), True),
        (datetime(2026, 6, 15, 20, 0), False),  # end is exclusive
        (datetime(2026, 6, 15, 23, 0), False),
        (datetime(2026, 6, 19, 10, 0), True),  # Friday
        (datetime(2026, 6, 20, 10, 0), False),  # Saturday
        (datetime(2026, 6, 21, 10, 0), False),  # Sunday
    ],
)
def test_is_open_edges_and_days(local: datetime, expected: bool) -> None:
    assert window(days=WEEKDAYS).is_open(local) is expected


# --- one instant, several zones ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "days", "expected"),
    [
        # Mon 08:00 UTC: Rome Mon 10:00, New York Mon 04:00, Tokyo Mon 17:00, Sydney Mon 18:00.
        (utc(2026, 6, 15, 8, 0), WEEKDAYS, [SYDNEY, TOKYO, ROME]),
        # Mon 23:00 UTC: Rome Tue 00:00, New York Mon 18:00, Tokyo Tue 08:00, Sydney Tue 10:00.
        (utc(2026, 1, 12, 23, 0), WEEKDAYS, [NEW_YORK, SYDNEY]),
        # Sun 01:00 UTC: New York Sat 21:00, Tokyo Sun 10:00, Sydney Sun 11:00, Rome Sun 03:00.
        (utc(2026, 6, 14, 1, 0), ["sat"], []),
        (utc(2026, 6, 13, 23, 30), ["sat"], [NEW_YORK]),  # New York Sat 19:30
        (utc(2026, 6, 14, 1, 0), ["sun"], [SYDNEY, TOKYO]),
        # Fri 11:00 UTC: Tokyo and Sydney are at 20:00 and 21:00 already (closed), Rome at 13:00.
        (utc(2026, 6, 12, 11, 0), WEEKDAYS, [ROME]),
    ],
)
def test_open_zones_at_one_instant(now: datetime, days: list[str], expected: list[str]) -> None:
    assert open_zones(window(days=days), now, FOUR_ZONES) == sorted(expected)


def test_saturday_evening_in_new_york_is_sunday_morning_in_tokyo() -> None:
    now = utc(2026, 6, 14, 1, 0)  # Sat 21:00 EDT, Sun 10:00 JST
    late = window("09:00", "22:00", days=["mon", "tue", "wed", "thu", "fri", "sat"])

    assert is_open_in_zone(late, now, NEW_YORK) is True
    assert is_open_in_zone(late, now, TOKYO) is False
    assert open_zones(late, now, [NEW_YORK, TOKYO]) == [NEW_YORK]
    assert open_zones(window("09:00", "22:00", days=["sun"]), now, [NEW_YORK, TOKYO]) == [TOKYO]


@pytest.mark.parametrize(
    "offset",
    [timedelta(0), timedelta(hours=9), timedelta(hours=-5), timedelta(hours=5, minutes=30)],
)
def test_open_zones_depends_on_the_instant_not_on_the_offset_it_is_written_in(
    offset: timedelta,
) -> None:
    now = utc(2026, 6, 15, 8, 0).astimezone(timezone(offset))

    assert open_zones(window(days=WEEKDAYS), now, FOUR_ZONES) == [TOKYO, SYDNEY, ROME]


def test_open_zones_rejects_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        open_zones(window(), datetime(2026, 6, 15, 8, 0), FOUR_ZONES)


def test_open_zones_with_no_zones_listed_covers_every_known_zone() -> None:
    now = utc(2026, 6, 15, 8, 0)  # Monday 10:00 in Rome, 04:00 in New York

    zones = open_zones(window(days=["mon"]), now)

    assert ROME in zones
    assert TOKYO in zones
    assert "Europe/Berlin" in zones
    assert NEW_YORK not in zones
    assert "America/Los_Angeles" not in zones
    assert zones == sorted(zones)


def test_open_zones_with_an_empty_list_is_empty() -> None:
    assert open_zones(window(), utc(2026, 6, 15, 8, 0), []) == []


# --- daylight-saving change days ------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        # Rome, spring forward on Sun 2026-03-29: 09:00 local is 08:00 UTC before, 07:00 after.
        (ROME, utc(2026, 3, 28, 7, 59), False),
        (ROME, utc(2026, 3, 28, 8, 0), True),
        (ROME, utc(2026, 3, 28, 18, 59), True),
        (ROME, utc(2026, 3, 28, 19, 0), False),
        (ROME, utc(2026, 3, 29, 6, 59), False),
        (ROME, utc(2026, 3, 29, 7, 0), True),
        (ROME, utc(2026, 3, 29, 17, 59), True),
        (ROME, utc(2026, 3, 29, 18, 0), False),
        # Rome, fall back on Sun 2026-10-25: 07:00 UTC before, 08:00 after.
        (ROME, utc(2026, 10, 24, 6, 59), False),
        (ROME, utc(2026, 10, 24, 7, 0), True),
        (ROME, utc(2026, 10, 24, 17, 59), True),
        (ROME, utc(2026, 10, 24, 18, 0), False),
        (ROME, utc(2026, 10, 25, 7, 0), False),
        (ROME, utc(2026, 10, 25, 7, 59), False),
        (ROME, utc(2026, 10, 25, 8, 0), True),
        (ROME, utc(2026, 10, 25, 18, 59), True),
        (ROME, utc(2026, 10, 25, 19, 0), False),
        # New York, spring forward on Sun 2026-03-08: 14:00 UTC before, 13:00 after.
        (NEW_YORK, utc(2026, 3, 7, 13, 59), False),
        (NEW_YORK, utc(2026, 3, 7, 14, 0), True),
        (NEW_YORK, utc(2026, 3, 8, 12, 59), False),
        (NEW_YORK, utc(2026, 3, 8, 13, 0), True),
        (NEW_YORK, utc(2026, 3, 8, 23, 59), True),
        (NEW_YORK, utc(2026, 3, 9, 0, 0), False),
        # New York, fall back on Sun 2026-11-01: 13:00 UTC before, 14:00 after.
        (NEW_YORK, utc(2026, 10, 31, 12, 59), False),
        (NEW_YORK, utc(2026, 10, 31, 13, 0), True),
        (NEW_YORK, utc(2026, 11, 1, 13, 0), False),
        (NEW_YORK, utc(2026, 11, 1, 13, 59), False),
        (NEW_YORK, utc(2026, 11, 1, 14, 0), True),
        (NEW_YORK, utc(2026, 11, 2, 0, 59), True),
        (NEW_YORK, utc(2026, 11, 2, 1, 0), False),
    ],
)
def test_nine_to_eight_window_across_dst_changes(zone: str, now: datetime, expected: bool) -> None:
    assert is_open_in_zone(window("09:00", "20:00"), now, zone) is expected
    assert open_zones(window("09:00", "20:00"), now, [zone]) == ([zone] if expected else [])


@pytest.mark.parametrize(
    ("zone", "start", "end", "now", "expected"),
    [
        # Rome 2026-03-29: 02:00-02:59 local never happens; a 02:00-04:00 window opens at 03:00.
        (ROME, "02:00", "04:00", utc(2026, 3, 29, 0, 59), False),  # 01:59 CET
        (ROME, "02:00", "04:00", utc(2026, 3, 29, 1, 0), True),  # 03:00 CEST
        (ROME, "02:00", "04:00", utc(2026, 3, 29, 1, 59), True),
        (ROME, "02:00", "04:00", utc(2026, 3, 29, 2, 0), False),  # 04:00 CEST
        (ROME, "02:00", "03:00", utc(2026, 3, 29, 1, 0), False),  # the hour that is skipped
        # Rome 2026-10-25: 02:00-02:59 local happens twice; the window is open both times.
        (ROME, "02:00", "03:00", utc(2026, 10, 24, 23, 59), False),  # 01:59 CEST
        (ROME, "02:00", "03:00", utc(2026, 10, 25, 0, 0), True),  # 02:00 CEST
        (ROME, "02:00", "03:00", utc(2026, 10, 25, 0, 59), True),
        (ROME, "02:00", "03:00", utc(2026, 10, 25, 1, 0), True),  # 02:00 CET, again
        (ROME, "02:00", "03:00", utc(2026, 10, 25, 1, 59), True),
        (ROME, "02:00", "03:00", utc(2026, 10, 25, 2, 0), False),  # 03:00 CET
        # New York 2026-03-08: 02:00-02:59 local never happens.
        (NEW_YORK, "02:00", "03:00", utc(2026, 3, 8, 6, 59), False),  # 01:59 EST
        (NEW_YORK, "02:00", "03:00", utc(2026, 3, 8, 7, 0), False),  # 03:00 EDT
        # New York 2026-11-01: 01:00-01:59 local happens twice.
        (NEW_YORK, "01:00", "02:00", utc(2026, 11, 1, 4, 59), False),  # 00:59 EDT
        (NEW_YORK, "01:00", "02:00", utc(2026, 11, 1, 5, 0), True),  # 01:00 EDT
        (NEW_YORK, "01:00", "02:00", utc(2026, 11, 1, 6, 0), True),  # 01:00 EST
        (NEW_YORK, "01:00", "02:00", utc(2026, 11, 1, 6, 59), True),
        (NEW_YORK, "01:00", "02:00", utc(2026, 11, 1, 7, 0), False),  # 02:00 EST
    ],
)
def test_window_inside_the_hour_that_changes(
    zone: str, start: str, end: str, now: datetime, expected: bool
) -> None:
    assert is_open_in_zone(window(start, end), now, zone) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Sun 2026-03-29 22:30 UTC is already Monday 00:30 in Rome (CEST).
        (utc(2026, 3, 29, 22, 30), True),
        # One week earlier (CET) the same UTC time is still Sunday 23:30 in Rome.
        (utc(2026, 3, 22, 22, 30), False),
    ],
)
def test_day_of_week_follows_the_local_offset_around_dst(now: datetime, expected: bool) -> None:
    assert is_open_in_zone(window("00:00", "23:59", days=["mon"]), now, ROME) is expected
