"""The short way of reading a number gives phonenumbers' answers, for every input.

Held against phonenumbers.parse, is_valid_number, number_type, format_number(E164) and
time_zones_for_number: for each region's example numbers in every written form, those numbers
changed a digit at a time, and random digit strings of many countries, lengths and separators.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata, PhoneNumberFormat, PhoneNumberType
from phonenumbers import timezone as number_zones
from phonenumbers.phonenumberutil import _number_type_helper

from app.campaigns.contacts import Normaliser
from app.campaigns.phones import _quick, _rules, read_number

# Regions a campaign's numbers are read with: one country code shared by several regions (IT
# with VA, US with CA and the Caribbean, GB with the Channel Islands, RU with KZ), national
# prefixes of every kind (none, "0", "1", "8"), mobile numbers with zones of their own (BR, MX),
# and "EN", what an English campaign without a caller id falls back to: not a region at all.
REGIONS = ("IT", "VA", "US", "CA", "GB", "JE", "DE", "FR", "ES", "BR", "MX", "AR", "RU", "KZ",
           "IN", "CN", "AU", "JP", "CH", "AT", "NL", "BE", "EN")  # fmt: skip
COUNTRY_CODES = (39, 1, 44, 49, 33, 34, 55, 52, 54, 7, 91, 86, 61, 81, 41, 43, 31, 32, 353,
                 420, 800, 808, 870, 878, 881, 882, 883, 888, 979, 999, 0)  # fmt: skip
KINDS = tuple(v for k, v in vars(PhoneNumberType).items() if k.isupper() and v >= 0)


def reference(text: str, region: str) -> tuple[object, ...]:
    """What phonenumbers says of `text`: unparseable, invalid, or its E.164 form, type and
    zones."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ("not a number",)
    kind = phonenumbers.number_type(number)
    national = phonenumbers.national_significant_number(number)
    if not phonenumbers.is_valid_number(number):
        assert kind == PhoneNumberType.UNKNOWN
        return ("invalid", number.country_code, national)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    zones = tuple(number_zones.time_zones_for_number(number))
    return ("valid", e164, kind, national, zones)


def fast(text: str, region: str) -> tuple[object, ...]:
    """The same, the short way: read_number, and the zones the contact import looks up."""
    try:
        number = read_number(text, region)
    except phonenumbers.NumberParseException:
        return ("not a number",)
    if number.kind == PhoneNumberType.UNKNOWN:
        return ("invalid", number.country_code, number.national)
    zones = tuple(number_zones.time_zones_for_number(number.phone_number()))
    return ("valid", number.e164, number.kind, number.national, zones)


def same(text: str, region: str) -> None:
    assert fast(text, region) == reference(text, region), (text, region)


def normalised_same(text: str, region: str) -> None:
    """What the import stores (E.164, zone, candidate zones) is what phonenumbers gives."""
    normaliser = Normaliser(region=region, default_zone="Europe/Rome")
    got = normaliser._look_up(text)  # the lookup the import makes, uncached
    want = reference(text, region)
    if want[0] != "valid":
        assert got.error is not None, (text, region)
        return
    assert got.error is None and got.e164 == want[1], (text, region)
    number = phonenumbers.parse(text, region)
    known = set(number_zones.time_zones_for_number(number))
    assert set(got.candidates or (got.zone,)) <= known | {"Europe/Rome"}, (text, region)


def written_forms(number: phonenumbers.PhoneNumber) -> Iterator[str]:
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    yield e164
    yield phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    yield phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    yield phonenumbers.national_significant_number(number)
    yield e164[1:]  # the country code without "+"
    yield "00" + e164[1:]
    yield e164.replace("+", "+0")


def example_numbers() -> Iterator[phonenumbers.PhoneNumber]:
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in KINDS:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                yield number
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            yield number


def mutations(text: str, rng: random.Random) -> Iterator[str]:
    """The number with a digit changed, one added, one removed."""
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    if digits:
        at = rng.choice(digits)
        yield text[:at] + str(rng.randrange(10)) + text[at + 1 :]
        yield text[:at] + str(rng.randrange(10)) + text[at:]
        yield text[:at] + text[at + 1 :]


