"""Every whole number from 0 to 100, written as a speaker of each language writes it, reads back.

The spellers below follow each language's own rules, independently of the tables in
`app.dialogue.numbers`, so that a gap in a table shows up as a number that does not read back.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.dialogue.numbers import find_numbers, parse_number
from app.dialogue.survey import Language

_ES_UNITS = ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve")
_ES_10_29 = (
    "diez", "once", "doce", "trece", "catorce", "quince", "dieciséis", "diecisiete", "dieciocho",
    "diecinueve", "veinte", "veintiuno", "veintidós", "veintitrés", "veinticuatro", "veinticinco",
    "veintiséis", "veintisiete", "veintiocho", "veintinueve",
)  # fmt: skip
_ES_TENS = (
    "", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa",
)  # fmt: skip

_FR_UNITS = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf")
_FR_TEENS = (
    "dix", "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit",
    "dix-neuf",
)  # fmt: skip
_FR_TENS = (
    "", "", "vingt", "trente", "quarante", "cinquante", "soixante", "soixante", "quatre-vingt",
    "quatre-vingt",
)  # fmt: skip

_DE_UNITS = ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun")
_DE_TEENS = (
    "zehn", "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn",
    "achtzehn", "neunzehn",
)  # fmt: skip
_DE_TENS = (
    "", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig",
)  # fmt: skip


def spanish(n: int) -> str:
    if n < 10:
        return _ES_UNITS[n]
    if n < 30:
        return _ES_10_29[n - 10]
    if n == 100:
        return "cien"
    tens, unit = divmod(n, 10)
    return _ES_TENS[tens] if unit == 0 else f"{_ES_TENS[tens]} y {_ES_UNITS[unit]}"


def french(n: int) -> str:
    if n < 10:
        return _FR_UNITS[n]
    if n < 20:
        return _FR_TEENS[n - 10]
    if n == 80:
        return "quatre-vingts"
    if n == 100:
        return "cent"
    tens, unit = divmod(n, 10)
    # 70-79 and 90-99 count on from sixty and eighty with 10-19.
    rest = _FR_TEENS[unit] if tens in (7, 9) else _FR_UNITS[unit]
    if unit == 0 and tens not in (7, 9):
        return _FR_TENS[tens]
    joiner = " et " if unit == 1 and tens < 8 else "-"
    return f"{_FR_TENS[tens]}{joiner}{rest}"


def german(n: int) -> str:
    if n < 10:
        return _DE_UNITS[n]
    if n < 20:
        return _DE_TEENS[n - 10]
    if n == 100:
        return "hundert"
    tens, unit = divmod(n, 10)
    if unit == 0:
        return _DE_TENS[tens]
    return f"{'ein' if unit == 1 else _DE_UNITS[unit]}und{_DE_TENS[tens]}"


SPELLERS: dict[Language, Callable[[int], str]] = {
    Language.ES: spanish,
    Language.FR: french,
    Language.DE: german,
}


@pytest.mark.parametrize(
    ("language", "n", "spelled"),
    [
        (Language.ES, 21, "veintiuno"),
        (Language.ES, 32, "treinta y dos"),
        (Language.FR, 21, "vingt et un"),
        (Language.FR, 71, "soixante et onze"),
        (Language.FR, 81, "quatre-vingt-un"),
        (Language.FR, 99, "quatre-vingt-dix-neuf"),
        (Language.DE, 21, "einundzwanzig"),
        (Language.DE, 32, "zweiunddreißig"),
    ],
)
def test_the_spellers_spell_as_people_do(language: Language, n: int, spelled: str) -> None:
    assert SPELLERS[language](n) == spelled


@pytest.mark.parametrize("n", range(101))
@pytest.mark.parametrize("language", list(SPELLERS))
def test_every_number_in_words_reads_back(language: Language, n: int) -> None:
    spelled = SPELLERS[language](n)

    assert parse_number(spelled, language) == n
    assert parse_number(spelled.capitalize() + ".", language) == n
    assert find_numbers(f"{spelled}, {spelled}", language) == [n, n]
