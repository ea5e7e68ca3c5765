"""Contact rows: check and normalise each uploaded row, without touching the database.

Pure and CPU-bound (phonenumbers is pure Python; app.campaigns.phones takes a shorter way for
the usual shapes of number), so callers run it off the event loop. Repeats of a number are not
looked for here: the database finds them over the whole upload.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import phonenumbers
from phonenumbers import timezone as number_zones

from app.campaigns.phones import Number, read_number
from app.campaigns.uploads import KNOWN_COLUMNS, CsvReader, RawContact, read_all
from app.dialogue.survey import Language
from app.scheduler.window import known_zones

# Uploads often repeat a number many times (lists merged from several sources); checking a
# number costs tens of microseconds, remembering one a few hundred bytes.
REMEMBERED_NUMBERS = 1 << 14
# What json.dumps(ensure_ascii=False) writes a string as (its C version where there is one).
_JSON_STRING: Callable[[str], str] = json.encoder.encode_basestring
PROGRESS_EVERY = 1000


class ContactRow(NamedTuple):
    """A checked row, its fields in the staging table's column order (a tuple: cheap to make
    and COPYed as it is)."""

    row: int
    phone_number: str  # E.164
    external_id: str | None
    name: str | None
    timezone: str
    # Every zone the number may be in, when it is more than one: the call window must be open
    # in all of them. As a text[] literal (None: none), the same few for many rows: COPY
    # encodes an array element by element, at a cost, and a text as it is.
    time_zone_candidates: str | None
    attributes: str  # JSON object text
    language: str | None  # the language the calls speak, when the survey speaks it


@dataclass
class PreparedContacts:
    rows: list[ContactRow] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


class RowError(ValueError):
    """Why one row is rejected; the others go on."""


class _Number(NamedTuple):
    """What a written number means for one campaign, or why it is refused (a tuple: cheap to
    make, one per distinct number)."""

    e164: str = ""
    zone: str = ""
    candidates: tuple[str, ...] = ()
    error: str | None = None


class Normaliser:
    """Checks and normalises the rows of one upload for one campaign."""

    def __init__(self, *, region: str, default_zone: str) -> None:
        self.region = region
        self.default_zone = default_zone
        # Per upload, so the region and default zone behind each answer never change.
        self._number = lru_cache(maxsize=REMEMBERED_NUMBERS)(self._look_up)

    def batch(
        self, raw: Iterable[RawContact], progress: Callable[[int], None] | None = None
    ) -> PreparedContacts:
        """Normalise rows, setting the bad ones aside with the reason.

        `progress`, when given, is told how many more rows were checked, every PROGRESS_EVERY.
        """
        result = PreparedContacts()
        for index, item in enumerate(raw, start=1):
            if progress is not None and index % PROGRESS_EVERY == 0:
                progress(PROGRESS_EVERY)
            try:
                result.rows.append(self.row(item))
            except RowError as exc:
                result.rejected.append((item.row, str(exc)))
        return result

    def row(self, item: RawContact) -> ContactRow:
        """Turn one raw row into a contact, or raise RowError naming the field."""
        if item.problem:
            raise RowError(item.problem)
        fields = item.fields
        given = _text(fields, "phone_number")
        if given is None:
            raise RowError("phone_number is missing")
        number = self._number(given)
        if number.error is not None:
            raise RowError(number.error)
        zone = _text(fields, "timezone")
        if zone is not None and zone not in known_zones():
            raise RowError(f"timezone {zone!r} is not a known IANA time zone")
        language = _text(fields, "language")
        if language is not None and language not in tuple(Language):
            supported = ", ".join(Language)
            raise RowError(f"language {language!r} is not one of {supported}")
        return ContactRow(
            row=item.row,
            phone_number=number.e164,
            external_id=_text(fields, "external_id"),
            name=_text(fields, "name"),
            timezone=zone or number.zone,
            time_zone_candidates=None if zone else _array_literal(number.candidates),
            attributes=_attributes(fields),
            language=language,
        )

    def _look_up(self, given: str) -> _Number:
        try:
            number = read_number(given, self.region)
        except phonenumbers.NumberParseException:
            return _Number(error=f"phone_number {given!r} is not a phone number")
        # The type is UNKNOWN exactly when is_valid_number() is false; it is most of the cost of
        # both that check and the time zone lookup, so it is computed once for the two.
        if number.kind == phonenumbers.PhoneNumberType.UNKNOWN:
            return _Number(error=f"phone_number {given!r} is not a valid phone number")
        zone, candidates = zones_for_number(number, self.default_zone)
        return _Number(number.e164, zone, candidates)


def prepare(
    raw: Iterable[RawContact],
    *,
    region: str,
    default_zone: str,
    progress: Callable[[int], None] | None = None,
) -> PreparedContacts:
    """Normalise rows for a campaign with this region and zone (see Normaliser.batch)."""
    return Normaliser(region=region, default_zone=default_zone).batch(raw, progress)


def parse_csv(text: str) -> list[RawContact]:
    """Every row of a whole CSV text (header first)."""
    return read_all(CsvReader(), text.encode())


def _text(fields: Mapping[Any, Any], key: str) -> str | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # JSON numbers for ids and phone numbers are common
    if not isinstance(value, str):
        raise RowError(f"{key} must be a string")
    problem = _bad_text(value)
    if problem:
        raise RowError(f"{key} {problem}")
    return value.strip() or None


def _bad_text(value: str) -> str | None:
    """Why PostgreSQL would refuse this text, if it would."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escapes can make
        return "contains invalid Unicode (a lone surrogate)"
    return None


