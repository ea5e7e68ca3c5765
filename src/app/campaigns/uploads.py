"""Read a contact upload as it arrives: CSV with a header row, or a JSON list of objects.

Incremental and pure: `feed` takes the next bytes of the body and returns the rows they
complete; a reader holds back at most one unfinished line (CSV) or list item (JSON), so its
memory does not grow with the body. Rows are numbered from 1 as a spreadsheet shows them.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, NoReturn, Protocol

from app.campaigns.errors import InvalidInput

KNOWN_COLUMNS = ("phone_number", "external_id", "timezone", "name", "language")
CSV_TYPES = frozenset({"text/csv", "application/csv"})
JSON_TYPES = frozenset({"application/json"})

# A line or list item this long is not a contact; refusing it bounds what is held back.
MAX_LINE_CHARS = 1 << 20
MAX_ITEM_CHARS = 1 << 20


class RawContact(NamedTuple):
    """One data row as uploaded; `problem` is set when the row could not even be read.

    A tuple: one is made per row, and a tuple is several times cheaper to make than a frozen
    dataclass."""

    row: int
    fields: Mapping[Any, Any]
    problem: str | None = None


class UploadReader(Protocol):
    def feed(self, data: bytes) -> list[RawContact]:
        """Take the next bytes of the body; return the rows they complete."""

    def close(self) -> list[RawContact]:
        """The body is complete: return the last rows, or raise InvalidInput."""


def reader_for(media_type: str) -> UploadReader:
    """A reader for a JSON list or, for any other type, CSV."""
    return JsonListReader() if media_type in JSON_TYPES else CsvReader()


def read_all(reader: UploadReader, data: bytes) -> list[RawContact]:
    """Every row of a complete body."""
    return reader.feed(data) + reader.close()


class _Utf8:
    """UTF-8 decoded as it arrives (a character may span two pieces), byte-order mark dropped."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._done = 0  # bytes decoded before the current piece

    def decode(self, data: bytes, *, final: bool = False) -> str:
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"body is not valid UTF-8 near byte {self._done + exc.start:,} "
                "(save the file as UTF-8)",
                ("body",),
            ) from None
        self._done += len(data)
        return text


class _RunDry(Exception):
    """The lines received so far are used up, but the body goes on."""


# A line with its terminator, as a file opened with newline="" yields it; or a last line without.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class _Lines:
    """What csv.reader iterates over: lines as they arrive.

    When it runs out before the body ends it raises _RunDry instead of ending, and the lines of
    the unfinished record are put back, to be read again once more of the body is here.
    """

    def __init__(self) -> None:
        self._ready: deque[str] = deque()
        self._record: list[str] = []  # lines handed out for the record being read
        self._partial = ""  # a line whose end has not arrived yet
        self.final = False
        self.done = 0  # lines of the records read so far

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._ready:
            line = self._ready.popleft()
            self._record.append(line)
            return line
        if self.final:
            raise StopIteration
        raise _RunDry

    @property
    def current(self) -> int:
        """Number of the line being read."""
        return self.done + len(self._record)

    def add(self, text: str, *, final: bool) -> None:
        text = self._partial + text
        end = len(text) if final else _complete(text)
        self._ready.extend(_LINE.findall(text, 0, end))
        self._partial = text[end:]
        self.final = final
        if len(self._partial) > MAX_LINE_CHARS:
            raise InvalidInput(
                f"line {self.current + len(self._ready) + 1:,} is longer than "
                f"{MAX_LINE_CHARS:,} characters",
                ("body",),
            )

    def record_read(self) -> None:
        self.done += len(self._record)
        self._record.clear()

    def put_back(self) -> None:
        self._ready.extendleft(reversed(self._record))
        self._record.clear()


def _complete(text: str) -> int:
    """Where the complete lines of `text` end."""
    end = max(text.rfind("\n"), text.rfind("\r")) + 1
    if end == len(text) and text.endswith("\r"):
        # The "\r" may be the first half of a "\r\n" still to come: keep that line back.
        end = max(text.rfind("\n", 0, end - 1), text.rfind("\r", 0, end - 1)) + 1
    return end


class CsvReader:
    """CSV with a header row; row 1 is the first record after the header."""

    def __init__(self) -> None:
        self._text = _Utf8()
        self._lines = _Lines()
        self._reader = csv.reader(self._lines)
        self._columns: list[str] | None = None
        self._row = 0  # blank records count, so numbers match what a spreadsheet shows

    def feed(self, data: bytes) -> list[RawContact]:
        self._lines.add(self._text.decode(data), final=False)
        return self._records()

    def close(self) -> list[RawContact]:
        self._lines.add(self._text.decode(b"", final=True), final=True)
        rows = self._records()
        if self._columns is None:
            raise InvalidInput("body is empty", ("body",))
        return rows

    def _records(self) -> list[RawContact]:
        rows: list[RawContact] = []
        while (values := self._next()) is not None:
            if self._columns is None:
                self._columns = _columns(values)
                continue
            self._row += 1
            if "".join(values).strip():  # not blank: some field has more than white space
                rows.append(_csv_row(self._row, values, self._columns))
        return rows

    def _next(self) -> list[str] | None:
        try:
            values = next(self._reader)
        except _RunDry:
            self._lines.put_back()
            return None
        except StopIteration:
            return None
        except csv.Error as exc:
            raise InvalidInput(
                f"CSV is malformed near line {self._lines.current:,}: {exc}", ("body",)
            ) from None
        self._lines.record_read()
        return values


