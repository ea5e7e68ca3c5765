"""Phone numbers masked in log lines; exceptions as one grep-able line."""

from __future__ import annotations

import logging

import pytest

from app.logs import PhoneMaskFilter, mask_numbers, mask_phone, one_line


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+390212345678", "+39*******678"),
        ("390212345678", "+39*******678"),
        ("+393331234567", "+39*******567"),
        ("+14155550123", "+14******123"),
        ("+447911123456", "+44*******456"),
        ("+123456", "+12*456"),
        ("+12345", "+*****"),
        ("+1234", "+****"),
        ("12", "+**"),
        ("+", "+"),
        ("", "-"),
        (None, "-"),
    ],
)
def test_mask_phone(number: str | None, expected: str) -> None:
    assert mask_phone(number) == expected


@pytest.mark.parametrize("number", ["+390212345678", "+14155550123", "+447911123456"])
def test_mask_phone_hides_the_subscriber_digits(number: str) -> None:
    masked = mask_phone(number)
    digits = number.lstrip("+")

    assert len(masked) == len(number)
    assert digits[2:-3] not in masked
    assert masked.count("*") == len(digits) - 5


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ValueError("bad value"), "ValueError: bad value"),
        (ValueError("first line\nsecond line"), "ValueError: first line"),
        (RuntimeError("  \n  indented first\nsecond"), "RuntimeError: indented first"),
        (OSError("windows\r\nline"), "OSError: windows"),
        (ValueError(), "ValueError"),
        (ValueError(""), "ValueError"),
        (ValueError("   \n\t "), "ValueError"),
        (KeyError("key"), "KeyError: 'key'"),
        (TimeoutError(), "TimeoutError"),
    ],
)
def test_one_line(exc: BaseException, expected: str) -> None:
    assert one_line(exc) == expected


@pytest.mark.parametrize(
    "message",
    ["a\nb\nc", "a\r\nb", "a\rb", "\n\nlast", "x\u2028y", "multi\n" * 50],
)
def test_one_line_never_spans_lines(message: str) -> None:
    line = one_line(RuntimeError(message))

    assert len(line.splitlines()) == 1
    assert "\n" not in line
    assert "\r" not in line
    assert line.startswith("RuntimeError: ")


def masked_message(msg: object, *args: object) -> str:
    record = logging.LogRecord("app.test", logging.INFO, __file__, 1, msg, args or None, None)
    assert PhoneMaskFilter().filter(record) is True
    return record.getMessage()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("to=+390212345678", "to=+39*******678"),
        ("call +14155550123 and +447911123456", "call +14******123 and +44*******456"),
        ("+12345678 is the shortest", "+12***678 is the shortest"),
        ("+123456789012345.", "+12**********345."),
        ("already +39*******678", "already +39*******678"),
        ("attempt=12345 contact=390212345678", "attempt=12345 contact=39*******678"),
        ("+1234567 too short", "+1234567 too short"),
        ("+1234567890123456 too long", "+1234567890123456 too long"),
        ("2024-01-01T10:00:00+00:00", "2024-01-01T10:00:00+00:00"),
    ],
)
def test_mask_numbers(text: str, expected: str) -> None:
    assert mask_numbers(text) == expected


