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
        ("attempt=12345 contact=390212345678", "attempt=12345 contact=390212345678"),
        ("+1234567 too short", "+1234567 too short"),
        ("+1234567890123456 too long", "+1234567890123456 too long"),
        ("2024-01-01T10:00:00+00:00", "2024-01-01T10:00:00+00:00"),
    ],
)
def test_mask_numbers(text: str, expected: str) -> None:
    assert mask_numbers(text) == expected


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
