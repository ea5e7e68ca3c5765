"""Contact lists: parse a CSV or JSON upload and normalise each row, without touching the database.

Pure and CPU-bound (phonenumbers is pure Python), so callers run it off the event loop.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from phonenumbers import timezone as number_zones

from app.campaigns.errors import InvalidInput
from app.scheduler.window import known_zones

KNOWN_COLUMNS = ("phone_number", "external_id", "timezone", "name")
CSV_TYPES = frozenset({"text/csv", "application/csv"})
JSON_TYPES = frozenset({"application/json"})


@dataclass(frozen=True)
class RawContact:
    """One data row as uploaded; `problem` is set when the row could not even be read."""

    row: int
    fields: Mapping[str, Any]
    problem: str | None = None


@dataclass(frozen=True)
class ContactRow:
    row: int
    phone_number: str  # E.164
    external_id: str | None
    name: str | None
    timezone: str
    attributes: str  # JSON object text
    # Every zone the number may be in, when it is more than one (comma-joined for transport):
    # the call window must be open in all of them.
    time_zone_candidates: str = ""


@dataclass
class PreparedContacts:
    rows: list[ContactRow] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


class RowError(ValueError):
    """Why one row is rejected; the others go on."""


def parse_upload(raw: bytes, media_type: str) -> list[RawContact]:
    """Read a `text/csv` or JSON-list body into raw rows numbered from 1."""
    if not raw.strip():
        raise InvalidInput("body is empty", ("body",))
    try:
        text = raw.decode("utf-8-sig")  # Excel writes a byte-order mark
    except UnicodeDecodeError:
        raise InvalidInput("body is not valid UTF-8 (save the file as UTF-8)", ("body",)) from None
    if media_type in JSON_TYPES:
        return parse_json(text)
    return parse_csv(text)


def parse_csv(text: str) -> list[RawContact]:
    """Read CSV text with a header row; row 1 is the first record after the header."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        columns = _columns(next(reader, []))
        return [_csv_row(number, values, columns) for number, values in _records(reader) if values]
    except csv.Error as exc:
        raise InvalidInput(
            f"CSV is malformed near line {reader.line_num}: {exc}", ("body",)
        ) from None


