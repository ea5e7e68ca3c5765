"""When a contact may be called: the campaign's call window read in the contact's time zone.

Pure functions of the instant passed in (the database's `now()`), so every process agrees. Days,
hours, blackout dates and the campaign's first and last dates are all read on the contact's own
wall clock: a contact is called on 2026-12-24 only when it is 2026-12-24 where they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# A year of holidays and then some: the bound keeps every window small to parse each tick.
MAX_BLACKOUT_DATES = 366
# How far ahead next_opening looks before it answers "never".
SEARCH_DAYS = 400
# The extreme offsets of the world's clocks (Etc/GMT+12 and Pacific/Kiritimati): a date is over
# everywhere only once it is over at UTC-12, and has begun somewhere as soon as it does at UTC+14.
WESTMOST = timedelta(hours=-12)
EASTMOST = timedelta(hours=14)
# How many blackout dates the audit line names before it only counts the rest.
_DESCRIBED_BLACKOUTS = 5
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY = timedelta(days=1)


class InvalidWindow(ValueError):
    """A call window that cannot be evaluated; nothing is dispatched under it."""


@dataclass(frozen=True)
class CallWindow:
    start: time
    end: time
    days: frozenset[int]  # 0 = Monday, as datetime.weekday()
    blackout_dates: frozenset[date] = frozenset()  # local dates with no call at all
    # The campaign's first and last calling dates (None: no limit), both included.
    not_before: date | None = None
    not_after: date | None = None

    @classmethod
    def parse(
        cls,
        raw: Mapping[str, Any],
        *,
        not_before: date | None = None,
        not_after: date | None = None,
    ) -> CallWindow:
        """Build a window from the campaign's `call_window` mapping and its date range."""
        try:
            start = time.fromisoformat(str(raw["start"]))
            end = time.fromisoformat(str(raw["end"]))
            days = frozenset(_day_index(str(d)) for d in raw["days"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidWindow(f"call_window: {exc}") from None
        if start.tzinfo is not None or end.tzinfo is not None:
            # Wall-clock times only: the zone comes from each contact, never from the window.
            raise InvalidWindow("call_window: start and end take no UTC offset")
        if start >= end:
            raise InvalidWindow("call_window: start must be before end")
        if not days:
            raise InvalidWindow("call_window: days must not be empty")
        if not_before is not None and not_after is not None and not_before > not_after:
            raise InvalidWindow("call_window: not_before must not be after not_after")
        return cls(
            start=start,
            end=end,
            days=days,
            blackout_dates=_blackout_dates(raw.get("blackout_dates")),
            not_before=not_before,
            not_after=not_after,
        )

    def describe(self) -> str:
        """The rule in words, for the audit of each dial: "mon-fri 09:00-20:00 local time"."""
        days = ",".join(DAYS[d] for d in sorted(self.days))
        words = f"{days} {self.start:%H:%M}-{self.end:%H:%M} local time"
        if self.not_before is not None or self.not_after is not None:
            first = self.not_before.isoformat() if self.not_before else "any date"
            last = self.not_after.isoformat() if self.not_after else "any date"
            words += f", from {first} to {last}"
        if self.blackout_dates:
            ordered = sorted(self.blackout_dates)
            named = ", ".join(d.isoformat() for d in ordered[:_DESCRIBED_BLACKOUTS])
            more = len(ordered) - _DESCRIBED_BLACKOUTS
            words += f", not on {named}" + (f" and {more} more blackout dates" if more > 0 else "")
        return words

    def is_open(self, local: datetime) -> bool:
        """Whether `local` (a wall-clock time in the contact's zone) is inside the window."""
        return self.is_open_day(local.date()) and self.start <= local.time() < self.end

    def is_open_day(self, day: date) -> bool:
        """Whether calls may be made at some hour of the local date `day`."""
        if day.weekday() not in self.days or day in self.blackout_dates:
            return False
        if self.not_before is not None and day < self.not_before:
            return False
        return self.not_after is None or day <= self.not_after


def _day_index(name: str) -> int:
    """Index of "mon" or "monday" (any case); anything else is a ValueError."""
    key = name.strip().lower()
    if key in _FULL_DAYS:
        return _FULL_DAYS.index(key)
    return DAYS.index(key)


def _blackout_dates(raw: Any) -> frozenset[date]:
    """The `blackout_dates` list: ISO dates (strings, or dates as YAML reads them)."""
    if raw is None:
        return frozenset()
    if not isinstance(raw, list | tuple):
        raise InvalidWindow("call_window: blackout_dates must be a list of dates")
    if len(raw) > MAX_BLACKOUT_DATES:
        raise InvalidWindow(f"call_window: at most {MAX_BLACKOUT_DATES} blackout_dates")
    try:
        return frozenset(iso_date(item) for item in raw)
    except ValueError as exc:
        raise InvalidWindow(f"call_window: blackout_dates: {exc}") from None


def iso_date(value: Any) -> date:
    """A date written YYYY-MM-DD (or a date already, as YAML reads one); ValueError if not."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    # Only the one spelling: fromisoformat alone would also take "20261225" and "2026-W52-5".
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


def is_open_in_zone(window: CallWindow, now: datetime, zone: str) -> bool:
    return window.is_open(now.astimezone(_zone(zone)))


def open_zones(window: CallWindow, now: datetime, zones: Iterable[str] | None = None) -> list[str]:
    """The time zones in which the window is open at the instant `now` (sorted)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if zones is not None:
        return sorted(z for z in zones if is_open_in_zone(window, now, z))
    # Zones at the same UTC offset share a wall clock, so one check answers for all of them:
    # a few dozen checks per campaign instead of 600.
    utc = now.astimezone(UTC).replace(tzinfo=None)
    return sorted(
        zone
        for offset, group in _zones_by_offset(now)
        if window.is_open(utc + offset)
        for zone in group
    )


@lru_cache(maxsize=4)
def _zones_by_offset(now: datetime) -> tuple[tuple[timedelta, tuple[str, ...]], ...]:
    """Every known zone grouped by its UTC offset at `now`: computed once per tick, shared by
    every campaign the tick dispatches."""
    groups: dict[timedelta, list[str]] = {}
    for name, tz in _known_zone_infos():
        groups.setdefault(_offset(now, tz), []).append(name)
    return tuple((offset, tuple(names)) for offset, names in groups.items())


def next_opening(window: CallWindow, after: datetime, zone: str) -> datetime | None:
    """The first instant at or after `after` at which the window is open in `zone`, in the
    time zone of `after`; None when it does not open within SEARCH_DAYS (its last date passed).
    """
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    tz = _zone(zone)
    at = after.astimezone(UTC)
    if window.not_before is not None:
        # Nothing opens before not_before begins anywhere: skip the wait in one step.
        at = max(at, datetime.combine(window.not_before, time(), UTC) - EASTMOST)
    horizon = at + timedelta(days=SEARCH_DAYS)
    # Each turn covers a stretch of constant UTC offset, a day at most: ~SEARCH_DAYS turns.
    while at < horizon:
        offset = _offset(at, tz)
        if window.not_after is not None and (at + offset).date() > window.not_after:
            return None
        until = min(_offset_change(at, tz, offset), horizon)
        found = _first_open(window, at, until, offset)
        if found is not None:
            return found.astimezone(after.tzinfo)
        at = until
    return None


def _offset(at: datetime, tz: ZoneInfo) -> timedelta:
    offset = at.astimezone(tz).utcoffset()
    assert offset is not None  # a ZoneInfo always has one
    return offset


def _offset_change(at: datetime, tz: ZoneInfo, offset: timedelta) -> datetime:
    """The first instant after `at`, within a day, at which `tz` leaves `offset`, else a day on.

    Clocks change at most once a day, so comparing the two ends of the day finds the change,
    and halving on whole seconds (tzdata's precision) pins it down in ~17 steps.
    """
    later = at + _DAY
    if _offset(later, tz) == offset:
        return later
    low, high = int(at.timestamp()), int(later.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(datetime.fromtimestamp(middle, UTC), tz) == offset:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _first_open(
    window: CallWindow, start: datetime, stop: datetime, offset: timedelta
) -> datetime | None:
    """The first open instant in [start, stop), a stretch where the zone keeps `offset`."""
    # With a constant offset the wall clock runs with UTC: compare wall-clock times directly.
    low = start.replace(tzinfo=None) + offset
    high = stop.replace(tzinfo=None) + offset
    day = low.date()
    while datetime.combine(day, time()) < high:
        if window.is_open_day(day):
            opens = max(low, datetime.combine(day, window.start))
            if opens < min(high, datetime.combine(day, window.end)):
                return (opens - offset).replace(tzinfo=UTC)
        day += _DAY
    return None


@cache
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _known_zone_infos() -> tuple[tuple[str, ZoneInfo], ...]:
    return tuple((name, _zone(name)) for name in sorted(known_zones()))


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
