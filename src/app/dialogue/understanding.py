"""Turn what was heard or pressed into a reply the engine can act on; pure functions.

The order of reading is fixed: "don't call me again" wins over everything, then "repeat", then
"skip", then the answer itself. Free text is the exception that proves the rule: there "repeat",
"skip" and "call me later" count only as the whole reply, so "la linea salta spesso" and "open
later on Sundays" stay answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.dialogue.actions import AnswerValue
from app.dialogue.choices import match_choice
from app.dialogue.lexicon import LEXICONS, Lexicon
from app.dialogue.numbers import Number, find_numbers, parse_number
from app.dialogue.phrases import PHRASES
from app.dialogue.survey import Language, Question, QuestionType
from app.dialogue.text import Phrase, contains_any, tokens
from app.dialogue.when import CallbackAsk, read_callback

YES_KEY, NO_KEY, REPEAT_KEY, SKIP_KEY = "1", "2", "*", "#"


class Intent(StrEnum):
    ANSWER = "answer"
    REPEAT = "repeat"
    SKIP = "skip"
    OPT_OUT = "opt_out"
    CALLBACK = "callback"  # "not now, call me tomorrow at six"
    NO_INPUT = "no_input"
    INVALID = "invalid"


@dataclass(frozen=True)
class Reply:
    """A reply read against the current prompt; `value` is set only for ANSWER."""

    intent: Intent
    value: AnswerValue | None = None
    raw: str = ""
    confidence: float | None = None
    ambiguous: bool = False  # the words allow more than one answer: worth saying back
    callback: CallbackAsk | None = None  # set only for CALLBACK: when to call back


def detect_intent(text: str, language: Language, *, strict: bool = False) -> Intent | None:
    """Return OPT_OUT, REPEAT or SKIP if `text` asks for one; `strict` wants the whole reply."""
    lexicon = LEXICONS[language]
    words = tokens(text)
    if contains_any(words, lexicon.opt_out):
        return Intent.OPT_OUT
    core = _core(words, lexicon)
    for intent, anywhere, alone in (
        (Intent.REPEAT, lexicon.repeat_anywhere, lexicon.repeat_alone),
        (Intent.SKIP, lexicon.skip_anywhere, lexicon.skip_alone),
    ):
        if any(core == _core(phrase, lexicon) for phrase in (*alone, *anywhere)):
            return intent
        if not strict and contains_any(words, anywhere):
            return intent
    return None


def _core(words: Phrase, lexicon: Lexicon) -> Phrase:
    # "I'll pass, thanks" is "pass": politeness does not change what is asked.
    return tuple(w for w in words if w not in lexicon.fillers) or words


def parse_yes_no(text: str, language: Language) -> bool | None:
    """Return True for yes, False for no, None if neither; any negation wins ("sì, ma no")."""
    polarities = _polarities(tokens(text), language)
    if False in polarities:
        return False
    return True if True in polarities else None


def _polarities(words: Phrase, language: Language) -> list[bool]:
    # Longest match first, left to right, so "no problem" reads as one yes, not as a no.
    candidates = _POLAR[language]
    found: list[bool] = []
    index = 0
    while index < len(words):
        hit = next((c for c in candidates if words[index : index + len(c[0])] == c[0]), None)
        if hit is not None:
            found.append(hit[1])
        index += len(hit[0]) if hit else 1
    return found


def _polar_phrases(lexicon: Lexicon) -> list[tuple[Phrase, bool]]:
    tagged = [(p, True) for p in lexicon.yes] + [(p, False) for p in lexicon.no]
    return sorted(tagged, key=lambda item: len(item[0]), reverse=True)


_POLAR = {language: _polar_phrases(lexicon) for language, lexicon in LEXICONS.items()}


def read_answer(text: str, question: Question | None, language: Language) -> AnswerValue | None:
    """Return the answer `text` gives to `question` (None: the consent question), or None."""
    if question is None or question.type is QuestionType.YES_NO:
        return parse_yes_no(text, language)
    if question.type is QuestionType.CHOICE:
        return match_choice(text, question.choices, language)
    if question.type is QuestionType.FREE_TEXT:
        return text.strip()
    return in_bounds(parse_number(text, language), question)


def in_bounds(number: Number | None, question: Question) -> Number | None:
    """Return `number` if it answers the scale/number `question`, else None."""
    if number is None:
        return None
    if question.type is QuestionType.SCALE:
        if number != int(number):
            return None
        number = int(number)
    if question.min is not None and number < question.min:
        return None
    if question.max is not None and number > question.max:
        return None
    return number


def read_speech(
    text: str, confidence: float | None, question: Question | None, language: Language
) -> Reply:
    """Read a speech result against the current prompt (`question` None: consent)."""
    raw = text.strip()
    if not _meaningful(raw, language):
        return Reply(Intent.NO_INPUT, raw=raw, confidence=confidence)
    free_text = question is not None and question.type is QuestionType.FREE_TEXT
    intent = detect_intent(raw, language, strict=free_text)
    if intent is Intent.OPT_OUT:
        return Reply(intent, raw=raw, confidence=confidence)
    callback = _callback(raw, language, free_text=free_text)
    if callback is not None:
        return Reply(Intent.CALLBACK, raw=raw, confidence=confidence, callback=callback)
    if intent is not None:
        return Reply(intent, raw=raw, confidence=confidence)
    value = read_answer(raw, question, language)
    if value is None:
        return Reply(Intent.INVALID, raw=raw, confidence=confidence)
    ambiguous = question is not None and ambiguous_number(raw, question, language)
    return Reply(Intent.ANSWER, value=value, raw=raw, confidence=confidence, ambiguous=ambiguous)


# A free-text answer may mention calling back or a time ("open later on Sundays", "the agent
# should call back faster"): there a reply asks for an appointment only as a whole, when it has
# no other words than callback vocabulary and politeness. One word is enough to be an answer:
# "open later", "call back sooner" and "orari più tardi la sera" are answers.
FREE_TEXT_OTHER_WORDS = 0


def _callback(raw: str, language: Language, *, free_text: bool) -> CallbackAsk | None:
    reading = read_callback(raw, language.value)
    if free_text and reading.other_words > FREE_TEXT_OTHER_WORDS:
        return None
    ask = reading.ask
    if ask is not None and ask.vague and _starts_with_no(raw, language):
        # "No thanks, not now" is a no, while "not now" alone asks for another time, and "no,
        # call me tomorrow at six" names one.
        return None
    return ask


def _starts_with_no(raw: str, language: Language) -> bool:
    plain_no = tokens(PHRASES[language].yes_no_words[1])
    return tokens(raw)[: len(plain_no)] == plain_no


def ambiguous_number(text: str, question: Question, language: Language) -> bool:
    """Whether `text` names several possible answers to a number or scale question.

    "sette o otto" is ambiguous; "otto su dieci" and "da uno a dieci, otto" are not: the
    question's own bounds, said along with an answer, are not answers themselves.
    """
    if question.type not in (QuestionType.SCALE, QuestionType.NUMBER):
        return False
    found = {n for n in find_numbers(text, language) if in_bounds(n, question) is not None}
    answers = found - {question.min, question.max}
    return len(answers) > 1


def _meaningful(raw: str, language: Language) -> bool:
    # "Ehm..." is as good as silence. A polite word may be a request on its own, though: German
    # "Bitte?" is "pardon?", while "bitte" in a sentence is only "please".
    lexicon, words = LEXICONS[language], tokens(raw)
    return any(w not in lexicon.fillers for w in words) or words in lexicon.repeat_alone


def read_digits(digits: str, question: Question | None) -> Reply:
    """Read keypad input: 1 yes / 2 no, a number, the N-th choice; `*` repeat, `#` skip."""
    keys = digits.strip()
    if keys and set(keys) == {REPEAT_KEY}:
        return Reply(Intent.REPEAT, raw=keys)
    if keys and set(keys) == {SKIP_KEY}:
        return Reply(Intent.SKIP, raw=keys)
    # A trailing "#" is the usual "done typing" key, not a request to skip.
    number = keys.rstrip(SKIP_KEY)
    if not number:
        return Reply(Intent.NO_INPUT)
    value = _keyed_value(number, question) if number.isdigit() else None
    if value is None:
        return Reply(Intent.INVALID, raw=keys)
    return Reply(Intent.ANSWER, value=value, raw=keys)


def _keyed_value(number: str, question: Question | None) -> AnswerValue | None:
    if question is None or question.type is QuestionType.YES_NO:
        return {YES_KEY: True, NO_KEY: False}.get(number)
    if question.type is QuestionType.CHOICE:
        position = int(number)
        return question.choices[position - 1] if 1 <= position <= len(question.choices) else None
    if question.type is QuestionType.FREE_TEXT:
        return None
    return in_bounds(int(number), question)
