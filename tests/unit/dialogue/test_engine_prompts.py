"""At every prompt: repeat, skip, silence and unusable answers, in Italian and English."""

from __future__ import annotations

import pytest

from app.dialogue import (
    REPEAT_LIMIT,
    CallAnswered,
    Digits,
    Event,
    Finish,
    HangUp,
    MarkSkipped,
    NoInput,
    Phase,
    RecordAnswer,
    Say,
    SkipReason,
    Speech,
    SurveyOutcome,
)
from app.dialogue.phrases import PHRASES
from app.dialogue.prompts import hint, listen_for, question_text
from tests.unit.dialogue.factories import play, survey

REPEATS = [
    ("it-IT", Speech("Può ripetere?")),
    ("it-IT", Speech("come?")),
    ("it-IT", Speech("scusi, non ho capito")),
    ("it-IT", Digits("*")),
    ("en-US", Speech("Say again?")),
    ("en-US", Speech("pardon")),
    ("en-US", Speech("what?")),
    ("en-US", Digits("*")),
]
SKIPS = [
    ("it-IT", Speech("salta")),
    ("it-IT", Speech("passo")),
    ("it-IT", Speech("preferisco non rispondere")),
    ("it-IT", Digits("#")),
    ("en-US", Speech("skip")),
    ("en-US", Speech("I'd prefer not to say")),
    ("en-US", Speech("pass")),
    ("en-US", Digits("#")),
]
YES = {"it-IT": Speech("sì"), "en-US": Speech("yes")}
INVALID = {"it-IT": Speech("blu"), "en-US": Speech("blue")}


def at_first_question(language: str) -> list[Event]:
    return [CallAnswered(), YES[language]]


# --- repeat ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "event"), REPEATS)
def test_repeat_replays_the_question_without_advancing(language: str, event: Event) -> None:
    s = survey(language)
    before, _ = play(s, at_first_question(language))

    state, actions = play(s, [event], before)

    question = s.questions[0]
    assert actions == [
        Say(PHRASES[s.language].repeating),
        Say(question_text(question, s.language)),
        listen_for(question, s.language),
    ]
    assert (state.index, state.attempts, state.repeats) == (0, 0, 1)
    assert state.answers == ()


@pytest.mark.parametrize(("language", "event"), REPEATS)
def test_repeat_at_consent_replays_the_consent_question(language: str, event: Event) -> None:
    s = survey(language)

    state, actions = play(s, [CallAnswered(), event])

    assert actions[-2:] == [Say(s.script.consent.get(s.language)), listen_for(None, s.language)]
    assert (state.phase, state.repeats) == (Phase.CONSENT, 1)


def test_repeat_does_not_use_up_the_reprompt() -> None:
    s = survey("it-IT")

    state, _ = play(s, [*at_first_question("it-IT"), NoInput(), Digits("*"), Speech("otto")])

    assert state.answer_map["satisfaction"].value == 8


@pytest.mark.parametrize("language", ["it-IT", "en-US"])
def test_too_many_repeats_skip_the_question(language: str) -> None:
    s = survey(language)
    repeats = [Digits("*")] * (REPEAT_LIMIT + 1)

    state, actions = play(s, [*at_first_question(language), *repeats])

    assert MarkSkipped("satisfaction", SkipReason.REPEAT_LIMIT, "*") in actions
    assert state.index == 1 and state.repeats == 0
    assert state.answer_map["satisfaction"].skipped is SkipReason.REPEAT_LIMIT


def test_too_many_repeats_at_consent_end_the_call() -> None:
    s = survey("en-US")

    state, actions = play(s, [CallAnswered(), *[Speech("what?")] * (REPEAT_LIMIT + 1)])

    assert actions[-2:] == [Finish(SurveyOutcome.NO_CONSENT_INPUT), HangUp()]
    assert state.answers == () and not state.consent_given


def test_repeat_counter_resets_on_the_next_question() -> None:
    s = survey("it-IT")
    events = [*at_first_question("it-IT"), *[Digits("*")] * REPEAT_LIMIT, Speech("otto")]

    state, _ = play(s, [*events, Digits("*")])

    assert (state.index, state.repeats) == (1, 1)


# --- skip ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "event"), SKIPS)
def test_skip_records_the_skip_and_moves_on(language: str, event: Event) -> None:
    s = survey(language)
    before, _ = play(s, at_first_question(language))

    state, actions = play(s, [event], before)

    say = PHRASES[s.language]
    raw = event.text.strip() if isinstance(event, Speech) else "#"
    second = s.questions[1]
    assert actions == [
        MarkSkipped("satisfaction", SkipReason.SKIPPED_BY_RESPONDENT, raw),
        Say(say.skipped),
        Say(say.moving_on),
        Say(question_text(second, s.language)),
        listen_for(second, s.language),
    ]
    record = state.answer_map["satisfaction"]
    assert (record.value, record.skipped) == (None, SkipReason.SKIPPED_BY_RESPONDENT)
    assert state.index == 1