# What people type, and the same numbers as they reach a log: E.164 with or without "+",
# national, grouped, in a URL's query string; the first two and last three digits are kept.
MASKED = [
    ("3331234567", "33*****567"),
    ("12025550184", "12******184"),
    ("0212345678", "02*****678"),
    ("333 123 4567", "33* *** *567"),
    ("333 1234567", "33* ****567"),
    ("(202) 555-0184", "(20*) ***-*184"),
    ("02-1234-5678", "02-****-*678"),
    ("333.123.4567", "33*.***.*567"),
    ("06 12 34 56 78", "06 ** ** *6 78"),
    ("0039 333 1234567", "00** *** ****567"),
    ("+39 333 123 4567", "+39 *** *** *567"),
    ("+1 (202) 555-0184", "+1 (2**) ***-*184"),
    ("+44 7911 123456", "+44 **** ***456"),
    ("tel:+393331234567", "tel:+39*******567"),
    ("to=3331234567", "to=33*****567"),
    ("to:3331234567", "to:33*****567"),
    ("/contacts/3331234567", "/contacts/33*****567"),
    ("{'to': 3331234567}", "{'to': 33*****567}"),
    ("(3331234567)", "(33*****567)"),
    ("number 3331234567.", "number 33*****567."),
    ("3331234567,3339876543", "33*****567,33*****543"),
    # Two numbers side by side read as one run: masked whole rather than let one through.
    ("3331234567 3339876543", "33******** *******543"),
    ("?to=%2B393331234567", "?to=%2B39*******567"),
    ("?to=333%20123%204567", "?to=33*%20***%20*567"),
    ("?to=%28202%29%20555-0184", "?to=%2820*%29%20***-*184"),
    ("?to=333+123+4567", "?to=33*+***+*567"),
    ("first line\n3331234567", "first line\n33*****567"),
]

# What operators need to read: ids, pids, counts, durations, times, SIDs, UUIDs, addresses.
UNMASKED = [
    "attempt=123456 contact=42 pid=4242 contacts=50000000",
    "12345678",
    "2025-03-04T09:00:04.123+00:00",
    "2025-03-03 09:00:00,123 INFO [pid 12345] app.main: Application starting",
    "2025-03-03",
    "12:34:56.789012345",
    "took 0.30000000000000004s",
    "at 1718000000.123456",
    "took 1234567890ns",
    "CA0123456789abcdef0123456789abcdef",
    "MK0123456789abcdef0123456789abcdef",
    "550e8400-e29b-41d4-a716-446655440000",
    "12345678-1234-a456-426614174000",
    "192.168.100.200",
    "127.0.0.1:8880",
    "192.168.100.200:54321",
    '127.0.0.1:54321 - "GET /api/campaigns/12 HTTP/1.1" 200',
    "1234567890123456",
    "+1234567",
    "+39*******678 and 33*****567",
    "v1.2.3",
    "row_3331234567",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_mask_numbers_masks_national_and_grouped_numbers(text: str, expected: str) -> None:
    masked = mask_numbers(text)

    assert masked == expected
    assert mask_numbers(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize("text", UNMASKED)
def test_mask_numbers_leaves_what_operators_read(text: str) -> None:
    assert mask_numbers(text) == text


@pytest.mark.parametrize("number", ["+393331234567", "+14155550123", "+447911123456"])
def test_mask_numbers_masks_e164_as_mask_phone_does(number: str) -> None:
    assert mask_numbers(f"to={number}") == f"to={mask_phone(number)}"


def test_filter_masks_a_national_number_in_an_exception_arg() -> None:
    exc = ValueError("no route to (202) 555-0184")

    assert masked_message("failed: %s", exc) == "failed: no route to (20*) ***-*184"


def test_filter_masks_a_number_in_the_message() -> None:
    assert masked_message("calling +390212345678 now") == "calling +39*******678 now"


def test_filter_masks_numbers_in_the_args_and_keeps_the_rest() -> None:
    message = masked_message(
        "initiate_call attempt=%s contact=%d to=%s", 12345, 678, "+393331234567"
    )

    assert message == "initiate_call attempt=12345 contact=678 to=+39*******567"


def test_filter_masks_an_exception_passed_as_an_arg() -> None:
    exc = ValueError("The 'To' number +14155550123 is not valid")

    assert masked_message("failed: %s", exc) == "failed: The 'To' number +14******123 is not valid"


def test_filter_masks_mapping_args() -> None:
    assert masked_message("to=%(to)s n=%(n)d", {"to": "+447911123456", "n": 3}) == (
        "to=+44*******456 n=3"
    )


def test_filter_leaves_records_without_numbers_untouched() -> None:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "a=%s b=%d", ("x", 5), None)
    PhoneMaskFilter().filter(record)

    assert record.msg == "a=%s b=%d"
    assert record.args == ("x", 5)