def _records(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    # Blank lines still count, so row numbers match what a spreadsheet shows.
    for number, values in enumerate(reader, start=1):
        yield number, values if any(v.strip() for v in values) else []


def _columns(header: Sequence[str]) -> list[str]:
    names = [_column_name(h) for h in header]
    if not any(names):
        raise InvalidInput("body is empty: expected a header row", ("body",))
    seen = [n for n in names if n]
    for name in seen:
        if seen.count(name) > 1:
            raise InvalidInput(f"column {name!r} appears twice in the header", ("body", name))
    if "phone_number" not in names:
        raise InvalidInput("the CSV header has no phone_number column", ("body", "phone_number"))
    return names


def _column_name(header: str) -> str:
    name = header.strip()
    return name.lower() if name.lower() in KNOWN_COLUMNS else name


def _csv_row(number: int, values: list[str], columns: list[str]) -> RawContact:
    extra = values[len(columns) :]
    if any(v.strip() for v in extra):
        problem = f"has {len(values)} fields but the header has {len(columns)}"
        return RawContact(number, {}, problem)
    # Spreadsheets pad rows with unnamed empty columns; those carry nothing to keep.
    fields = {name: value for name, value in zip(columns, values, strict=False) if name}
    return RawContact(number, fields)


def parse_json(text: str) -> list[RawContact]:
    """Read a JSON list of contact objects; row i is the i-th object."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError included
        raise InvalidInput(f"body is not valid JSON: {exc}", ("body",)) from None
    if not isinstance(data, list):
        raise InvalidInput("body must be a JSON list of contact objects", ("body",))
    return [
        RawContact(i, item) if isinstance(item, dict) else RawContact(i, {}, "must be an object")
        for i, item in enumerate(data, start=1)
    ]


def _no_constant(name: str) -> Any:
    # Python reads NaN and Infinity, but they are not JSON and PostgreSQL's jsonb refuses them.
    raise ValueError(f"{name} is not a JSON value")


def prepare(
    raw: Sequence[RawContact],
    *,
    region: str,
    default_zone: str,
    progress: Callable[[int], None] | None = None,
) -> PreparedContacts:
    """Normalise every row, rejecting bad ones and repeats of an earlier accepted number.

    `progress`, when given, is told how many more rows were checked, every PROGRESS_EVERY rows.
    """
    result = PreparedContacts()
    first_row: dict[str, int] = {}
    for index, item in enumerate(raw, start=1):
        if progress is not None and index % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
        try:
            if item.problem:
                raise RowError(item.problem)
            contact = normalise(item, region=region, default_zone=default_zone)
            if contact.phone_number in first_row:
                raise RowError(f"duplicate of row {first_row[contact.phone_number]}")
        except RowError as exc:
            result.rejected.append((item.row, str(exc)))
            continue
        first_row[contact.phone_number] = item.row
        result.rows.append(contact)
    return result


PROGRESS_EVERY = 1000


def normalise(item: RawContact, *, region: str, default_zone: str) -> ContactRow:
    """Turn one raw row into a contact, or raise RowError naming the field."""
    fields = item.fields
    given = _text(fields, "phone_number")
    if given is None:
        raise RowError("phone_number is missing")
    number, kind = _parse_number(given, region)
    zone = _text(fields, "timezone")
    if zone is not None and zone not in known_zones():
        raise RowError(f"timezone {zone!r} is not a known IANA time zone")
    attributes = json.dumps({k: v for k, v in fields.items() if k not in KNOWN_COLUMNS})
    if "\\u0000" in attributes:
        raise RowError("attributes contain a NUL character")
    primary, candidates = zones_for_number(number, kind, default_zone)
    return ContactRow(
        row=item.row,
        phone_number=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        external_id=_text(fields, "external_id"),
        name=_text(fields, "name"),
        timezone=zone or primary,
        attributes=attributes,
        time_zone_candidates="" if zone else ",".join(candidates),
    )


def _text(fields: Mapping[str, Any], key: str) -> str | None:
    value = fields.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # JSON numbers for ids and phone numbers are common
    if not isinstance(value, str):
        raise RowError(f"{key} must be a string")
    if "\x00" in value:
        raise RowError(f"{key} contains a NUL character")
    return value.strip() or None


def _parse_number(given: str, region: str) -> tuple[phonenumbers.PhoneNumber, int]:
    try:
        number = phonenumbers.parse(given, region)
    except phonenumbers.NumberParseException:
        raise RowError(f"phone_number {given!r} is not a phone number") from None
    # number_type() is UNKNOWN exactly when is_valid_number() is false; it is most of the cost
    # of both that check and the time zone lookup, so it is computed once for the two.
    kind: int = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        raise RowError(f"phone_number {given!r} is not a valid phone number")
    return number, kind


def zones_for_number(
    number: phonenumbers.PhoneNumber, kind: int, default_zone: str
) -> tuple[str, tuple[str, ...]]:
    """The number's time zone, and all its candidate zones when the number spans several.

    The first is what the contact is shown with: the number's only zone, else the campaign's when
    it is a candidate, else the first candidate. The scheduler calls a multi-zone number only when
    the window is open in every candidate (fail closed): give a `timezone` column to do better.
    `kind` is the number's phonenumbers type: the same lookup as time_zones_for_number().
    """
    if phonenumbers.is_number_type_geographical(kind, number.country_code or 0):
        found = number_zones.time_zones_for_geographical_number(number)
    else:
        found = number_zones.time_zones_for_number(number)
    zones = tuple(sorted(z for z in found if z in known_zones()))
    if not zones:
        return default_zone, ()
    if len(zones) == 1:
        return zones[0], ()
    return (default_zone if default_zone in zones else zones[0]), zones


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
