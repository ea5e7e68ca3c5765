"""The questionnaire beyond a fixed list: branching, screen-outs, quotas, piping, several
languages per survey, and confirmation of answers heard with little confidence."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

from app.dialogue import (
    Action,
    CallAnswered,
    CallContext,
    CountQuotas,
    DialogueState,
    Digits,
    Event,
    Finish,
    HangUp,
    HungUp,
    MarkSkipped,
    NoInput,
    Phase,
    RecordAnswer,
    Say,
    SkipReason,
    Speech,
    Survey,
    SurveyOutcome,
    transition,
)
from app.dialogue.phrases import PHRASES
from app.dialogue.survey import Language

SCRIPT = {
    "intro": {"it-IT": "Buongiorno {contact.name|}.", "en-US": "Hello {contact.name|there}."},
    "consent": {"it-IT": "Ha due minuti?", "en-US": "Do you have two minutes?"},
    "refused": {"it-IT": "Grazie lo stesso.", "en-US": "Thanks anyway."},
    "closing": {"it-IT": "Grazie, arrivederci.", "en-US": "Thank you, goodbye."},
    "screened_out": {"it-IT": "Cerchiamo altre persone.", "en-US": "We need other people."},
}
QUESTIONS: list[dict[str, Any]] = [
    {"id": "owns_car", "type": "yes_no", "text": {"it-IT": "Ha un'auto?", "en-US": "Own a car?"}},
    {
        "id": "brand",
        "type": "choice",
        "text": {"it-IT": "Quale marca, {contact.name|}?", "en-US": "Which brand?"},
        "choices": [
            "fiat",
            {"value": "other", "text": {"it-IT": "un'altra", "en-US": "another one"}},
        ],
        "ask_if": {"owns_car": True},
    },
    {
        "id": "age",
        "type": "number",
        "text": {"it-IT": "Quanti anni ha?", "en-US": "How old are you?"},
        "screen_out_if": {"age": {"lt": 18}},
    },
    {
        "id": "happy",
        "type": "yes_no",
        "text": {
            "it-IT": "Con la sua {answer.brand|auto} è contento?",
            "en-US": "Are you happy with your {answer.brand|car}?",
        },
    },
]
QUOTAS = [{"name": "young", "when": {"age": {"lt": 35}}, "target": 2}]


def survey(**overrides: Any) -> Survey:
    document: dict[str, Any] = {
        "languages": ["it-IT", "en-US"],
        "script": SCRIPT,
        "questions": QUESTIONS,
        "quotas": QUOTAS,
        **overrides,
    }
    return Survey.from_definition(document)


def play(
    events: Iterable[Event], context: CallContext | None = None, **overrides: Any
) -> tuple[DialogueState, list[Action]]:
    state, actions = DialogueState.initial(), []
    for event in events:
        state, step = transition(
            state, event, survey=survey(**overrides), context=context or CallContext()
        )
        actions.extend(step)
        state = DialogueState.from_dict(json.loads(json.dumps(state.to_dict())))
    return state, actions


def said(actions: list[Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, Say)]


def recorded(actions: list[Action]) -> dict[str, Any]:
    return {a.question_id: a.value for a in actions if isinstance(a, RecordAnswer)}


def skipped(actions: list[Action]) -> dict[str, SkipReason]:
    return {a.question_id: a.reason for a in actions if isinstance(a, MarkSkipped)}


ANSWER = CallAnswered()


def speech(text: str, confidence: float = 0.95) -> Speech:
    return Speech(text=text, confidence=confidence)


# --- branching -----------------------------------------------------------------------------------


def test_a_question_whose_ask_if_fails_is_skipped_as_not_applicable() -> None:
    state, actions = play([ANSWER, speech("sì"), speech("no"), speech("40"), speech("sì")])

    assert skipped(actions) == {"brand": SkipReason.NOT_APPLICABLE}
    assert not any("marca" in text for text in said(actions))
    assert recorded(actions) == {"owns_car": False, "age": 40, "happy": True}
    assert state.outcome is SurveyOutcome.COMPLETED
    assert dict(state.answers)["brand"].skipped is SkipReason.NOT_APPLICABLE


def test_a_question_whose_ask_if_holds_is_asked() -> None:
    _, actions = play([ANSWER, speech("sì"), speech("sì"), speech("fiat"), speech("40")])

    assert "brand" not in skipped(actions)
    assert recorded(actions)["brand"] == "fiat"


def test_when_no_question_is_left_the_survey_closes() -> None:
    last = {"id": "last", "type": "yes_no", "text": "Ok?", "ask_if": {"owns_car": True}}
    questions = [QUESTIONS[0], last]

    state, actions = play([ANSWER, speech("sì"), speech("no")], questions=questions, quotas=[])

    assert state.outcome is SurveyOutcome.COMPLETED
    assert skipped(actions) == {"last": SkipReason.NOT_APPLICABLE}
    assert said(actions)[-1] == "Grazie, arrivederci."


# --- screen-outs and quotas -------------------------------------------------------------------


def test_a_screening_question_ends_the_interview_politely() -> None:
    state, actions = play([ANSWER, speech("sì"), speech("no"), speech("sedici")])

    assert state.outcome is SurveyOutcome.SCREENED_OUT
    assert state.screened_by == "question:age"
    assert recorded(actions)["age"] == 16  # the answers given are kept
    assert actions[-3:] == [
        Say("Cerchiamo altre persone."),
        Finish(SurveyOutcome.SCREENED_OUT),
        HangUp(),
    ]


def test_without_a_script_line_the_language_says_goodbye_itself() -> None:
    script = {k: v for k, v in SCRIPT.items() if k != "screened_out"}

    _, actions = play([ANSWER, speech("sì"), speech("no"), speech("16")], script=script)

    assert said(actions)[-1] == PHRASES[Language.IT].screened_out


def test_a_full_quota_screens_out_at_the_question_that_decides_it() -> None:
    full = CallContext(full_quotas=frozenset({"young"}))

    state, actions = play([ANSWER, speech("sì"), speech("no"), speech("30")], full)

    assert (state.outcome, state.screened_by) == (SurveyOutcome.SCREENED_OUT, "quota:young")
    assert not any(isinstance(a, CountQuotas) for a in actions)


def test_a_full_quota_lets_through_who_is_not_in_it() -> None:
    full = CallContext(full_quotas=frozenset({"young"}))

    state, actions = play([ANSWER, speech("sì"), speech("no"), speech("50"), speech("sì")], full)

    assert state.outcome is SurveyOutcome.COMPLETED
    assert not any(isinstance(a, CountQuotas) for a in actions)  # 50 is not young


def test_a_completed_interview_counts_towards_its_quotas() -> None:
    _, actions = play([ANSWER, speech("sì"), speech("no"), speech("30"), speech("sì")])

    assert CountQuotas(("young",)) in actions
    assert actions[-2:] == [Finish(SurveyOutcome.COMPLETED), HangUp()]


def test_a_screened_out_respondent_counts_towards_no_quota() -> None:
    _, actions = play([ANSWER, speech("sì"), speech("no"), speech("12")])

    assert not any(isinstance(a, CountQuotas) for a in actions)


def test_a_hang_up_after_a_screen_out_changes_nothing() -> None:
    state, _ = play([ANSWER, speech("sì"), speech("no"), speech("12"), HungUp()])

    assert state.outcome is SurveyOutcome.SCREENED_OUT


# --- languages and piping -------------------------------------------------------------------


def test_the_contacts_language_is_spoken_and_choices_stored_by_value() -> None:
    english = CallContext(language="en-US", contact={"name": "Anna"})
    replies = [ANSWER, speech("yes"), speech("yes"), speech("another one"), speech("40")]

    state, actions = play([*replies, speech("yes")], english)

    assert state.language == "en-US"
    assert said(actions)[0] == "Hello Anna."
    assert any(text.startswith("Which brand? ") for text in said(actions))
    assert recorded(actions)["brand"] == "other"
    assert "Are you happy with your another one?" in said(actions)


def test_a_contact_language_the_survey_does_not_speak_gets_the_default() -> None:
    state, actions = play([ANSWER], CallContext(language="de-DE"))

    assert state.language == "it-IT"
    assert said(actions)[0] == "Buongiorno ."


def test_contact_fields_and_earlier_answers_are_piped_with_defaults() -> None:
    anna = CallContext(contact={"name": "Anna"})
    _, with_brand = play([ANSWER, speech("sì"), speech("sì"), speech("fiat"), speech("40")], anna)
    _, without = play([ANSWER, speech("sì"), speech("no"), speech("40")], anna)

    assert any(text.startswith("Quale marca, Anna? ") for text in said(with_brand))
    assert "Con la sua fiat è contento?" in said(with_brand)
    assert "Con la sua auto è contento?" in said(without)  # not asked: the default


def test_a_yes_no_answer_is_piped_in_the_calls_language() -> None:
    question = {"id": "again", "type": "yes_no", "text": "Ha detto {answer.owns_car}?"}

    _, actions = play(
        [ANSWER, speech("sì"), speech("sì")], questions=[QUESTIONS[0], question], quotas=[]
    )

    assert "Ha detto sì?" in said(actions)


# --- confirmation ---------------------------------------------------------------------------


def test_an_uncertain_answer_is_said_back_and_stored_once_confirmed() -> None:
    replies = [ANSWER, speech("sì"), speech("no"), speech("quaranta", confidence=0.4)]

    state, actions = play(replies, confirm_below=0.6)
    assert state.phase is Phase.CONFIRM and "age" not in recorded(actions)
    assert said(actions)[-1] == "Ho capito 40, giusto?"

    state, more = play([*replies, speech("sì")], confirm_below=0.6)
    answer = next(a for a in more if isinstance(a, RecordAnswer) and a.question_id == "age")
    assert (answer.value, answer.confirmed, answer.corrected) == (40, True, False)
    assert dict(state.answers)["age"].confirmed is True


def test_a_wrong_answer_is_asked_again_and_marked_corrected() -> None:
    replies = [
        ANSWER,
        speech("sì"),
        speech("no"),
        speech("quattordici", confidence=0.3),
        speech("no"),
        speech("quaranta"),
    ]

    state, actions = play(replies, confirm_below=0.6)

    assert PHRASES[Language.IT].confirm_again in said(actions)
    assert state.outcome is not SurveyOutcome.SCREENED_OUT  # 14 was never stored
    answer = next(a for a in actions if isinstance(a, RecordAnswer) and a.question_id == "age")
    assert (answer.value, answer.confirmed, answer.corrected) == (40, None, True)


def test_a_question_may_ask_back_when_the_survey_does_not() -> None:
    questions = [{**QUESTIONS[2], "confirm_below": 0.9}]

    state, _ = play([ANSWER, speech("sì"), speech("40", 0.8)], questions=questions, quotas=[])

    assert state.phase is Phase.CONFIRM


def test_keys_and_confident_speech_need_no_confirmation() -> None:
    _, keyed = play([ANSWER, Digits("1"), Digits("2"), Digits("40")], confirm_below=0.99)
    # Consent and owns_car by key ("1" yes, "2" no), the age typed in.
    state, spoken = play([ANSWER, speech("sì"), speech("no", 0.995)], confirm_below=0.99)

    assert recorded(keyed) == {"owns_car": False, "age": 40}
    assert state.phase is Phase.QUESTION and recorded(spoken)["owns_car"] is False


def test_no_reply_to_the_confirmation_keeps_the_answer_unconfirmed() -> None:
    replies = [ANSWER, Digits("1"), Digits("2"), speech("quaranta", 0.3), NoInput(), NoInput()]

    _, actions = play(replies, confirm_below=0.6)

    answer = next(a for a in actions if isinstance(a, RecordAnswer) and a.question_id == "age")
    assert (answer.value, answer.confirmed) == (40, False)


@pytest.mark.parametrize("language", ["it-IT", "en-US"])
def test_the_confirmation_speaks_the_calls_language(language: str) -> None:
    words = {"it-IT": ["sì", "no", "sedici"], "en-US": ["yes", "no", "sixteen"]}[language]
    replies = [ANSWER, *(speech(w, 0.3) for w in words)]

    _, actions = play(replies, CallContext(language=language), confirm_below=0.6)

    # Consent is never asked back; owns_car's "no" is.
    phrases = PHRASES[Language(language)]
    assert said(actions)[-1] == phrases.confirm.format(answer=phrases.yes_no_words[1])


# --- a call's memory ------------------------------------------------------------------------


def test_a_state_written_before_these_features_still_reads() -> None:
    old = {
        "version": 1,
        "phase": "question",
        "index": 1,
        "attempts": 0,
        "repeats": 0,
        "answers": [
            {"question_id": "q", "value": 7, "raw": "sette", "confidence": 0.9, "skipped": None}
        ],
        "consent_given": True,
        "outcome": None,
        "turn": 4,
    }

    state = DialogueState.from_dict(old)

    assert (state.language, state.pending, state.screened_by) == ("", None, None)
    assert dict(state.answers)["q"].value == 7


@pytest.mark.parametrize(
    ("said_age", "asked_back"),
    [
        ("sette o otto", True),
        ("direi trenta, forse trentuno", True),
        ("quaranta", False),
        ("quaranta anni, sono nata nel millenovecento", False),  # one answer in bounds
    ],
)
def test_words_that_allow_several_numbers_are_said_back(said_age: str, asked_back: bool) -> None:
    questions = [{**QUESTIONS[2], "max": 120}]

    state, _ = play([ANSWER, speech("sì"), speech(said_age)], questions=questions, quotas=[])

    assert (state.phase is Phase.CONFIRM) is asked_back


def test_a_scale_answer_with_its_bounds_said_is_not_ambiguous() -> None:
    scale = {"id": "nps", "type": "scale", "text": "Da 1 a 10?", "min": 1, "max": 10}

    state, actions = play(
        [ANSWER, speech("sì"), speech("otto su dieci")], questions=[scale], quotas=[]
    )

    assert state.phase is not Phase.CONFIRM and recorded(actions)["nps"] == 8


def test_a_quota_decided_by_a_question_not_asked_still_screens_out() -> None:
    quotas = [{"name": "no_brand", "when": {"brand": {"answered": False}}, "target": 1}]
    full = CallContext(full_quotas=frozenset({"no_brand"}))

    state, _ = play([ANSWER, speech("sì"), speech("no")], full, quotas=quotas)

    assert (state.outcome, state.screened_by) == (SurveyOutcome.SCREENED_OUT, "quota:no_brand")


def test_a_choice_without_text_is_said_as_its_value() -> None:
    questions = [
        {"id": "c", "type": "choice", "text": "?", "choices": [{"value": "fiat"}, "altra"]}
    ]

    assert survey(questions=questions, quotas=[]).items[0].spoken("it-IT").choices == (
        "fiat",
        "altra",
    )