def test_skipping_the_last_question_closes_the_survey() -> None:
    s = survey("en-US")
    answers = [Speech("8"), Speech("yes"), Speech("email"), Speech("2")]

    state, actions = play(s, [*at_first_question("en-US"), *answers, Speech("skip")])

    assert actions[-5:] == [
        MarkSkipped("comment", SkipReason.SKIPPED_BY_RESPONDENT, "skip"),
        Say("No problem."),
        Say(s.script.closing.get(s.language)),
        Finish(SurveyOutcome.COMPLETED),
        HangUp(),
    ]
    assert state.outcome is SurveyOutcome.COMPLETED


def test_a_required_question_can_be_skipped() -> None:
    s = survey("it-IT")
    assert s.questions[0].required

    state, _ = play(s, [*at_first_question("it-IT"), Speech("salta")])

    assert state.answer_map["satisfaction"].skipped is SkipReason.SKIPPED_BY_RESPONDENT


# --- silence and unusable answers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "first", "second", "reason"),
    [
        ("it-IT", NoInput(), NoInput(), SkipReason.NO_INPUT),
        ("it-IT", Speech("blu"), Speech("undici"), SkipReason.INVALID),
        ("it-IT", Speech(""), Digits(""), SkipReason.NO_INPUT),
        ("it-IT", NoInput(), Speech("verde"), SkipReason.INVALID),  # the last miss decides
        ("en-US", NoInput(), NoInput(), SkipReason.NO_INPUT),
        ("en-US", Speech("blue"), Digits("0"), SkipReason.INVALID),
        ("en-US", Speech("eleven"), Speech("a lot"), SkipReason.INVALID),
    ],
)
def test_two_misses_skip_the_question(
    language: str, first: Event, second: Event, reason: SkipReason
) -> None:
    s = survey(language)

    state, actions = play(s, [*at_first_question(language), first, second])

    skips = [a for a in actions if isinstance(a, MarkSkipped)]
    assert [(m.question_id, m.reason) for m in skips] == [("satisfaction", reason)]
    assert not [a for a in actions if isinstance(a, RecordAnswer)]
    assert state.index == 1 and state.attempts == 0
    assert state.answer_map["satisfaction"].skipped is reason


@pytest.mark.parametrize(
    ("language", "event", "preface"),
    [
        ("it-IT", NoInput(), "Non ho sentito la sua risposta."),
        ("it-IT", Speech("blu"), "Mi scusi, non ho capito."),
        ("en-US", NoInput(), "I didn't hear your answer."),
        ("en-US", Speech("blue"), "Sorry, I didn't understand."),
    ],
)
def test_first_miss_reprompts_with_a_hint(language: str, event: Event, preface: str) -> None:
    s = survey(language)
    question = s.questions[0]

    state, actions = play(s, [*at_first_question(language), event])

    assert actions[-3:] == [
        Say(preface),
        Say(hint(question, s.language)),
        listen_for(question, s.language),
    ]
    assert (state.index, state.attempts) == (0, 1)


def test_invalid_then_valid_records_the_answer() -> None:
    s = survey("it-IT")

    state, actions = play(s, [*at_first_question("it-IT"), INVALID["it-IT"], Speech("nove")])

    assert RecordAnswer("satisfaction", 9, "nove", None) in actions
    assert state.index == 1


def test_silence_after_an_optional_question_skips_at_once() -> None:
    s = survey(
        "it-IT", [{"id": "comment", "type": "free_text", "text": "Altro?", "required": False}]
    )

    before, _ = play(s, at_first_question("it-IT"))

    state, actions = play(s, [NoInput()], before)

    assert actions[0] == MarkSkipped("comment", SkipReason.NO_INPUT, "")
    assert state.outcome is SurveyOutcome.COMPLETED


def test_silence_after_a_required_free_text_reprompts() -> None:
    s = survey("en-US", [{"id": "why", "type": "free_text", "text": "Why?"}])

    state, actions = play(s, [*at_first_question("en-US"), NoInput()])

    assert actions[-2] == Say("Please tell me your answer in your own words.")
    assert state.attempts == 1


def test_free_text_keeps_words_that_sound_like_commands() -> None:
    s = survey("it-IT", [{"id": "why", "type": "free_text", "text": "Perché?"}])

    state, _ = play(s, [*at_first_question("it-IT"), Speech("La linea salta spesso.", 0.8)])

    assert state.answer_map["why"].value == "La linea salta spesso."
    assert state.answer_map["why"].confidence == 0.8
