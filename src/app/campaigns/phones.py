"""Phone numbers as phonenumbers reads them, for the way contact lists write them, faster.

phonenumbers is pure Python and general: parsing and typing a number costs 40-60 µs, most of it
in steps that do nothing for a number written as digits (vanity letters, extensions, RFC 3966,
IDD prefixes) and in looking up compiled patterns again for every check. A number written as
`+` and digits, or as national digits, in groups separated by single spaces or hyphens, takes
the short way here: the same steps, in the same order, with the region's patterns compiled once.
Every other shape, and every case where phonenumbers would take a branch the short way does not
follow (a country code it has to guess, an IDD or national prefix to strip, a length it refuses),
goes to phonenumbers itself. `tests/unit/test_phone_fast.py` holds the two to the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberDesc, PhoneNumberType
from phonenumbers.phonenumberutil import (
    _MAX_LENGTH_FOR_NSN,
    _MIN_LENGTH_FOR_NSN,
    COUNTRY_CODE_TO_REGION_CODE,
    ValidationResult,
    _maybe_strip_national_prefix_carrier_code,
    _test_number_length,
)

# Digits in groups; "+" first for the international form. Nothing phonenumbers would read as
# an extension, a second number, letters or punctuation it treats specially.
_INTERNATIONAL = re.compile(r"\+[1-9][0-9]*(?:[ -][0-9]+)*")
_NATIONAL = re.compile(r"[0-9]+(?:[ -][0-9]+)*")
_SEPARATORS = str.maketrans("", "", " -")
_MAX_COUNTRY_CODE_DIGITS = 3
# Lengths after which phonenumbers.parse refuses a number (it says why: the slow way answers).
_REFUSED_LENGTHS = (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY)
_KEPT_PREFIX = (*_REFUSED_LENGTHS, ValidationResult.INVALID_LENGTH)


class Number(NamedTuple):
    """A parsed number: what format_number(E164), number_type() and the time zones need."""

    country_code: int
    national: str  # the national significant number, leading zeros included
    kind: int  # a PhoneNumberType; UNKNOWN exactly when the number is not valid

    @property
    def e164(self) -> str:
        return f"+{self.country_code}{self.national}"

    def phone_number(self) -> phonenumbers.PhoneNumber:
        """The PhoneNumber phonenumbers.parse gives (without raw input or extension)."""
        return phonenumbers.PhoneNumber(
            country_code=self.country_code,
            national_number=int(self.national),
            italian_leading_zero=self.national.startswith("0") or None,
            number_of_leading_zeros=_leading_zeros(self.national),
        )


def read_number(given: str, region: str) -> Number:
    """`given` read with `region` for numbers without a country code, or NumberParseException:
    the answers of phonenumbers.parse, number_type and national_significant_number."""
    quick = _quick(given, region)
    if quick is not None:
        return quick
    number = phonenumbers.parse(given, region)
    return Number(
        number.country_code or 0,
        phonenumbers.national_significant_number(number),
        phonenumbers.number_type(number),
    )


def _quick(given: str, region: str) -> Number | None:
    """The number the short way, or None when only phonenumbers can say."""
    if _INTERNATIONAL.fullmatch(given):
        return _international(given[1:].translate(_SEPARATORS))
    if _NATIONAL.fullmatch(given):
        return _national(given.translate(_SEPARATORS), region)
    return None


def _international(digits: str) -> Number | None:
    # parse: the "+" is stripped, then the shortest known country code is taken.
    if len(digits) <= _MIN_LENGTH_FOR_NSN:
        return None
    for size in range(1, _MAX_COUNTRY_CODE_DIGITS + 1):
        country_code = int(digits[:size])
        if country_code in COUNTRY_CODE_TO_REGION_CODE:
            metadata = _main_metadata(country_code)
            return _typed(country_code, digits[size:], metadata)
    return None  # parse tries harder (an IDD after the "+"): let it


def _national(digits: str, region: str) -> Number | None:
    if len(digits) <= _MIN_LENGTH_FOR_NSN:  # two digits with a separator are not viable
        return None
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or metadata.country_code is None:
        return None
    rules = _rules(metadata)
    # parse would strip an IDD prefix, or weigh whether the digits start with the country code.
    idd = rules.idd is not None and rules.idd(digits)
    if idd or digits.startswith(str(metadata.country_code)):
        return None
    return _typed(metadata.country_code, digits, metadata)


def _typed(country_code: int, national: str, metadata: PhoneMetadata) -> Number | None:
    """parse's last steps (national prefix, lengths), then number_type()."""
    if len(national) < _MIN_LENGTH_FOR_NSN:
        return None
    prefix = _rules(metadata).national_prefix
    if prefix is not None and prefix(national):
        _, stripped, _ = _maybe_strip_national_prefix_carrier_code(national, metadata)
        if _test_number_length(stripped, metadata) not in _KEPT_PREFIX:
            national = stripped
    if not _MIN_LENGTH_FOR_NSN <= len(national) <= _MAX_LENGTH_FOR_NSN:
        return None
    return Number(country_code, national, _number_type(country_code, national))


