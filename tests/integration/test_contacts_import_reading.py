"""Reading an upload as it arrives: rows come out piece by piece, whatever the piece boundaries.

These are plain functions of the readers (no database): they prove the bounded-memory property
the import relies on, that a reader hands back each row as soon as the bytes that end it arrive.
"""

from __future__ import annotations

import json
import random

import pytest

from app.campaigns.errors import InvalidInput
from app.campaigns.uploads import (
    CsvReader,
    JsonListReader,
    RawContact,
    UploadReader,
    read_all,
    reader_for,
)


def fed_in_pieces(reader: UploadReader, data: bytes, seed: int) -> list[RawContact]:
    rng = random.Random(seed)
    rows: list[RawContact] = []
    start = 0
    while start < len(data):
        size = rng.choice([1, 2, 3, 7, 64])
        rows += reader.feed(data[start : start + size])
        start += size
    return rows + reader.close()


TRICKY_CSV = [
    # CRLF line ends (a piece may end between \r and \n), a quoted field over two lines,
    # an escaped quote, a blank line, accented text (a character's bytes may be split).
    'phone_number,note\r\n0212345678,"two\r\nlines"\r\nbad,"a ""b"""\r\n\r\n0212345679,città\r\n',
    "\ufeffPhone_Number,Name\n0212345678,Anna",  # byte-order mark, no final line end
    "phone_number,note\r0212345678,old Mac line ends\r0212345679,x\r",
    'phone_number,note\n0212345678,"unterminated quote\n',
]


@pytest.mark.parametrize("text", TRICKY_CSV)
def test_csv_rows_do_not_depend_on_how_the_body_is_cut(text: str) -> None:
    data = text.encode()
    whole = read_all(CsvReader(), data)

    for seed in range(30):
        assert fed_in_pieces(CsvReader(), data, seed) == whole


TRICKY_JSON = [
    '[{"phone_number": "0212345678", "n": 12345.5e-3, "ok": true}, 42, -7.25, null, "x", []]',
    " \n[ ]\n ",
    '\ufeff[{"name": "città", "nested": {"a": [1, 2, {"b": null}]}}]',
]


@pytest.mark.parametrize("text", TRICKY_JSON)
def test_json_items_do_not_depend_on_how_the_body_is_cut(text: str) -> None:
    data = text.encode()
    whole = read_all(JsonListReader(), data)
    assert len(whole) == len(json.loads(text.lstrip("\ufeff")))

    for seed in range(30):
        assert fed_in_pieces(JsonListReader(), data, seed) == whole


@pytest.mark.parametrize("kind", ["text/csv", "application/json"])
def test_each_row_comes_out_as_soon_as_its_bytes_have_arrived(kind: str) -> None:
    rows = 30_000
    if kind == "text/csv":
        data = ("phone_number\n" + "".join(f"+39021{i:07d}\n" for i in range(rows))).encode()
        ends = [i + 1 for i, byte in enumerate(data) if byte == ord("\n")][1:]
    else:
        items = [json.dumps({"phone_number": f"+39021{i:07d}"}) for i in range(rows)]
        data = ("[" + ",".join(items) + "]").encode()
        ends, end = [], 1  # an object is whole once its closing brace is here
        for index, item in enumerate(items):
            end += len(item) + (1 if index else 0)
            ends.append(end)
    reader = reader_for(kind)
    piece = 64 << 10
    seen = 0

    for start in range(0, len(data), piece):
        seen += len(reader.feed(data[start : start + piece]))
        complete = sum(1 for end in ends if end <= start + piece)
        # Nothing accumulates: every row whose bytes are all here is already out.
        assert seen == complete
    assert seen + len(reader.close()) == rows


def test_a_line_too_long_to_be_a_contact_is_refused_without_waiting_for_its_end() -> None:
    reader = CsvReader()
    reader.feed(b"phone_number,note\n0212345678,")

    with pytest.raises(InvalidInput, match="line 2 is longer than"):
        for _ in range(20):
            reader.feed(b"x" * (64 << 10))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'[{"phone_number": "0212345678"}, {"x": NaN}]', "NaN is not a JSON value"),
        (b'[{"x": -Infinity}]', "-Infinity is not a JSON value"),
        (b"[" * 100_000, "nested too deeply"),
        (b'[{"n": ' + b"9" * 5000 + b"}]", "integer"),
        (b'[{"a": 1} {"b": 2}]', "expected ',' or ']'"),
        (b"[1]]", "after the end of the list"),
        (b'[{"a": 1}', "not closed"),
        (b'{"phone_number": "0212345678"}', "must be a JSON list"),
        (b'["\xff"]', "not valid UTF-8"),
    ],
)
def test_unreadable_json_is_refused_with_the_reason(body: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as refused:
        fed_in_pieces(JsonListReader(), body, seed=1)

    assert refused.value.loc == ("body",)
