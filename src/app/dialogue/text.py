"""Normalise what the recogniser heard so that "Sì!" and "si" compare equal."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

# A number keeps its decimal or thousands separator ("7,5", "1.000"); apostrophes, hyphens and all
# other punctuation split words, so "d'accordo" reads as "d accordo", "l'ultime" as "l ultime"
# and "quatre-vingt-dix" as "quatre vingt dix" (the number tables list such compounds as words).
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+")
# Ligatures have no Unicode decomposition, and "sœur" must not read as "s ur". "ß" needs no entry:
# casefold() already turns it into "ss", so "dreißig" and the Swiss "dreissig" agree.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})

Phrase = tuple[str, ...]


def fold(text: str) -> str:
    """Lowercase `text` and strip its accents and umlauts: "Fünf" -> "funf", "Sœur" -> "soeur"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def tokens(text: str) -> Phrase:
    """Split `text` into folded words and numbers, dropping punctuation."""
    return tuple(_TOKEN.findall(fold(text)))


def normalise(text: str) -> str:
    """Return `text` lowercased, without accents or punctuation, single-spaced."""
    return " ".join(tokens(text))


def phrases(*texts: str) -> tuple[Phrase, ...]:
    """Tokenise a list of phrases, longest first so the longest match wins."""
    return tuple(sorted((tokens(t) for t in texts), key=len, reverse=True))


def contains(words: Sequence[str], phrase: Phrase) -> bool:
    """Tell whether `phrase` occurs in `words` as consecutive words."""
    size = len(phrase)
    return any(tuple(words[i : i + size]) == phrase for i in range(len(words) - size + 1))


def contains_any(words: Sequence[str], candidates: Iterable[Phrase]) -> bool:
    """Tell whether any of `candidates` occurs in `words`."""
    return any(contains(words, phrase) for phrase in candidates)
