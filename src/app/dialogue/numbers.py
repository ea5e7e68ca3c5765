"""Numbers as respondents say them: "8", "otto", "ventotto", "twenty-one", "an eight",
"treinta y dos", "quatre-vingt-dix-neuf", "einundzwanzig". Up to 100 in words; beyond, as digits.

Number words are written here as people spell them and tokenised like what is heard, so a French
compound ("soixante-dix", "vingt et un") is a phrase of several words, matched longest first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.dialogue.survey import Language
from app.dialogue.text import Phrase, tokens

Number = int | float

_IT_UNITS = ("zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove")
_IT_TEENS = (
    "dieci", "undici", "dodici", "tredici", "quattordici",
    "quindici", "sedici", "diciassette", "diciotto", "diciannove",
)  # fmt: skip
_IT_TENS = (
    "venti",
    "trenta",
    "quaranta",
    "cinquanta",
    "sessanta",
    "settanta",
    "ottanta",
    "novanta",
)

_EN_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_EN_TEENS = (
    "ten", "eleven", "twelve", "thirteen", "fourteen",
    "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_EN_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

_ES_UNITS = ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve")
_ES_TEENS = (
    "diez", "once", "doce", "trece", "catorce",
    "quince", "dieciséis", "diecisiete", "dieciocho", "diecinueve",
)  # fmt: skip
_ES_TWENTIES = (
    "veinte", "veintiuno", "veintidós", "veintitrés", "veinticuatro",
    "veinticinco", "veintiséis", "veintisiete", "veintiocho", "veintinueve",
)  # fmt: skip
_ES_TENS = ("treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa")

_FR_UNITS = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf")
_FR_TEENS = (
    "dix", "onze", "douze", "treize", "quatorze",
    "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf",
)  # fmt: skip
_FR_TENS = ("vingt", "trente", "quarante", "cinquante", "soixante")
# Belgium and Switzerland count 70, 80 and 90 like the other tens; heard in France too.
_FR_REGIONAL_TENS = {7: ("septante",), 8: ("huitante", "octante"), 9: ("nonante",)}

_DE_UNITS = ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun")
_DE_TEENS = (
    "zehn", "elf", "zwölf", "dreizehn", "vierzehn",
    "fünfzehn", "sechzehn", "siebzehn", "achtzehn", "neunzehn",
)  # fmt: skip
_DE_TENS = ("zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig")

_THOUSANDS = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
_DECIMAL = re.compile(r"\d+[.,]\d+")
# Punctuation the recogniser puts between clauses ("Un, je pense."); "7,5" and "1.000" stay whole.
_CLAUSE_END = re.compile(r"[,;:.!?]+(?=\s|$)")


def _italian() -> dict[Phrase, int]:
    words: dict[Phrase, int] = {(w,): n for n, w in enumerate(_IT_UNITS + _IT_TEENS)}
    for tens_digit, tens in enumerate(_IT_TENS, start=2):
        words[(tens,)] = tens_digit * 10
        for unit in range(1, 10):
            value = tens_digit * 10 + unit
            words[(tens + _IT_UNITS[unit],)] = value
            if unit in (1, 8):
                # Before "uno" and "otto" the final vowel drops: "ventuno", "trentotto".
                words[(tens[:-1] + _IT_UNITS[unit],)] = value
    words[("cento",)] = 100
    return words


def _english() -> dict[Phrase, int]:
    words: dict[Phrase, int] = {(w,): n for n, w in enumerate(_EN_UNITS + _EN_TEENS)}
    for tens_digit, tens in enumerate(_EN_TENS, start=2):
        words[(tens,)] = tens_digit * 10
        for unit in range(1, 10):
            # "twenty-one" arrives as two words once the hyphen is dropped.
            words[(tens, _EN_UNITS[unit])] = tens_digit * 10 + unit
    for hundred in (("hundred",), ("a", "hundred"), ("one", "hundred")):
        words[hundred] = 100
    return words


def _spelled(spellings: dict[str, int]) -> dict[Phrase, int]:
    return {tokens(spelling): value for spelling, value in spellings.items()}


def _spanish() -> dict[Phrase, int]:
    said = {w: n for n, w in enumerate(_ES_UNITS + _ES_TEENS + _ES_TWENTIES)}
    # Before a noun "uno" shortens and agrees: "veintiún años", "treinta y una veces".
    said |= {"veintiún": 21, "veintiuna": 21}
    for tens_digit, tens in enumerate(_ES_TENS, start=3):
        said[tens] = tens_digit * 10
        for unit in range(1, 10):
            said[f"{tens} y {_ES_UNITS[unit]}"] = tens_digit * 10 + unit
        said |= {f"{tens} y un": tens_digit * 10 + 1, f"{tens} y una": tens_digit * 10 + 1}
    said["cien"] = 100  # "una" alone is also the article: see _ARTICLES
    return _spelled(said)


def _french() -> dict[Phrase, int]:
    said = {w: n for n, w in enumerate(_FR_UNITS + _FR_TEENS) if w != "un"}  # "un": _ARTICLES
    for tens_digit, tens in enumerate(_FR_TENS, start=2):
        said |= _french_tens(tens, tens_digit * 10)
    # 70 is "sixty-ten", 80 "four-twenties", 90 "four-twenty-ten": no "et" from 80 on.
    said |= {f"soixante-{_FR_TEENS[n]}": 70 + n for n in range(10)}
    said |= {"soixante et onze": 71, "quatre-vingts": 80, "quatre-vingt": 80}
    said |= {f"quatre-vingt-{w}": 80 + n for n, w in enumerate(_FR_UNITS) if n}
    said |= {"quatre-vingt-une": 81}
    said |= {f"quatre-vingt-{_FR_TEENS[n]}": 90 + n for n in range(10)}
    for tens_digit, regional in _FR_REGIONAL_TENS.items():
        for tens in regional:
            said |= _french_tens(tens, tens_digit * 10)
    said["cent"] = 100
    return _spelled(said)


def _french_tens(tens: str, value: int) -> dict[str, int]:
    said = {tens: value, f"{tens} et un": value + 1, f"{tens} et une": value + 1}
    return said | {f"{tens}-{_FR_UNITS[unit]}": value + unit for unit in range(2, 10)}


def _german() -> dict[Phrase, int]:
    # "Zwo" is "zwei" as said on the phone, so that it is not taken for "drei".
    said = {w: n for n, w in enumerate(_DE_UNITS + _DE_TEENS)} | {"zwo": 2}
    # In a compound the unit comes first, "eins" losing its "s": "einundzwanzig", "zwoundvierzig".
    compound_units = {1: ("ein",), 2: ("zwei", "zwo")}
    for tens_digit, tens in enumerate(_DE_TENS, start=2):
        said[tens] = tens_digit * 10
        for unit in range(1, 10):
            for word in compound_units.get(unit, (_DE_UNITS[unit],)):
                said[f"{word}und{tens}"] = tens_digit * 10 + unit
    said |= {"hundert": 100, "einhundert": 100, "ein hundert": 100}
    return _spelled(said)


@dataclass(frozen=True)
class _Article:
    """A word for "one" that is also the indefinite article: a number only where no article
    can be, so that "c'est un bon service" is not a 1 and "un, je pense" is."""

    words: frozenset[str]
    after: frozenset[str]  # "numéro un", "de un à dix" (the article would be "d'un")
    before: frozenset[str]  # "une fois", "un sur dix", "una vez"


_ARTICLES = {
    # Spanish says "uno" for the number alone: only "una" is both ("¿Cuántas veces?" "Una.").
    Language.ES: _Article(
        frozenset(tokens("una")),
        frozenset(tokens("número opción")),
        frozenset(tokens("vez sobre o a sola")),
    ),
    Language.FR: _Article(
        frozenset(tokens("un une")),
        frozenset(tokens("numéro option choix le de")),
        frozenset(tokens("fois sur ou à seul seule")),
    ),
}

_WORDS = {
    Language.IT: _italian(),
    Language.EN: _english(),
    Language.ES: _spanish(),
    Language.FR: _french(),
    Language.DE: _german(),
}
_LONGEST = max(len(key) for table in _WORDS.values() for key in table)


def numeral(token: str) -> Number:
    """Read a numeric token: "8" -> 8, "7,5" -> 7.5, "1.000" -> 1000."""
    if _THOUSANDS.fullmatch(token):
        return int(re.sub(r"[.,]", "", token))
    if _DECIMAL.fullmatch(token):
        return float(token.replace(",", "."))
    # Anything stranger ("1.2.3") is read up to its first separator.
    return int(re.split(r"[.,]", token)[0])


def find_numbers(text: str, language: Language) -> list[Number]:
    """Return every number in `text`, as digits or words, in order."""
    found: list[Number] = []
    for clause in _CLAUSE_END.split(text):
        words = tokens(clause)
        index = 0
        while index < len(words):
            value, size = _number_at(words, index, language)
            if value is not None:
                found.append(value)
            index += size
    return found


def _number_at(words: Phrase, index: int, language: Language) -> tuple[Number | None, int]:
    """The number that starts at `words[index]` (None if none), and how many words it spans."""
    if words[index][0].isdigit():
        return numeral(words[index]), 1
    table = _WORDS[language]
    size = next((n for n in range(_LONGEST, 0, -1) if words[index : index + n] in table), 0)
    if size:
        return table[words[index : index + size]], size
    article = _ARTICLES.get(language)
    if article is not None and words[index] in article.words:
        before, after = words[index - 1 : index], words[index + 1 : index + 2]
        if not after or after[0] in article.before or (before and before[0] in article.after):
            return 1, 1
    return None, 1


def parse_number(text: str, language: Language) -> Number | None:
    """Return the first number in `text` ("otto su dieci" -> 8), or None."""
    found = find_numbers(text, language)
    return found[0] if found else None