@pytest.mark.parametrize("region", ["IT", "US", "GB", "BR", "RU", "EN"])
def test_every_example_number_in_every_written_form(region: str) -> None:
    rng = random.Random(region)
    quick = 0
    for number in example_numbers():
        for text in written_forms(number):
            same(text, region)
            quick += _quick(text, region) is not None
            for changed in mutations(text, rng):
                same(changed, region)
    assert quick > 2500  # many forms take the short way: it is what is being held to account


@pytest.mark.parametrize(
    "text",
    [
        "", "+", "++39 347 1234567", "+0", "+00", "+0039 347 1234567", "0039 347 1234567",
        "39 347 1234567", "393471234567", "+39 3471234567 ", " +393471234567", "3", "34",
        "3 4", "347", "3-4", "+1", "+12", "+123", "+1 2", "+39-347-123-4567", "+39  347",
        "+39 347 1234567 8", "+3934712345678901234", "+39" + "1" * 20, "9" * 251, "0" * 5,
        "00", "000", "+39 000 000", "+39 0000000", "+39 06 698 12345", "06 6981 2345",
        "+44 07911 123456", "07911 123456", "+1 1 212 555 0100", "1 212 555 0100",
        "+7 8 495 123 4567", "8 495 123 4567", "+800 1234 5678", "+979 1 2345 6789",
        "+39 347 123 4567 ext 12", "+39 (347) 1234567", "+39.347.1234567", "+39 347/1234567",
        "tel:+39-347-1234567", "+39 347 1234567#", "+39 347 CALL ME",
        "+39 \uff13\uff14\uff17 1234567",
    ],
)  # fmt: skip
@pytest.mark.parametrize("region", REGIONS)
def test_edge_cases(text: str, region: str) -> None:
    same(text, region)
    normalised_same(text, region)


digit_groups = st.lists(st.text("0123456789", min_size=1, max_size=6), min_size=1, max_size=6)


@st.composite
def written_numbers(draw: st.DrawFn) -> str:
    """Digits in groups, with a country code or not, a "+" or not, separators or not."""
    code = draw(st.sampled_from(COUNTRY_CODES))
    groups = draw(digit_groups)
    separator = draw(st.sampled_from(["", " ", "-", "  ", ".", " - "]))
    body = separator.join(groups)
    start = draw(st.sampled_from(["+{code} ", "+{code}", "{code}", "", "0", "00{code}", "+"]))
    return start.format(code=code) + body


@settings(max_examples=3000, deadline=None)
@given(text=written_numbers(), region=st.sampled_from(REGIONS))
def test_random_numbers(text: str, region: str) -> None:
    same(text, region)


@settings(max_examples=1000, deadline=None)
@given(text=written_numbers(), region=st.sampled_from(REGIONS))
def test_what_the_import_stores_is_phonenumbers_answer(text: str, region: str) -> None:
    normalised_same(text, region)


@settings(max_examples=1500, deadline=None)
@given(text=st.text("0123456789 +-", max_size=22), region=st.sampled_from(REGIONS))
def test_any_string_of_digits_and_separators(text: str, region: str) -> None:
    same(text, region)


def all_metadata() -> Iterator[PhoneMetadata]:
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        yield PhoneMetadata.metadata_for_region(region)
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        yield PhoneMetadata.metadata_for_nongeo_region(code)


def test_every_regions_type_check_is_the_librarys() -> None:
    """The joined per-length patterns type each number as _number_type_helper does, for every
    region: its example numbers, and random digits of every length up to 17 with each example's
    first digits (where the types differ)."""
    rng = random.Random(7)
    checked = 0
    for metadata in all_metadata():
        rules = _rules(metadata)
        examples = [
            desc.example_number
            for desc in (
                metadata.general_desc,
                metadata.fixed_line,
                metadata.mobile,
                metadata.toll_free,
                metadata.premium_rate,
                metadata.shared_cost,
                metadata.personal_number,
                metadata.voip,
                metadata.pager,
                metadata.uan,
                metadata.voicemail,
            )
            if desc is not None and desc.example_number
        ]
        for example in examples:
            numbers = [example]
            for length in range(2, 18):
                for keep in (1, 2, 3, 4):
                    tail = "".join(rng.choice("0123456789") for _ in range(length))
                    numbers.append((example[:keep] + tail)[:length])
            for number in numbers:
                assert rules.kind(number) == _number_type_helper(number, metadata), number
                checked += 1
    assert checked > 50_000
