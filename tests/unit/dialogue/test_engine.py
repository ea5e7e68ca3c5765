"""The engine, conversation by conversation, in Italian and English."""

from __future__ import annotations

from typing import Any

import pytest

from app.dialogue import (
    AnswerRecord,
    CallAnswered,
    Digits,
    Event,
    Finish,
    HangUp,
    Listen,
    ListenKind,
    NoInput,
    Phase,
    RecordAnswer,
    Say,
    Speech,
    Survey,
    SurveyOutcome,
)
from app.dialogue.actions import AnswerValue
from app.dialogue.phrases import PHRASES
from app.dialogue.prompts import listen_for, question_text
from tests.unit.dialogue.factories import play, survey

LANGUAGES = ("it-IT", "en-US")
SAID = {
    "it-IT": {
        "yes": "Sì, va bene.",
        "no": "No grazie, non ho tempo.",
        "scale": "Direi otto.",
        "yes_no": "Certo!",
        "choice": "In negozio.",
        "number": "Tre volte.",
        "free": "Più personale alla cassa.",
    },
    "en-US": {
        "yes": "Yes, sure.",
        "no": "No thanks, I'm busy.",
        "scale": "I'd say eight.",
        "yes_no": "Of course!",
        "choice": "At the store.",
        "number": "Three times.",
        "free": "More staff at the checkout.",
    },
}
EXPECTED = {
    "it-IT": {"channel": "negozio", "comment": "Più personale alla cassa."},
    "en-US": {"channel": "store", "comment": "More staff at the checkout."},
}


def said(language: str, what: str) -> Speech:
    return Speech(SAID[language][what], 0.9)


def answers_all(language: str) -> list[Event]:
    return [said(language, k) for k in ("scale", "yes_no", "choice", "number", "free")]


def asked(s: Survey, index: int) -> tuple[Say, Listen]:
    question = s.questions[index]
    return Say(question_text(question, s.language)), listen_for(question, s.language)


def consented(language: str) -> list[Event]:
    return [CallAnswered(), said(language, "yes")]


# --- happy paths -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_answering_starts_with_intro_and_consent(language: str) -> None:
    s = survey(language)

    state, actions = play(s, [CallAnswered()])

    assert actions == [
        Say(s.script.intro.get(s.language)),
        Say(s.script.consent.get(s.language)),
        Listen(ListenKind.CONSENT, PHRASES[s.language].yes_no_words, 1, 5),
    ]
    assert (state.phase, state.turn, state.consent_given) == (Phase.CONSENT, 1, False)


@pytest.mark.parametrize("language", LANGUAGES)
def test_full_survey_by_voice(language: str) -> None:
    s = survey(language)

    state, actions = play(s, [*consented(language), *answers_all(language)])

    assert state.phase is Phase.DONE and state.outcome is SurveyOutcome.COMPLETED
    assert state.consent_given and state.turn == 7
    values = {qid: rec.value for qid, rec in state.answers}
    assert values == {
        "satisfaction": 8,
        "recommend": True,
        "channel": EXPECTED[language]["channel"],
        "visits": 3,
        "comment": EXPECTED[language]["comment"],
    }
    assert actions[-3:] == [
        Say(s.script.closing.get(s.language)),
        Finish(SurveyOutcome.COMPLETED),
        HangUp(),
    ]
    recorded = [a for a in actions if isinstance(a, RecordAnswer)]
    assert recorded[0] == RecordAnswer("satisfaction", 8, SAID[language]["scale"], 0.9)
    assert [a.question_id for a in recorded] == [q.id for q in s.questions]


@pytest.mark.parametrize("language", LANGUAGES)
def test_full_survey_on_the_keypad(language: str) -> None:
    s = survey(language)
    keys = [Digits("1"), Digits("8"), Digits("2"), Digits("3"), Digits("12#")]

    state, _ = play(s, [CallAnswered(), *keys, said(language, "free")])

    assert {qid: rec.value for qid, rec in state.answers} == {
        "satisfaction": 8,
        "recommend": False,
        "channel": s.questions[2].choices[2],
        "visits": 12,
        "comment": EXPECTED[language]["comment"],
    }
    assert state.answer_map["satisfaction"] == AnswerRecord(8, "8", None)
    assert state.outcome is SurveyOutcome.COMPLETED


def test_consent_yes_thanks_and_asks_the_first_question() -> None:
    s = survey("it-IT")

    state, actions = play(s, consented("it-IT"))

    assert actions[-3:] == [Say("Grazie."), *asked(s, 0)]
    assert (state.phase, state.index, state.consent_given) == (Phase.QUESTION, 0, True)


