"""Text normalisation and numbers said as digits or words, in every supported language."""

from __future__ import annotations

import pytest

from app.dialogue.numbers import Number, find_numbers, numeral, parse_number
from app.dialogue.survey import Language
from app.dialogue.text import contains, normalise, tokens

IT, EN, ES, FR, DE = Language.IT, Language.EN, Language.ES, Language.FR, Language.DE


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
        ("¿Cómo? ¡Sí!", "como si"),
        ("Dieciséis años", "dieciseis anos"),
        ("l'ultime", "l ultime"),
        ("L\u2019avant-dernière", "l avant derniere"),  # a typographic apostrophe
        ("quatre-vingt-dix-neuf", "quatre vingt dix neuf"),
        ("Ma sœur, ÇA", "ma soeur ca"),
        ("Zweiunddreißig", "zweiunddreissig"),
        ("STRASSE Straße", "strasse strasse"),
        ("Fünf Größen", "funf grossen"),
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
    ("text", "expected"),
    [
        ("cero", 0),
        ("uno", 1),
        ("Una.", 1),
        ("una vez", 1),
        ("quince", 15),
        ("dieciséis", 16),
        ("dieciseis", 16),
        ("veinte", 20),
        ("veintiuno", 21),
        ("veintiún", 21),
        ("veintiuna", 21),
        ("veintidós", 22),
        ("veintitrés", 23),
        ("treinta", 30),
        ("treinta y uno", 31),
        ("treinta y una", 31),
        ("treinta y dos", 32),
        ("cuarenta y cinco", 45),
        ("setenta y siete", 77),
        ("noventa y nueve", 99),
        ("cien", 100),
        ("un ocho", 8),  # the article, then the number
        ("le daría un siete", 7),
        ("ocho sobre diez", 8),
        ("del uno al diez", 1),
        ("7,5", 7.5),
        ("1.000", 1000),
    ],
)
def test_spanish_numbers(text: str, expected: Number) -> None:
    assert parse_number(text, ES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zéro", 0),
        ("un", 1),
        ("Un.", 1),
        ("une", 1),
        ("Un, je pense.", 1),
        ("une fois", 1),
        ("un sur dix", 1),
        ("numéro un s'il vous plaît", 1),
        ("dix-sept", 17),
        ("dix sept", 17),
        ("vingt", 20),
        ("vingt et un", 21),
        ("vingt-et-un", 21),  # the 1990 spelling hyphenates everything
        ("vingt et une", 21),
        ("vingt-deux", 22),
        ("soixante", 60),
        ("soixante-dix", 70),
        ("soixante et onze", 71),
        ("soixante-douze", 72),
        ("soixante-dix-neuf", 79),
        ("quatre-vingts", 80),
        ("quatre-vingt", 80),
        ("quatre-vingt-un", 81),
        ("quatre-vingt-dix", 90),
        ("quatre-vingt-onze", 91),
        ("quatre-vingt-dix-neuf", 99),
        ("Quatre-vingt-dix-neuf.", 99),
        ("septante-cinq", 75),  # Belgium, Switzerland
        ("huitante", 80),
        ("nonante et un", 91),
        ("cent", 100),
        ("je dirais un huit", 8),  # the article, then the number
        ("huit sur dix", 8),
        ("7,5", 7.5),
        ("1.000", 1000),
    ],
)
def test_french_numbers(text: str, expected: Number) -> None:
    assert parse_number(text, FR) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("null", 0),
        ("eins", 1),
        ("eine Eins", 1),
        ("zwei", 2),
        ("zwo", 2),  # as "zwei" is said on the phone
        ("elf", 11),
        ("zwölf", 12),
        ("sechzehn", 16),
        ("siebzehn", 17),
        ("zwanzig", 20),
        ("einundzwanzig", 21),
        ("Einundzwanzig.", 21),
        ("zweiundzwanzig", 22),
        ("zwoundzwanzig", 22),
        ("dreißig", 30),
        ("dreissig", 30),
        ("zweiunddreißig", 32),
        ("siebenundsiebzig", 77),
        ("neunundneunzig", 99),
        ("hundert", 100),
        ("einhundert", 100),
        ("ein hundert", 100),
        ("ich würde eine Acht geben", 8),
        ("acht von zehn", 8),
        ("7,5", 7.5),
        ("1.000", 1000),
    ],
)
def test_german_numbers(text: str, expected: Number) -> None:
    assert parse_number(text, DE) == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("blu", IT),
        ("un", IT),  # an article, not "one"
        ("non saprei", IT),
        ("blue", EN),
        ("a lot", EN),
        ("", EN),
        ("un", ES),  # an article: "one" is "uno"
        ("una nota alta", ES),
        ("ni idea", ES),
        ("c'est un bon service", FR),
        ("une bonne note", FR),
        ("bleu", FR),
        ("ein", DE),  # an article; "one" is "eins"
        ("ein guter Service", DE),
        ("eine Menge", DE),
    ],
)
def test_no_number(text: str, language: Language) -> None:
    assert parse_number(text, language) is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("eight", IT),
        ("otto", EN),
        ("ocho", FR),
        ("huit", DE),
        ("acht", ES),
        ("veintiuno", IT),
        ("einundzwanzig", EN),
        ("vingt et un", ES),
    ],
)
def test_words_of_another_language_are_not_numbers(text: str, language: Language) -> None:
    assert parse_number(text, language) is None


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("da 1 a dieci", IT, [1, 10]),
        ("between seven and twenty two", EN, [7, 22]),
        ("del uno al diez", ES, [1, 10]),
        ("entre dos y veinte", ES, [2, 20]),
        ("Sur une échelle de un à dix", FR, [1, 10]),
        ("entre six et soixante-dix", FR, [6, 70]),
        ("von eins bis zehn", DE, [1, 10]),
        ("zwischen 2 und zwanzig", DE, [2, 20]),
        ("Répondez par un nombre, au moins 18.", FR, [18]),
        ("Responda con un número, como mínimo 18.", ES, [18]),
    ],
)
def test_find_numbers_keeps_order(text: str, language: Language, expected: list[Number]) -> None:
    assert find_numbers(text, language) == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [("42", 42), ("3,5", 3.5), ("3.5", 3.5), ("10.000", 10000), ("1,000,000", 1000000)],
)
def test_numeral(token: str, expected: Number) -> None:
    assert numeral(token) == expected
