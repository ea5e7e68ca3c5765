"""Read a do-not-call upload as it arrives: one number per line, or CSV with a phone_number column.

Incremental and pure: `feed` takes the next bytes of the body and returns what they complete as
COPY text, one E.164 number per line; refused rows are noted with their number and reason. A
piece made only of E.164 lines (what a national register looks like) is passed on as it is,
checked by one regular expression instead of a Python step per row: that is what lets ten
million numbers load in about a minute. Any other piece is read line by line.

Rows are numbered from 1: the lines of a plain list, or the records after a CSV's header. A
record is one line (a quoted field spanning lines is not read as one).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.campaigns.errors import InvalidInput
from app.campaigns.schemas import REJECTIONS_LISTED
from app.suppression.numbers import NumberCheck, RowError

# Nothing in a do-not-call list needs a longer line; refusing one bounds what is held back.
MAX_LINE_BYTES = 1 << 16
# A JSON list is checked in pieces of this many numbers, so COPY starts before it is all read.
JSON_PIECE = 50_000
_BOM = b"\xef\xbb\xbf"
_CLEAN = re.compile(rb"(?:\+[1-9][0-9]{7,14}\n)*")
_COLUMN = "phone_number"


@dataclass(frozen=True)
class Checked:
    """Numbers ready for COPY (text format: one E.164 number per line) and how many."""

    copy: bytes
    numbers: int


@dataclass
class Rejections:
    """The first rows refused, in file order, and how many were refused in all."""

    listed: list[tuple[int, str]] = field(default_factory=list)
    total: int = 0

    def add(self, row: int, error: str) -> None:
        self.total += 1
        if len(self.listed) < REJECTIONS_LISTED:
            self.listed.append((row, error))


class NumberListReader:
    """A plain list (one number per line) or a CSV whose header names a phone_number column."""

    def __init__(self, check: NumberCheck) -> None:
        self._check = check
        self._pending = b""  # the start of a line whose end has not arrived
        self._started = False
        self._column: int | None = None  # CSV: the phone_number field; None: the whole line
        self._row = 0
        self.rejections = Rejections()

    def feed(self, data: bytes) -> Checked:
        """Take the next bytes of the body; return the numbers of the lines they complete."""
        data = self._pending + data
        end = data.rfind(b"\n") + 1
        self._pending = data[end:]
        if len(self._pending) > MAX_LINE_BYTES:
            line = self._row + data.count(b"\n", 0, end) + 1
            raise InvalidInput(
                f"line {line:,} is longer than {MAX_LINE_BYTES:,} bytes: not a list of phone "
                "numbers",
                ("body",),
            )
        return self._lines(data[:end])

    def close(self) -> Checked:
        """The body is complete: return the numbers of its last line, or refuse an empty one."""
        rest, self._pending = self._pending, b""
        checked = self._lines(rest + b"\n" if rest else b"")
        if not self._started:
            raise InvalidInput("body is empty", ("body",))
        return checked

    def _lines(self, block: bytes) -> Checked:
        if not block:
            return Checked(b"", 0)
        if not self._started:
            block = self._header(block.removeprefix(_BOM))
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n")
        if self._column is None and _CLEAN.fullmatch(block):
            lines = block.count(b"\n")
            self._row += lines
            return Checked(block, lines)
        return self._one_by_one(block)

    def _header(self, block: bytes) -> bytes:
        """Skip a header naming phone_number and remember where that column is."""
        self._started = True
        first, _, rest = block.partition(b"\n")
        names = [n.strip().strip(b'"').strip().lower() for n in first.split(b",")]
        if _COLUMN.encode() not in names:
            return block  # no header: one number per line from the first
        if len(names) > 1:
            self._column = names.index(_COLUMN.encode())
        return rest

    def _one_by_one(self, block: bytes) -> Checked:
        numbers: list[str] = []
        for line in block.split(b"\n")[:-1]:
            self._row += 1
            try:
                number = self._number(line)
            except RowError as exc:
                self.rejections.add(self._row, str(exc))
                continue
            if number is not None:
                numbers.append(number)
        return _as_copy(numbers)

    def _number(self, line: bytes) -> str | None:
        """The line's number in E.164; None for a blank line."""
        try:
            text = line.decode()
        except UnicodeDecodeError:
            raise RowError("is not valid UTF-8 text") from None
        if not text.strip():
            return None
        given = text if self._column is None else _field(text, self._column)
        return self._check(given)


def _field(line: str, column: int) -> str:
    if '"' in line:
        try:
            fields = next(csv.reader([line]))
        except csv.Error as exc:
            raise RowError(f"is not valid CSV: {exc}") from None
    else:
        fields = line.split(",")
    if column >= len(fields):
        raise RowError("the phone number is missing")
    return fields[column]


def json_numbers(
    items: Sequence[Any], check: NumberCheck, rejections: Rejections
) -> Iterator[Checked]:
    """The numbers of a JSON list, in pieces; item i is row i."""
    for start in range(0, len(items), JSON_PIECE):
        numbers: list[str] = []
        for row, item in enumerate(items[start : start + JSON_PIECE], start=start + 1):
            try:
                numbers.append(check(_json_text(item)))
            except RowError as exc:
                rejections.add(row, str(exc))
        yield _as_copy(numbers)


def _json_text(item: Any) -> str:
    if isinstance(item, int) and not isinstance(item, bool):
        # A number of thousands of digits would not even turn into text.
        return str(item) if 0 <= item < 10**15 else "not a number"
    if not isinstance(item, str):
        raise RowError("must be a string")
    try:
        item.encode()
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escapes can make
        raise RowError("contains invalid Unicode") from None
    return item


def _as_copy(numbers: list[str]) -> Checked:
    if not numbers:
        return Checked(b"", 0)
    return Checked(("\n".join(numbers) + "\n").encode(), len(numbers))
