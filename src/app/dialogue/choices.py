"""Match a spoken reply to one of a question's choices, tolerantly.

By content first (exact, accent-free, singular/plural, small misrecognitions), then by position
("la seconda", "the first one", "number two", "3"). An ambiguous reply matches nothing: asking
again beats recording the wrong choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher

from app.dialogue.lexicon import LEXICONS, Lexicon
from app.dialogue.numbers import parse_number
from app.dialogue.survey import Language
from app.dialogue.text import Phrase, contains, tokens

SIMILAR = 0.8  # difflib ratio from which two words count as the same word misheard

Score = tuple[int, float]


def match_choice(text: str, choices: Sequence[str], language: Language) -> str | None:
    """Return the choice `text` names, or None if it names none or several."""
    words = tokens(text)
    if not words:
        return None
    lexicon = LEXICONS[language]
    found = _by_content(words, choices, lexicon)
    if found is not None:
        return found
    position = _by_position(words, len(choices), lexicon, text, language)
    return None if position is None else choices[position]


def stem(word: str) -> str:
    """Strip a plural "s" and final vowels: "negozi"/"negozio" and "emails"/"email" agree."""
    if len(word) > 3 and word.endswith("s"):
        word = word[:-1]
    trimmed = word.rstrip("aeiou")
    return trimmed if len(trimmed) >= 3 else word


def similarity(expected: str, heard: str) -> float:
    """Score how well `heard` stands for `expected`, from 0 to 1."""
    return _similarity(expected, heard, ())


def _similarity(expected: str, heard: str, inflections: tuple[str, ...]) -> float:
    if expected == heard:
        return 1.0
    if _stems(expected, inflections) & _stems(heard, inflections):
        return 0.95
    return SequenceMatcher(None, expected, heard).ratio()


def _stems(word: str, inflections: tuple[str, ...]) -> set[str]:
    # Every reading is kept, not only the longest ending: "Telefon" must not lose its "n" alone
    # while "Telefone" keeps it.
    bases = (word[: -len(end)] for end in inflections if word.endswith(end))
    return {stem(word), *(stem(base) for base in bases if len(base) >= 3)}


def _by_content(words: Phrase, choices: Sequence[str], lexicon: Lexicon) -> str | None:
    scored = [(_score(words, choice, lexicon), choice) for choice in choices]
    matched = sorted(((s, c) for s, c in scored if s is not None), reverse=True)
    if not matched or (len(matched) > 1 and matched[0][0] == matched[1][0]):
        return None
    return matched[0][1]


def _score(words: Phrase, choice: str, lexicon: Lexicon) -> Score | None:
    """Score a choice whose every meaningful word was heard; more words matched scores higher."""
    wanted = tuple(w for w in tokens(choice) if w not in lexicon.stopwords) or tokens(choice)
    best = [max(_similarity(w, heard, lexicon.inflections) for heard in words) for w in wanted]
    if min(best) >= SIMILAR:
        return len(wanted), round(sum(best) / len(best), 3)
    # "e-mail" is heard as "e mail": compare the words run together too.
    joined = SequenceMatcher(None, "".join(wanted), "".join(words)).ratio()
    return (len(wanted), round(joined, 3)) if joined >= SIMILAR else None


def _by_position(
    words: Phrase, count: int, lexicon: Lexicon, text: str, language: Language
) -> int | None:
    if not any(contains(words, phrase) for phrase in lexicon.not_ordinal):
        for word in words:
            if word in lexicon.ordinals:
                position = lexicon.ordinals[word]
                return count - 1 if position == -1 else _index(position, count)
    number = parse_number(text, language)
    return _index(number, count) if isinstance(number, int) else None


def _index(position: int, count: int) -> int | None:
    return position - 1 if 1 <= position <= count else None