def _attributes(fields: Mapping[Any, Any]) -> str:
    """The columns besides the known ones, as JSON object text that jsonb accepts."""
    extra = {k: v for k, v in fields.items() if k not in KNOWN_COLUMNS}
    if not extra:
        return "{}"
    if not all(isinstance(key, str) for key in extra):  # json.dumps would quietly turn 1 into "1"
        raise RowError(_attribute_problem(extra))
    try:
        text = _json_object(extra)
        text.encode()
    except (ValueError, TypeError):  # UnicodeEncodeError is a ValueError
        raise RowError(_attribute_problem(extra)) from None
    if "\\u0000" in text:  # jsonb has no NUL; json.dumps writes it as an escape
        raise RowError(_attribute_problem(extra))
    return text


def _json_object(extra: Mapping[str, Any]) -> str:
    """json.dumps(extra, ensure_ascii=False, allow_nan=False); for text values (every CSV
    attribute), written directly with json's own string encoder, several times faster."""
    if all(isinstance(value, str) for value in extra.values()):
        quote = _JSON_STRING
        return "{" + ", ".join(f"{quote(k)}: {quote(v)}" for k, v in extra.items()) + "}"
    return json.dumps(extra, ensure_ascii=False, allow_nan=False)


def _attribute_problem(extra: Mapping[Any, Any]) -> str:
    """Name the first attribute jsonb would refuse, and why."""
    return _first_problem(extra) or "attributes cannot be stored"


def _first_problem(extra: Mapping[Any, Any]) -> str | None:
    for key, value in extra.items():
        if not isinstance(key, str):
            return f"attribute names must be strings, not {key!r}"
        problem = _bad_text(key)
        if problem:
            return f"an attribute name {problem}"
        problem = _bad_value(value)
        if problem:
            return f"{key} {problem}"
    return None


def _bad_value(value: Any) -> str | None:
    if isinstance(value, str):
        return _bad_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f"is not a finite number ({value})"
    if isinstance(value, Mapping):
        problem = _first_problem(value)
        return f"has {problem}" if problem else None
    if isinstance(value, list):
        return next((p for p in map(_bad_value, value) if p), None)
    return None


def zones_for_number(number: Number, default_zone: str) -> tuple[str, tuple[str, ...]]:
    """The number's time zone, and all its candidate zones when the number spans several.

    The first is what the contact is shown with: the number's only zone, else the campaign's when
    it is a candidate, else the first candidate. The scheduler calls a multi-zone number only when
    the window is open in every candidate (fail closed): give a `timezone` column to do better.
    The number's type decides, as in time_zones_for_number(), without being computed again.
    """
    country = number.country_code
    if phonenumbers.is_number_type_geographical(number.kind, country):
        found = number_zones.time_zones_for_geographical_number(number.phone_number())
    else:
        found = _country_zones(country, number)
    return _chosen(tuple(found), default_zone)


@lru_cache(maxsize=1024)
def _chosen(found: tuple[str, ...], default_zone: str) -> tuple[str, tuple[str, ...]]:
    # Numbers share a few zone lists (one per country or area prefix): chosen once for each.
    zones = tuple(sorted(z for z in found if z in known_zones()))
    if not zones:
        return default_zone, ()
    if len(zones) == 1:
        return zones[0], ()
    return (default_zone if default_zone in zones else zones[0]), zones


@lru_cache(maxsize=1024)
def _array_literal(items: tuple[str, ...]) -> str | None:
    """`items` as PostgreSQL writes a text[] (None for none): each quoted, so any text goes."""
    if not items:
        return None
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return "{" + ",".join(quoted) + "}"


_COUNTRY_ZONES: dict[int, tuple[str, ...]] = {}


def _country_zones(country: int, number: Number) -> tuple[str, ...]:
    # A valid number that is not geographical gets its country's zones. time_zones_for_number()
    # finds that out by computing the number's type again, the costliest step of a row; the
    # answer depends on the country code alone, so it is asked once per code.
    if country not in _COUNTRY_ZONES:
        _COUNTRY_ZONES[country] = tuple(number_zones.time_zones_for_number(number.phone_number()))
    return _COUNTRY_ZONES[country]


def default_region(language: str, caller_id: str | None) -> str:
    """Region for numbers written without +country: the caller id's, else the language's."""
    if caller_id:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(caller_id, None))
        except phonenumbers.NumberParseException:
            region = None
        # "001" marks non-geographic numbers, which say nothing about the contacts' country.
        if region and region != "001":
            return str(region)
    return language.rpartition("-")[2].upper()
