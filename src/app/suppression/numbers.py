"""Phone numbers as the do-not-call list stores them: E.164, or the hash of a forgotten one.

Pure and CPU-bound. A national register holds millions of numbers already written in E.164: those
pass a regular expression (well under a microsecond); any other shape goes through phonenumbers,
which costs about 50 µs a number.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import phonenumbers

# "+", a country code (never 0), and at most 15 digits in all, as E.164 allows.
E164 = re.compile(r"\+[1-9]\d{7,14}")
# Longer than any way of writing a phone number: not worth handing to phonenumbers.
MAX_NUMBER_CHARS = 64
# A forgotten person's number is kept only as this prefix and the hex SHA-256 of its E.164 text.
HASH_PREFIX = "sha256:"
# Registers repeat numbers, and a region's numbers share prefixes: remembering a few thousand
# answers costs little.
REMEMBERED_NUMBERS = 1 << 12


class RowError(ValueError):
    """Why one number is refused; the others go on."""


def listed_hash(e164: str) -> str:
    """The do-not-call key of a forgotten number: not the number, yet never called again.

    An unsalted hash of a phone number is pseudonymisation, not anonymisation: the few billion
    possible numbers can be hashed in minutes, so whoever holds the list and a number can tell
    whether it is on it. That is what suppression needs, and all it keeps.
    """
    return HASH_PREFIX + hashlib.sha256(e164.encode()).hexdigest()


def listed_hash_sql(number: str) -> str:
    """`listed_hash` as an SQL expression of the SQL text expression `number`."""
    return f"'{HASH_PREFIX}' || encode(sha256(convert_to({number}, 'UTF8')), 'hex')"


def listed_sql(number: str) -> str:
    """An SQL condition: the SQL text expression `number` is on the do-not-call list, as itself
    or by the hash a forgotten person's number is listed by (two primary-key probes)."""
    return (
        f"EXISTS (SELECT 1 FROM do_not_call d"
        f" WHERE d.phone_number IN ({number}, {listed_hash_sql(number)}))"
    )


def check_region(region: str | None) -> str | None:
    """The region in upper case, or ValueError when phonenumbers does not know it."""
    if region is None or not region.strip():
        return None
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{region!r} is not a region code (two letters, such as IT or GB)")
    return code


class NumberCheck:
    """Normalises written numbers to E.164; numbers without a country code are read in `region`."""

    def __init__(self, region: str | None = None) -> None:
        self.region = region
        self._parse = lru_cache(maxsize=REMEMBERED_NUMBERS)(self._parse_uncached)

    def __call__(self, given: str) -> str:
        """The number in E.164, or RowError saying why not."""
        text = given.strip()
        if E164.fullmatch(text):
            return text
        if not text:
            raise RowError("the phone number is missing")
        if len(text) > MAX_NUMBER_CHARS:
            raise RowError(f"longer than {MAX_NUMBER_CHARS} characters: not a phone number")
        if "\x00" in text:
            raise RowError("contains a NUL character")
        e164, error = self._parse(text)
        if error is not None:
            raise RowError(error)
        return e164

    def _parse_uncached(self, text: str) -> tuple[str, str | None]:
        # Returns the error rather than raising it, so that refusals are remembered too.
        shown = text if len(text) <= 32 else text[:32] + "…"
        try:
            number = phonenumbers.parse(text, self.region)
        except phonenumbers.NumberParseException:
            if self.region is None and not text.startswith("+"):
                return "", f"{shown!r} has no country code: write it as +… or give a region"
            return "", f"{shown!r} is not a phone number"
        if not phonenumbers.is_valid_number(number):
            return "", f"{shown!r} is not a valid phone number"
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None
