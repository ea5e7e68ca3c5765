"""Text normalisation and numbers said as digits or words, in Italian and English."""

from __future__ import annotations

import pytest

from app.dialogue.numbers import Number, find_numbers, numeral, parse_number
from app.dialogue.survey import Language
from app.dialogue.text import contains, normalise, tokens

IT, EN = Language.IT, Language.EN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sì", "si"),
        ("  SÌ!!  ", "si"),
        ("Più tardi, grazie.", "piu tardi grazie"),
        ("d'accordo", "d accordo"),
        ("Don't call me again!", "don t call me again"),
        ("perché no?", "perche no"),
        ("Ventitré", "ventitre"),
        ("otto/10", "otto 10"),
        ("7,5 punti", "7,5 punti"),
        ("", ""),
        ("...", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_contains_needs_consecutive_words() -> None:
    words = tokens("non voglio essere richiamato")

    assert contains(words, ("essere", "richiamato"))
    assert not contains(words, ("non", "essere"))
    assert not contains(words, ("richiamato", "ancora"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8", 8),
        ("10", 10),
        ("zero", 0),
        ("uno", 1),
        ("otto", 8),
        ("dieci", 10),
        ("undici", 11),
        ("dodici", 12),
        ("diciassette", 17),
        ("diciannove", 19),
        ("venti", 20),
        ("ventuno", 21),
        ("ventidue", 22),
        ("ventitré", 23),
        ("ventitre", 23),
        ("ventotto", 28),
        ("trenta", 30),
        ("trentuno", 31),
        ("trentotto", 38),
        ("quarantacinque", 45),
        ("sessantasei", 66),
        ("novantanove", 99),
        ("cento", 100),
        ("otto su dieci", 8),
        ("direi un sette", 7),
        ("Un otto.", 8),
        ("mah, forse 6", 6),
        ("7,5", 7.5),
        ("1.000", 1000),
        ("il 5%", 5),
    ],
)
def test_italian_numbers(text: str, expected: Number) -> None:
    assert parse_number(text, IT) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8", 8),
        ("zero", 0),
        ("one", 1),
        ("seven", 7),
        ("ten", 10),
        ("thirteen", 13),
        ("nineteen", 19),
        ("twenty", 20),
        ("twenty one", 21),
        ("twenty-one", 21),
        ("thirty-one", 31),
        ("forty five", 45),
        ("ninety-nine", 99),
        ("one hundred", 100),
        ("a hundred", 100),
        ("an eight", 8),
        ("I'd say 7", 7),
        ("eight out of ten", 8),
        ("Nine.", 9),
        ("7.5", 7.5),
        ("2,500", 2500),
    ],
)
def test_english_numbers(text: str, expected: Number) -> None:
    assert parse_number(text, EN) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("blu", IT),
        ("un", IT),  # an article, not "one"
        ("non saprei", IT),
        ("blue", EN),
        ("a lot", EN),
        ("", EN),
    ],
)
def test_no_number(text: str, language: Language) -> None:
    assert parse_number(text, language) is None


def test_words_of_the_other_language_are_not_numbers() -> None:
    assert parse_number("eight", IT) is None
    assert parse_number("otto", EN) is None


def test_find_numbers_keeps_order() -> None:
    assert find_numbers("da 1 a dieci", IT) == [1, 10]
    assert find_numbers("between seven and twenty two", EN) == [7, 22]


@pytest.mark.parametrize(
    ("token", "expected"),
    [("42", 42), ("3,5", 3.5), ("3.5", 3.5), ("10.000", 10000), ("1,000,000", 1000000)],
)
def test_numeral(token: str, expected: Number) -> None:
    assert numeral(token) == expected
