"""When a contact may be called: the campaign's call window read in the contact's time zone.

Pure functions of the instant passed in (the database's `now()`), so every process agrees.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class InvalidWindow(ValueError):
    """A call window that cannot be evaluated; nothing is dispatched under it."""


@dataclass(frozen=True)
class CallWindow:
    start: time
    end: time
    days: frozenset[int]  # 0 = Monday, as datetime.weekday()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> CallWindow:
        """Build a window from the campaign document's `call_window` mapping."""
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
        return cls(start=start, end=end, days=days)

    def is_open(self, local: datetime) -> bool:
        """Whether `local` (a wall-clock time in the contact's zone) is inside the window."""
        return local.weekday() in self.days and self.start <= local.time() < self.end


def _day_index(name: str) -> int:
    """Index of "mon" or "monday" (any case); anything else is a ValueError."""
    key = name.strip().lower()
    if key in _FULL_DAYS:
        return _FULL_DAYS.index(key)
    return DAYS.index(key)


def is_open_in_zone(window: CallWindow, now: datetime, zone: str) -> bool:
    return window.is_open(now.astimezone(_zone(zone)))


def open_zones(window: CallWindow, now: datetime, zones: Iterable[str] | None = None) -> list[str]:
    """The time zones in which the window is open at the instant `now` (sorted)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    candidates = known_zones() if zones is None else zones
    return sorted(z for z in candidates if is_open_in_zone(window, now, z))


@cache
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
