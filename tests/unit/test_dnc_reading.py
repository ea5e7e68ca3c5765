"""Reading do-not-call uploads without a database: shapes, row numbers, and hostile input."""

from __future__ import annotations

import hashlib

import pytest

from app.campaigns.errors import InvalidInput
from app.suppression.numbers import NumberCheck, RowError, check_region, listed_hash
from app.suppression.reading import (
    MAX_LINE_BYTES,
    Checked,
    NumberListReader,
    Rejections,
    json_numbers,
)
from app.suppression.service import next_prefix, parse_search


def read(
    body: bytes, *, region: str | None = None, piece: int | None = None
) -> tuple[str, Rejections]:
    """The numbers the body lists (as COPY text) and the rows refused, fed `piece` bytes a time."""
    reader = NumberListReader(NumberCheck(region))
    step = piece or len(body) or 1
    parts = [reader.feed(body[i : i + step]) for i in range(0, len(body), step)]
    parts.append(reader.close())
    copy = b"".join(p.copy for p in parts)
    assert sum(p.numbers for p in parts) == copy.count(b"\n")
    return copy.decode(), reader.rejections


def test_a_clean_e164_list_is_passed_on_as_it_is() -> None:
    body = b"+393331234567\n+12125550100\n"
    reader = NumberListReader(NumberCheck())

    assert reader.feed(body) == Checked(body, 2)


def test_other_shapes_are_normalised_and_bad_rows_reported_with_their_line() -> None:
    body = b"+39 333 123 4567\r\n0212345678\n\n12345\n+39 02 1234 5678\nnot a phone\n"

    copy, rejected = read(body, region="IT")

    assert copy == "+393331234567\n+390212345678\n+390212345678\n"
    assert rejected.listed == [
        (4, "'12345' is not a valid phone number"),
        (6, "'not a phone' is not a phone number"),
    ]


def test_without_a_region_a_national_number_is_refused_saying_why() -> None:
    _, rejected = read(b"0212345678\n")

    assert rejected.listed == [
        (1, "'0212345678' has no country code: write it as +… or give a region")
    ]


def test_a_csv_header_names_the_column_and_rows_count_after_it() -> None:
    body = '\ufeffname,Phone_Number\nAnna,+39 02 1234 5678\n"Rossi, Bea",+393331234567\nCarlo\n'

    copy, rejected = read(body.encode())

    assert copy == "+390212345678\n+393331234567\n"
    assert rejected.listed == [(3, "the phone number is missing")]


def test_a_one_column_header_is_skipped() -> None:
    copy, rejected = read(b"phone_number\n+393331234567\n")

    assert (copy, rejected.total) == ("+393331234567\n", 0)


@pytest.mark.parametrize("piece", [1, 3, 7, 64])
def test_pieces_of_any_size_read_the_same(piece: int) -> None:
    body = b"phone_number\r\n+393331234567\r\n+39 02 1234 5678\r\nbad\r\n+12125550100"

    assert read(body, piece=piece) == read(body)


def test_hostile_rows_are_refused_alone() -> None:
    body = b"+39333\x001234567\n" + b"9" * 200 + b"\n\xff\xfe\n+393331234567\n"

    copy, rejected = read(body)

    assert copy == "+393331234567\n"
    assert rejected.listed == [
        (1, "contains a NUL character"),
        (2, "longer than 64 characters: not a phone number"),
        (3, "is not valid UTF-8 text"),
    ]


def test_a_line_too_long_stops_the_upload_without_holding_it() -> None:
    reader = NumberListReader(NumberCheck())
    reader.feed(b"+393331234567\n")

    with pytest.raises(InvalidInput, match="line 2 is longer than"):
        reader.feed(b"9" * (MAX_LINE_BYTES + 1))


def test_an_empty_body_is_refused() -> None:
    with pytest.raises(InvalidInput, match="body is empty"):
        read(b"")


def test_rejections_are_counted_past_the_ones_listed() -> None:
    _, rejected = read(b"x\n" * 1500)

    assert (len(rejected.listed), rejected.total) == (1000, 1500)


def test_json_items_are_numbered_from_one() -> None:
    rejections = Rejections()
    items = ["+39 333 123 4567", 3331234567, None, "\ud800", 10**400, "+12125550100"]

    pieces = list(json_numbers(items, NumberCheck("IT"), rejections))

    assert b"".join(p.copy for p in pieces) == b"+393331234567\n+393331234567\n+12125550100\n"
    assert rejections.listed == [
        (3, "must be a string"),
        (4, "contains invalid Unicode"),
        (5, "'not a number' is not a phone number"),
    ]


def test_the_hash_is_sha256_of_the_e164_text() -> None:
    expected = hashlib.sha256(b"+393331234567").hexdigest()

    assert listed_hash("+393331234567") == f"sha256:{expected}"


def test_regions_are_checked() -> None:
    assert check_region(" it ") == "IT"
    assert check_region(None) is None
    with pytest.raises(ValueError, match="not a region code"):
        check_region("XX")


def test_number_check_keeps_the_fast_path_exact() -> None:
    check = NumberCheck()

    assert check(" +393331234567 ") == "+393331234567"
    with pytest.raises(RowError):
        check("+0393331234567")


@pytest.mark.parametrize(
    ("search", "low", "high", "exact"),
    [
        ("+3902", "+3902", "+3903", None),
        ("39 02-9", "+39029", "+3903", None),
        ("+999", "+999", None, None),
        ("+393331234567", "+393331234567", "+393331234568", listed_hash("+393331234567")),
        ("SHA256:ab", "sha256:ab", "sha256:ac", None),
    ],
)
def test_searches_become_a_range_of_the_index(
    search: str, low: str, high: str | None, exact: str | None
) -> None:
    wanted = parse_search(search)

    assert (wanted.low, wanted.high, wanted.exact) == (low, high, exact)


@pytest.mark.parametrize("search", ["abc", "+39 02\x00", "sha256:xyz", "+" + "1" * 16])
def test_other_searches_are_refused(search: str) -> None:
    with pytest.raises(InvalidInput, match="search"):
        parse_search(search)


def test_next_prefix_carries() -> None:
    assert next_prefix("+3909", "0123456789") == "+391"
    assert next_prefix("sha256:f", "0123456789abcdef") is None
