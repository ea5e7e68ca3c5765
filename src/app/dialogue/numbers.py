"""Numbers as respondents say them: "8", "otto", "ventotto", "twenty-one", "an eight"."""

from __future__ import annotations

import re

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

_THOUSANDS = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
_DECIMAL = re.compile(r"\d+[.,]\d+")


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


_WORDS = {Language.IT: _italian(), Language.EN: _english()}
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
    words, table = tokens(text), _WORDS[language]
    found: list[Number] = []
    index = 0
    while index < len(words):
        if words[index][0].isdigit():
            found.append(numeral(words[index]))
            index += 1
            continue
        size = next((n for n in range(_LONGEST, 0, -1) if words[index : index + n] in table), 0)
        if size:
            found.append(table[words[index : index + size]])
        index += max(size, 1)
    return found


def parse_number(text: str, language: Language) -> Number | None:
    """Return the first number in `text` ("otto su dieci" -> 8), or None."""
    found = find_numbers(text, language)
    return found[0] if found else None
