"""Phone numbers masked in log lines; exceptions as one grep-able line."""

from __future__ import annotations

import pytest

from app.logs import mask_phone, one_line


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