def _columns(header: Sequence[str]) -> list[str]:
    names = [_column_name(h) for h in header]
    if not any(names):
        raise InvalidInput("body is empty: expected a header row", ("body",))
    if any("\x00" in n for n in names):
        raise InvalidInput("a column name in the header contains a NUL character", ("body",))
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
    if len(values) > len(columns) and "".join(values[len(columns) :]).strip():
        problem = f"has {len(values)} fields but the header has {len(columns)}"
        return RawContact(number, {}, problem)
    fields = dict(zip(columns, values, strict=False))
    # Spreadsheets pad rows with unnamed empty columns; those carry nothing to keep.
    fields.pop("", None)
    return RawContact(number, fields)


_SPACE = re.compile(r"[ \t\n\r]*")


def _after_space(text: str, pos: int) -> int:
    found = _SPACE.match(text, pos)
    return found.end() if found else pos


def _no_constant(name: str) -> Any:
    # Python reads NaN and Infinity, but they are not JSON and PostgreSQL's jsonb refuses them.
    raise ValueError(f"{name} is not a JSON value")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


class JsonListReader:
    """A JSON list of contact objects, read one item at a time; row i is the i-th item."""

    def __init__(self) -> None:
        self._text = _Utf8()
        self._buffer = ""
        self._pos = 0
        self._skipped = 0  # characters dropped from the front of the buffer
        self._state = "start"  # then "item", "comma" (after an item), "end"
        self._row = 0

    def feed(self, data: bytes) -> list[RawContact]:
        return self._read(self._text.decode(data), final=False)

    def close(self) -> list[RawContact]:
        rows = self._read(self._text.decode(b"", final=True), final=True)
        if self._state == "start":
            raise InvalidInput("body is empty", ("body",))
        if self._state != "end":
            self._fail("the list is not closed with ']'")
        return rows

    def _read(self, text: str, *, final: bool) -> list[RawContact]:
        self._buffer = self._buffer[self._pos :] + text
        self._skipped += self._pos
        self._pos = 0
        rows: list[RawContact] = []
        while self._step(rows, final=final):
            pass
        return rows

    def _step(self, rows: list[RawContact], *, final: bool) -> bool:
        """Read one token or item; False when more of the body is needed (or it is all read)."""
        self._pos = _after_space(self._buffer, self._pos)
        if self._pos == len(self._buffer):
            return False
        char = self._buffer[self._pos]
        if self._state == "end":
            self._fail("unexpected data after the end of the list")
        if self._state == "start":
            if char != "[":
                raise InvalidInput("body must be a JSON list of contact objects", ("body",))
            self._pos += 1
            self._state = "item"
            return True
        if char == "]" and (self._state == "comma" or self._row == 0):
            self._pos += 1
            self._state = "end"
            return True
        if self._state == "comma":
            if char != ",":
                self._fail("expected ',' or ']' after an item")
            self._pos += 1
            self._state = "item"
            return True
        return self._item(rows, final=final)

    def _item(self, rows: list[RawContact], *, final: bool) -> bool:
        try:
            item, end = _DECODER.raw_decode(self._buffer, self._pos)
        except json.JSONDecodeError as exc:
            # Maybe only the rest of the item has not arrived yet.
            if final:
                self._fail(exc.msg, exc.pos)
            if len(self._buffer) - self._pos > MAX_ITEM_CHARS:
                self._fail(f"{exc.msg}, or an item longer than {MAX_ITEM_CHARS:,} characters")
            return False
        except ValueError as exc:  # NaN, Infinity, an integer of thousands of digits
            self._fail(str(exc))
        except RecursionError:
            self._fail("an item is nested too deeply")
        whole = final or isinstance(item, dict | list | str) or self._delimited(end)
        if not whole and len(self._buffer) - self._pos <= MAX_ITEM_CHARS:
            return False  # a number (or true, false, null) may go on in the next piece
        self._pos = end
        self._row += 1
        self._state = "comma"
        if isinstance(item, dict):
            rows.append(RawContact(self._row, item))
        else:
            rows.append(RawContact(self._row, {}, "must be an object"))
        return True

    def _delimited(self, end: int) -> bool:
        after = _after_space(self._buffer, end)
        return after < len(self._buffer) and self._buffer[after] in ",]"

    def _fail(self, problem: str, at: int | None = None) -> NoReturn:
        where = self._skipped + (self._pos if at is None else at)
        row = f"item {self._row + 1:,}, " if self._state == "item" else ""
        raise InvalidInput(
            f"body is not valid JSON: {problem} ({row}character {where:,})", ("body",)
        )