def _number_type(country_code: int, national: str) -> int:
    """number_type(): the region is found among those of the country code, then typed."""
    for leading_digits, rules in _regions(country_code):
        if leading_digits is not None:
            if leading_digits(national):
                return rules.kind(national)
            continue
        kind = rules.kind(national)
        if kind != PhoneNumberType.UNKNOWN or len(_regions(country_code)) == 1:
            return kind
    return PhoneNumberType.UNKNOWN


# Per country code, its regions in phonenumbers' order, each with the test that picks it.
_REGIONS: dict[int, list[tuple[Match | None, _Rules]]] = {}


def _regions(country_code: int) -> list[tuple[Match | None, _Rules]]:
    found = _REGIONS.get(country_code)
    if found is None:
        found = _REGIONS[country_code] = list(_region_rules(country_code))
    return found


def _region_rules(country_code: int) -> Iterator[tuple[Match | None, _Rules]]:
    regions = COUNTRY_CODE_TO_REGION_CODE[country_code]
    if len(regions) == 1:  # no choice to make: the region's rules whatever the number
        yield None, _rules(_metadata(country_code, regions[0]))
        return
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is not None:
            rules = _rules(metadata)
            yield rules.leading_digits, rules


def _metadata(country_code: int, region: str) -> PhoneMetadata:
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:  # pragma: no cover - every listed region has metadata
        raise LookupError(f"no metadata for {region} (+{country_code})")
    return metadata


_MAIN: dict[int, PhoneMetadata] = {}


def _main_metadata(country_code: int) -> PhoneMetadata:
    found = _MAIN.get(country_code)
    if found is None:
        region = phonenumbers.region_code_for_country_code(country_code)
        found = _MAIN[country_code] = _metadata(country_code, region)
    return found


Match = Callable[[str], object]
# A type's pattern, the lengths it allows (None: any the general pattern allows), its type.
_Check = tuple[str, frozenset[int] | None, int]
_BOTH = -1  # fixed line and mobile both match: FIXED_LINE_OR_MOBILE, unless typed "same"


