"""The call window, read in each contact's own time zone at one instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.scheduler.window import (
    CallWindow,
    InvalidWindow,
    is_open_in_zone,
    known_zones,
    next_opening,
    open_zones,
)

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


# --- blackout dates and the campaign's dates, on each contact's calendar ----------------------

CHRISTMAS = date(2026, 12, 25)


def dated(
    blackout: list[str] | None = None,
    not_before: date | None = None,
    not_after: date | None = None,
    start: str = "00:00",
    end: str = "23:59:59",
    days: list[str] | None = None,
) -> CallWindow:
    raw: dict[str, Any] = {"start": start, "end": end, "days": ALL_DAYS if days is None else days}
    if blackout is not None:
        raw["blackout_dates"] = blackout
    return CallWindow.parse(raw, not_before=not_before, not_after=not_after)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["2026-12-25", "2026-12-26"], {CHRISTMAS, date(2026, 12, 26)}),
        ([CHRISTMAS, "2026-12-25"], {CHRISTMAS}),  # YAML reads unquoted dates as dates
        ([], set()),
        (None, set()),
    ],
)
def test_parse_blackout_dates(raw: list[Any] | None, expected: set[date]) -> None:
    window = CallWindow.parse(
        {"start": "09:00", "end": "20:00", "days": ["mon"], "blackout_dates": raw}
    )

    assert window.blackout_dates == frozenset(expected)


@pytest.mark.parametrize(
    "raw",
    [
        "2026-12-25",
        ["2026-02-30"],
        ["25/12/2026"],
        ["20261225"],  # fromisoformat alone would take it
        ["2026-W52-5"],
        [20261225],
        [datetime(2026, 12, 25, 10, 0)],  # a moment, not a date
        ["2026-01-01"] * 367,
    ],
)
def test_parse_rejects_blackout_dates(raw: Any) -> None:
    with pytest.raises(InvalidWindow, match=r"^call_window: .*blackout_dates"):
        CallWindow.parse({"start": "09:00", "end": "20:00", "days": ["mon"], "blackout_dates": raw})


def test_parse_rejects_dates_out_of_order() -> None:
    with pytest.raises(InvalidWindow, match="not_before must not be after not_after"):
        dated(not_before=date(2026, 10, 2), not_after=date(2026, 10, 1))


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 12, 24, 23, 59), True),
        (datetime(2026, 12, 25, 0, 0), False),
        (datetime(2026, 12, 25, 12, 0), False),
        (datetime(2026, 12, 26, 0, 0), True),
        (datetime(2027, 12, 25, 12, 0), True),  # a date, not a yearly holiday
    ],
)
def test_no_call_on_a_blackout_date(local: datetime, expected: bool) -> None:
    assert dated(["2026-12-25"]).is_open(local) is expected


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 9, 30, 23, 59), False),
        (datetime(2026, 10, 1, 0, 0), True),  # both dates are included
        (datetime(2026, 12, 31, 23, 59), True),
        (datetime(2027, 1, 1, 0, 0), False),
    ],
)
def test_no_call_outside_the_campaign_dates(local: datetime, expected: bool) -> None:
    window = dated(not_before=date(2026, 10, 1), not_after=date(2026, 12, 31))

    assert window.is_open(local) is expected


@pytest.mark.parametrize(
    ("window", "now", "expected"),
    [
        # 2026-12-24 23:30 UTC: Christmas already in Rome (00:30) and Tokyo, not in New York.
        (dated(["2026-12-25"]), utc(2026, 12, 24, 23, 30), [NEW_YORK]),
        # 2026-12-25 12:00 UTC: Christmas everywhere but Sydney, where it is the 26th at 23:00.
        (dated(["2026-12-25"]), utc(2026, 12, 25, 12, 0), []),
        (dated(["2026-12-25"]), utc(2026, 12, 25, 13, 30), [SYDNEY]),
        # The last date is over in Rome, Tokyo and Sydney; New York still has two hours of it.
        (dated(not_after=date(2026, 12, 31)), utc(2027, 1, 1, 3, 0), [NEW_YORK]),
        (dated(not_after=date(2026, 12, 31)), utc(2027, 1, 1, 5, 0), []),
        # The first date has begun in Sydney and Tokyo only.
        (dated(not_before=date(2026, 10, 1)), utc(2026, 9, 30, 16, 0), [SYDNEY, TOKYO]),
        (dated(not_before=date(2026, 10, 1)), utc(2026, 9, 30, 23, 0), [ROME, SYDNEY, TOKYO]),
        # A one-day campaign, seen from the two sides of the date line.
        (
            dated(not_before=date(2026, 10, 1), not_after=date(2026, 10, 1)),
            utc(2026, 10, 1, 15, 0),
            [NEW_YORK, ROME],
        ),
    ],
)
def test_dates_are_read_on_each_contacts_calendar(
    window: CallWindow, now: datetime, expected: list[str]
) -> None:
    assert open_zones(window, now, FOUR_ZONES) == sorted(expected)
    # The path over every known zone answers the same for these four.
    assert [z for z in open_zones(window, now) if z in FOUR_ZONES] == sorted(expected)


def test_open_zones_over_every_zone_agrees_with_each_zone_alone() -> None:
    window = dated(["2026-03-29"], not_after=date(2026, 3, 30), start="09:00", end="20:00")
    for hour in range(0, 72, 5):
        now = utc(2026, 3, 28, 0) + timedelta(hours=hour, minutes=17)

        assert open_zones(window, now) == sorted(
            z for z in known_zones() if is_open_in_zone(window, now, z)
        )


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (window(days=WEEKDAYS), "mon,tue,wed,thu,fri 09:00-20:00 local time"),
        (
            dated(["2026-12-26", "2026-12-25"], start="09:00", end="20:00", days=["mon"]),
            "mon 09:00-20:00 local time, not on 2026-12-25, 2026-12-26",
        ),
        (
            dated(not_before=date(2026, 10, 1), not_after=date(2026, 12, 31), days=["sun"]),
            "sun 00:00-23:59 local time, from 2026-10-01 to 2026-12-31",
        ),
        (
            dated(not_after=date(2026, 12, 31), days=["sun"]),
            "sun 00:00-23:59 local time, from any date to 2026-12-31",
        ),
        (
            dated([f"2026-01-{d:02d}" for d in range(1, 9)], days=["sun"]),
            "sun 00:00-23:59 local time, not on 2026-01-01, 2026-01-02, 2026-01-03, 2026-01-04, "
            "2026-01-05 and 3 more blackout dates",
        ),
    ],
)
def test_describe_names_dates_and_blackouts(window: CallWindow, expected: str) -> None:
    assert window.describe() == expected


# --- next_opening ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "window", "after", "expected"),
    [
        # Open now: the instant itself.
        (ROME, window(), utc(2026, 6, 15, 10, 17), utc(2026, 6, 15, 10, 17)),
        # Friday 20:00 in Rome, weekdays only: Monday 09:00.
        (ROME, window(days=WEEKDAYS), utc(2026, 6, 19, 18, 0), utc(2026, 6, 22, 7, 0)),
        # Rome, spring forward on Sun 2026-03-29: Saturday evening → Sunday 09:00 CEST.
        (ROME, window(), utc(2026, 3, 28, 19, 30), utc(2026, 3, 29, 7, 0)),
        # A 02:00-04:00 window opens at 03:00 CEST, the instant the clocks jump.
        (ROME, window("02:00", "04:00"), utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 1, 0)),
        # A 02:00-03:00 window does not exist that day: the next night, in CEST.
        (ROME, window("02:00", "03:00"), utc(2026, 3, 28, 23, 0), utc(2026, 3, 30, 0, 0)),
        # Rome, fall back on Sun 2026-10-25: Saturday evening → Sunday 09:00 CET.
        (ROME, window(), utc(2026, 10, 24, 18, 0), utc(2026, 10, 25, 8, 0)),
        # 02:00-03:00 happens twice: open during the second pass too.
        (ROME, window("02:00", "03:00"), utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 1, 30)),
        (ROME, window("02:00", "03:00"), utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 0, 0)),
        # New York, spring forward on Sun 2026-03-08: Saturday 20:00 EST → Sunday 09:00 EDT.
        (NEW_YORK, window(), utc(2026, 3, 8, 1, 0), utc(2026, 3, 8, 13, 0)),
        # New York, fall back on Sun 2026-11-01: Saturday 20:00 EDT → Sunday 09:00 EST.
        (NEW_YORK, window(), utc(2026, 11, 1, 0, 0), utc(2026, 11, 1, 14, 0)),
        (NEW_YORK, window("01:00", "02:00"), utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 6, 30)),
        # Christmas Eve evening in Rome, Christmas a blackout date: the 26th at 09:00.
        (
            ROME,
            dated(["2026-12-25"], start="09:00", end="20:00"),
            utc(2026, 12, 24, 19, 0),
            utc(2026, 12, 26, 8, 0),
        ),
        # Before the first date: its first hour in the contact's zone.
        (
            TOKYO,
            dated(not_before=date(2026, 10, 1), start="09:00", end="20:00"),
            utc(2026, 6, 1, 0, 0),
            utc(2026, 10, 1, 0, 0),
        ),
        # Long before the first date (beyond SEARCH_DAYS): still found.
        (
            ROME,
            dated(not_before=date(2028, 1, 3), start="09:00", end="20:00"),
            utc(2026, 6, 1, 0, 0),
            utc(2028, 1, 3, 8, 0),
        ),
        # The last date, still open in New York while Rome has moved on.
        (
            NEW_YORK,
            dated(not_after=date(2026, 12, 31), start="09:00", end="20:00"),
            utc(2027, 1, 1, 0, 30),
            utc(2027, 1, 1, 0, 30),
        ),
    ],
)
def test_next_opening(zone: str, window: CallWindow, after: datetime, expected: datetime) -> None:
    found = next_opening(window, after, zone)

    assert found == expected
    assert is_open_in_zone(window, expected, zone)


@pytest.mark.parametrize(
    ("zone", "window", "after"),
    [
        # The last date is over in Rome.
        (ROME, dated(not_after=date(2026, 12, 31)), utc(2027, 1, 1, 0, 0)),
        # The last date, after its window closed.
        (
            ROME,
            dated(not_after=date(2026, 12, 31), start="09:00", end="20:00"),
            utc(2026, 12, 31, 19, 0),
        ),
        # Every Monday blacked out for longer than the search looks.
        (
            ROME,
            dated(
                [(date(2026, 6, 15) + timedelta(weeks=w)).isoformat() for w in range(60)],
                days=["mon"],
            ),
            utc(2026, 6, 14, 0, 0),
        ),
    ],
)
def test_next_opening_never_again(zone: str, window: CallWindow, after: datetime) -> None:
    assert next_opening(window, after, zone) is None


def test_next_opening_answers_in_the_time_zone_it_was_asked_in() -> None:
    after = utc(2026, 6, 19, 18, 0).astimezone(ZoneInfo(TOKYO))

    found = next_opening(window(days=WEEKDAYS), after, ROME)

    assert found is not None and found.tzinfo is after.tzinfo
    assert found == utc(2026, 6, 22, 7, 0)


def test_next_opening_rejects_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_opening(window(), datetime(2026, 6, 15, 8, 0), ROME)


# Zones whose clocks jump at midnight (Havana, Santiago), by half an hour (Lord Howe), or never.
ODD_ZONES = (
    ROME,
    NEW_YORK,
    "America/Havana",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Asia/Tehran",
    "Pacific/Kiritimati",
)
CHANGE_DAYS = (utc(2026, 3, 7, 0), utc(2026, 3, 27, 0), utc(2026, 10, 23, 0), utc(2026, 9, 4, 0))


@pytest.mark.parametrize("zone", ODD_ZONES)
@pytest.mark.parametrize(
    ("start", "end"), [("00:00", "00:30"), ("02:00", "03:00"), ("09:00", "20:00")]
)
def test_next_opening_is_the_first_open_minute(zone: str, start: str, end: str) -> None:
    """Checked against a minute-by-minute walk across the year's clock changes."""
    window = dated(["2026-03-29", "2026-10-25"], start=start, end=end, days=["sat", "sun", "mon"])
    for day in CHANGE_DAYS:
        for hours in range(0, 96, 7):
            after = day + timedelta(hours=hours)

            found = next_opening(window, after, zone)

            assert found is not None and is_open_in_zone(window, found, zone)
            assert found == _first_open_minute(window, after, zone)


def _first_open_minute(window: CallWindow, after: datetime, zone: str) -> datetime:
    at = after
    while not is_open_in_zone(window, at, zone):
        at += timedelta(minutes=1)
    return at
