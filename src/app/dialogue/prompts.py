"""The prompts the engine speaks: a question as asked, the hint after a miss, how to listen."""

from __future__ import annotations

from app.dialogue.actions import Action, Listen, ListenKind, Say
from app.dialogue.numbers import find_numbers
from app.dialogue.phrases import PHRASES, spoken_list
from app.dialogue.survey import Language, Question, QuestionType
from app.dialogue.text import contains, tokens

TIMEOUT_SECONDS = 5
FREE_TEXT_TIMEOUT_SECONDS = 8  # people think before a free answer
MAX_SPOKEN_HINTS = 20  # a scale of 0..100 would otherwise flood the recogniser's hints

_KINDS = {
    QuestionType.YES_NO: ListenKind.YES_NO,
    QuestionType.SCALE: ListenKind.SCALE,
    QuestionType.CHOICE: ListenKind.CHOICE,
    QuestionType.NUMBER: ListenKind.NUMBER,
    QuestionType.FREE_TEXT: ListenKind.FREE_TEXT,
}


def prompt(question: Question | None, language: Language, consent: str) -> tuple[Action, ...]:
    """Ask `question` (None: the consent question, `consent`) and listen for the answer."""
    text = consent if question is None else question_text(question, language)
    return Say(text), listen_for(question, language)


def reprompt(question: Question | None, language: Language, preface: str) -> tuple[Action, ...]:
    """Say `preface` and the answer format, then listen again."""
    return Say(preface), Say(hint(question, language)), listen_for(question, language)


def confirm(answer: str, language: Language) -> tuple[Action, ...]:
    """Say the answer back and listen for yes or no."""
    return Say(PHRASES[language].confirm.format(answer=answer)), listen_for(None, language)


def question_text(question: Question, language: Language) -> str:
    """Return the question as spoken, adding the allowed answers when its text lacks them."""
    if question.type is QuestionType.CHOICE and not _names_choices(question):
        options = PHRASES[language].options.format(options=spoken_list(question.choices, language))
        return f"{question.text} {options}"
    if question.type is QuestionType.SCALE and not _names_bounds(question, language):
        return f"{question.text} {hint(question, language)}"
    return question.text


def hint(question: Question | None, language: Language) -> str:
    """Return the short "answer like this" sentence for `question` (None: consent)."""
    say = PHRASES[language]
    if question is None or question.type is QuestionType.YES_NO:
        return say.hint_yes_no
    if question.type is QuestionType.CHOICE:
        text = say.hint_choice.format(options=spoken_list(question.choices, language))
        keys = _choice_digits(question) == 1
        return (
            f"{text} {say.hint_choice_keys.format(count=len(question.choices))}" if keys else text
        )
    if question.type is QuestionType.FREE_TEXT:
        return say.hint_free_text
    return _number_hint(question, language)


def _number_hint(question: Question, language: Language) -> str:
    say, low, high = PHRASES[language], question.min, question.max
    if low is not None and high is not None:
        return say.hint_range.format(low=low, high=high)
    if low is not None:
        return say.hint_at_least.format(low=low)
    if high is not None:
        return say.hint_at_most.format(high=high)
    return say.hint_number


def listen_for(question: Question | None, language: Language) -> Listen:
    """Return how to listen for an answer to `question` (None: consent)."""
    if question is None:
        return Listen(ListenKind.CONSENT, PHRASES[language].yes_no_words, 1, TIMEOUT_SECONDS)
    kind = _KINDS[question.type]
    if question.type is QuestionType.FREE_TEXT:
        return Listen(kind, (), None, FREE_TEXT_TIMEOUT_SECONDS)
    if question.type is QuestionType.YES_NO:
        return Listen(kind, PHRASES[language].yes_no_words, 1, TIMEOUT_SECONDS)
    if question.type is QuestionType.CHOICE:
        return Listen(kind, question.choices, _choice_digits(question), TIMEOUT_SECONDS)
    return Listen(kind, _number_hints(question), _number_digits(question), TIMEOUT_SECONDS)


def _choice_digits(question: Question) -> int:
    return len(str(len(question.choices)))


def _number_digits(question: Question) -> int | None:
    # Keypad entry ends after as many keys as the largest answer has, or on timeout before that.
    if question.max is None or question.max < 0 or (question.min or 0) < 0:
        return None
    return len(str(question.max))


def _number_hints(question: Question) -> tuple[str, ...]:
    if question.min is None or question.max is None:
        return ()
    if question.max - question.min >= MAX_SPOKEN_HINTS:
        return ()
    return tuple(str(n) for n in range(question.min, question.max + 1))


def _names_choices(question: Question) -> bool:
    words = tokens(question.text)
    return all(contains(words, tokens(choice)) for choice in question.choices)


def _names_bounds(question: Question, language: Language) -> bool:
    numbers = find_numbers(question.text, language)
    return question.min in numbers and question.max in numbers