class _Rules:
    """One region's metadata with its patterns compiled once: _number_type_helper's checks.

    For each length, the checks that length can pass are joined into one pattern, in the
    library's order: the general pattern as a lookahead (it must match too), then one
    alternative per type. Alternatives are tried in order and the first that matches the whole
    number wins, as the library's first matching check does.
    """

    def __init__(self, metadata: PhoneMetadata) -> None:
        # The same tests as phonenumbers: an IDD or leading digits given as "" match anything,
        # a national prefix given as "" is none.
        self.idd = _prefix(metadata.international_prefix)
        self.national_prefix = _prefix(metadata.national_prefix_for_parsing or None)
        self.leading_digits = _prefix(metadata.leading_digits)
        self._general = _check(metadata.general_desc, PhoneNumberType.UNKNOWN)
        descs = (
            (metadata.premium_rate, PhoneNumberType.PREMIUM_RATE),
            (metadata.toll_free, PhoneNumberType.TOLL_FREE),
            (metadata.shared_cost, PhoneNumberType.SHARED_COST),
            (metadata.voip, PhoneNumberType.VOIP),
            (metadata.personal_number, PhoneNumberType.PERSONAL_NUMBER),
            (metadata.pager, PhoneNumberType.PAGER),
            (metadata.uan, PhoneNumberType.UAN),
            (metadata.voicemail, PhoneNumberType.VOICEMAIL),
        )
        self._special = [c for c in (_check(d, k) for d, k in descs) if c is not None]
        self._fixed = _check(metadata.fixed_line, PhoneNumberType.FIXED_LINE)
        self._mobile = _check(metadata.mobile, PhoneNumberType.MOBILE)
        self._same = bool(metadata.same_mobile_and_fixed_line_pattern)
        self._by_length: dict[int, tuple[Callable[[str], re.Match[str] | None], list[int]]] = {}

    def kind(self, national: str) -> int:
        """_number_type_helper(national, metadata)."""
        found = self._by_length.get(len(national))
        if found is None:
            found = self._by_length[len(national)] = self._joined(len(national))
        fullmatch, kinds = found
        matched = fullmatch(national)
        if matched is None or matched.lastindex is None:
            return PhoneNumberType.UNKNOWN
        return kinds[matched.lastindex]

    def _joined(self, length: int) -> tuple[Callable[[str], re.Match[str] | None], list[int]]:
        """One pattern for the numbers of this length, and the type each group stands for."""
        alternatives: list[tuple[str, int]] = []
        for pattern, _, kind in (c for c in self._special if _fits(c, length)):
            alternatives.append((pattern, kind))
        fixed, mobile = _fits(self._fixed, length), _fits(self._mobile, length)
        if fixed and self._same:
            alternatives.append((fixed[0], PhoneNumberType.FIXED_LINE_OR_MOBILE))
        elif fixed:
            if mobile:  # both match: the mobile pattern as a lookahead
                both = rf"(?=(?:{mobile[0]})\Z)(?:{fixed[0]})"
                alternatives.append((both, PhoneNumberType.FIXED_LINE_OR_MOBILE))
            alternatives.append((fixed[0], PhoneNumberType.FIXED_LINE))
        if mobile and not self._same:
            alternatives.append((mobile[0], PhoneNumberType.MOBILE))
        general = _fits(self._general, length)
        if general is None or not alternatives:
            return _never, [PhoneNumberType.UNKNOWN]
        # Only our groups capture: the library's own groups are made non-capturing, so that a
        # group number is one of ours and lastindex names the alternative that matched.
        joined = "|".join(f"({_non_capturing(p)})" for p, _ in alternatives)
        pattern = rf"(?=(?:{general[0]})\Z)(?:{joined})"
        kinds = [PhoneNumberType.UNKNOWN, *(kind for _, kind in alternatives)]
        return re.compile(pattern).fullmatch, kinds


def _never(national: str) -> None:
    return None


def _fits(check: _Check | None, length: int) -> _Check | None:
    """The check when a number of this length may pass it (_is_number_matching_desc's first
    test), else None."""
    if check is None or (check[1] is not None and length not in check[1]):
        return None
    return check


def _check(desc: PhoneNumberDesc | None, kind: int) -> _Check | None:
    """A type's check; None for a type without a pattern (nothing matches it)."""
    if desc is None or not desc.national_number_pattern:
        return None
    return (desc.national_number_pattern, frozenset(desc.possible_length) or None, kind)


_CAPTURING = re.compile(r"\\.|\[(?:\\.|[^\]])*\]|\((?!\?)")


def _non_capturing(pattern: str) -> str:
    """The pattern with its groups made non-capturing (escapes and classes left alone)."""
    return _CAPTURING.sub(lambda m: "(?:" if m.group() == "(" else m.group(), pattern)


# Metadata objects are loaded once and kept by phonenumbers (and unhashable): their identity is
# the key. A few hundred regions at most.
_RULES: dict[int, _Rules] = {}


def _rules(metadata: PhoneMetadata) -> _Rules:
    rules = _RULES.get(id(metadata))
    if rules is None:
        rules = _RULES[id(metadata)] = _Rules(metadata)
    return rules


def _prefix(pattern: str | None) -> Match | None:
    """re.match of a pattern, as phonenumbers uses it for prefixes; None for no pattern."""
    return None if pattern is None else re.compile(pattern).match


def _leading_zeros(national: str) -> int | None:
    """number_of_leading_zeros as parse sets it: the zeros before the last digit, set only
    when more than one (None reads as one)."""
    zeros = min(len(national) - len(national.lstrip("0")), len(national) - 1)
    return zeros if zeros > 1 else None