ONE_QUESTION: list[tuple[str, dict[str, Any], Event, AnswerValue]] = [
    ("it-IT", {"type": "yes_no"}, Speech("sì, certo"), True),
    ("it-IT", {"type": "yes_no"}, Speech("no, direi di no"), False),
    ("it-IT", {"type": "scale", "min": 0, "max": 10}, Speech("otto su dieci"), 8),
    ("it-IT", {"type": "scale", "min": 1, "max": 5}, Digits("4"), 4),
    ("it-IT", {"type": "choice", "choices": ["bar", "ristorante"]}, Speech("al ristorante"),
     "ristorante"),
    ("it-IT", {"type": "choice", "choices": ["bar", "ristorante"]}, Speech("la prima"), "bar"),
    ("it-IT", {"type": "number"}, Speech("ventotto"), 28),
    ("it-IT", {"type": "number", "max": 100}, Digits("100"), 100),
    ("it-IT", {"type": "free_text"}, Speech("Tutto bene, grazie."), "Tutto bene, grazie."),
    ("en-US", {"type": "yes_no"}, Speech("yeah"), True),
    ("en-US", {"type": "yes_no"}, Digits("2"), False),
    ("en-US", {"type": "scale", "min": 1, "max": 10}, Speech("a nine"), 9),
    ("en-US", {"type": "choice", "choices": ["bus", "car", "bike"]}, Speech("bikes"), "bike"),
    ("en-US", {"type": "choice", "choices": ["bus", "car", "bike"]}, Digits("2"), "car"),
    ("en-US", {"type": "number", "min": 0}, Speech("thirty-one"), 31),
    ("en-US", {"type": "free_text"}, Speech("Faster delivery"), "Faster delivery"),
]  # fmt: skip


@pytest.mark.parametrize(("language", "shape", "event", "value"), ONE_QUESTION)
def test_each_question_type(
    language: str, shape: dict[str, Any], event: Event, value: AnswerValue
) -> None:
    s = survey(language, [{"id": "q", "text": "Domanda?", **shape}])

    state, actions = play(s, [*consented(language), event])

    recorded = [a for a in actions if isinstance(a, RecordAnswer)]
    assert len(recorded) == 1 and recorded[0].value == value
    assert recorded[0].value.__class__ is value.__class__  # True must not come back as 1
    assert state.answer_map["q"].value == value
    assert actions[-2:] == [Finish(SurveyOutcome.COMPLETED), HangUp()]


# --- consent ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "event"),
    [
        ("it-IT", Speech("No grazie, non ho tempo.")),
        ("it-IT", Speech("no")),
        ("it-IT", Digits("2")),
        ("en-US", Speech("No thanks, I'm busy.")),
        ("en-US", Speech("no, not now")),  # "not now" alone asks for another time
        ("en-US", Digits("2")),
    ],
)
def test_consent_no_is_a_polite_refusal(language: str, event: Event) -> None:
    s = survey(language)

    state, actions = play(s, [CallAnswered(), event])

    assert actions[-3:] == [
        Say(s.script.refused.get(s.language)),
        Finish(SurveyOutcome.REFUSED),
        HangUp(),
    ]
    assert (state.phase, state.outcome, state.consent_given) == (
        Phase.DONE,
        SurveyOutcome.REFUSED,
        False,
    )
    assert state.answers == ()


@pytest.mark.parametrize(
    ("language", "misses"),
    [
        ("it-IT", [NoInput(), NoInput()]),
        ("it-IT", [Speech("boh, vediamo"), NoInput()]),
        ("it-IT", [Speech("non so"), Speech("salta")]),  # "skip" is not a yes
        ("en-US", [Speech("purple"), Digits("9")]),
        ("en-US", [Speech(""), Speech("   ")]),
    ],
)
def test_consent_without_a_usable_answer_ends_politely(language: str, misses: list[Event]) -> None:
    s = survey(language)

    state, actions = play(s, [CallAnswered(), *misses])

    goodbye = Say(PHRASES[s.language].no_consent_goodbye)
    assert actions[-3:] == [goodbye, Finish(SurveyOutcome.NO_CONSENT_INPUT), HangUp()]
    assert state.outcome is SurveyOutcome.NO_CONSENT_INPUT and not state.consent_given


@pytest.mark.parametrize("language", LANGUAGES)
def test_consent_miss_reprompts_once_with_the_yes_no_hint(language: str) -> None:
    s = survey(language)
    say = PHRASES[s.language]

    state, actions = play(s, [CallAnswered(), NoInput()])

    assert actions[-3:] == [Say(say.no_input), Say(say.hint_yes_no), listen_for(None, s.language)]
    assert (state.phase, state.attempts) == (Phase.CONSENT, 1)
    state, _ = play(s, [said(language, "yes")], state)
    assert state.phase is Phase.QUESTION and state.attempts == 0
