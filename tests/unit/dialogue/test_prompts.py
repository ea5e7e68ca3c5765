"""How questions are spoken, the hint after a miss, and how the engine asks to listen."""

from __future__ import annotations

import pytest

from app.dialogue import Listen, ListenKind, Question, QuestionType, Say
from app.dialogue.phrases import spoken_list
from app.dialogue.prompts import FREE_TEXT_TIMEOUT_SECONDS, hint, listen_for, question_text
from app.dialogue.survey import Language

IT, EN = Language.IT, Language.EN


def scale(text: str, low: int = 1, high: int = 10) -> Question:
    return Question("q", QuestionType.SCALE, text, min=low, max=high)


def choice(text: str, *choices: str) -> Question:
    return Question("q", QuestionType.CHOICE, text, choices=choices)


@pytest.mark.parametrize(
    ("question", "language", "spoken"),
    [
        (scale("Da 1 a 10, quanto è soddisfatto?"), IT, "Da 1 a 10, quanto è soddisfatto?"),
        (scale("Da uno a dieci, quanto?"), IT, "Da uno a dieci, quanto?"),
        (
            scale("Quanto è soddisfatto?"),
            IT,
            "Quanto è soddisfatto? Risponda con un numero da 1 a 10.",
        ),
        (
            scale("How satisfied are you?", 0, 5),
            EN,
            "How satisfied are you? Please answer with a number from 0 to 5.",
        ),
        (
            choice("Preferisce telefono, email o negozio?", "telefono", "email", "negozio"),
            IT,
            "Preferisce telefono, email o negozio?",
        ),
        (
            choice("Come preferisce essere contattato?", "telefono", "email", "negozio"),
            IT,
            "Come preferisce essere contattato? Le opzioni sono: telefono, email o negozio.",
        ),
        (
            choice("How should we reach you?", "phone", "email"),
            EN,
            "How should we reach you? The options are: phone or email.",
        ),
        (Question("q", QuestionType.YES_NO, "Ok?"), EN, "Ok?"),
    ],
)
def test_question_text(question: Question, language: Language, spoken: str) -> None:
    assert question_text(question, language) == spoken


@pytest.mark.parametrize(
    ("question", "language", "expected"),
    [
        (None, IT, "Risponda sì o no, oppure prema 1 per sì e 2 per no."),
        (None, EN, "Please answer yes or no, or press 1 for yes and 2 for no."),
        (scale("x"), IT, "Risponda con un numero da 1 a 10."),
        (scale("x"), EN, "Please answer with a number from 1 to 10."),
        (Question("q", QuestionType.NUMBER, "x"), EN, "Please answer with a number."),
        (Question("q", QuestionType.NUMBER, "x", min=0), IT, "Risponda con un numero, almeno 0."),
        (
            Question("q", QuestionType.NUMBER, "x", max=9),
            EN,
            "Please answer with a number, at most 9.",
        ),
        (
            choice("x", "telefono", "email", "negozio"),
            IT,
            "Risponda con una di queste opzioni: telefono, email o negozio. "
            "Oppure prema un tasto da 1 a 3.",
        ),
        (
            Question("q", QuestionType.FREE_TEXT, "x"),
            EN,
            "Please tell me your answer in your own words.",
        ),
    ],
)
def test_hint(question: Question | None, language: Language, expected: str) -> None:
    assert hint(question, language) == expected


def test_many_choices_are_not_offered_on_the_keypad() -> None:
    many = choice("x", *(f"opzione {n}" for n in range(1, 13)))

    assert "prema" not in hint(many, IT)
    assert listen_for(many, IT).num_digits == 2


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (None, Listen(ListenKind.CONSENT, ("sì", "no"), 1, 5)),
        (Question("q", QuestionType.YES_NO, "x"), Listen(ListenKind.YES_NO, ("sì", "no"), 1, 5)),
        (scale("x", 1, 5), Listen(ListenKind.SCALE, ("1", "2", "3", "4", "5"), 1, 5)),
        (scale("x", 0, 100), Listen(ListenKind.SCALE, (), 3, 5)),
        (choice("x", "a", "b"), Listen(ListenKind.CHOICE, ("a", "b"), 1, 5)),
        (Question("q", QuestionType.NUMBER, "x"), Listen(ListenKind.NUMBER, (), None, 5)),
        (
            Question("q", QuestionType.FREE_TEXT, "x"),
            Listen(ListenKind.FREE_TEXT, (), None, FREE_TEXT_TIMEOUT_SECONDS),
        ),
    ],
)
def test_listen_for(question: Question | None, expected: Listen) -> None:
    assert listen_for(question, IT) == expected


def test_scale_keypad_entry_ends_at_the_longest_answer() -> None:
    # 1..10: "1" then "0" completes at once; "8" alone completes on the keypad timeout.
    assert listen_for(scale("x", 1, 10), EN).num_digits == 2


@pytest.mark.parametrize(
    ("items", "language", "expected"),
    [
        (("a",), IT, "a"),
        (("a", "b"), IT, "a o b"),
        (("a", "b", "c"), EN, "a, b or c"),
    ],
)
def test_spoken_list(items: tuple[str, ...], language: Language, expected: str) -> None:
    assert spoken_list(items, language) == expected


def test_say_is_plain_text() -> None:
    assert Say("Ciao") == Say(text="Ciao")
