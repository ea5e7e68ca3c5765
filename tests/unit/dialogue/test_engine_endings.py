"""How calls end (opt-out, hang-up, machine), what DONE means, and state between turns."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest

from app.dialogue import (
    CallAnswered,
    DialogueState,
    Digits,
    Event,
    Finish,
    HangUp,
    HungUp,
    MachineDetected,
    NoInput,
    OptOut,
    Phase,
    Say,
    Speech,
    SurveyOutcome,
    transition,
)
from app.dialogue.phrases import PHRASES
from app.dialogue.prompts import listen_for, question_text
from tests.unit.dialogue.factories import play, survey

OPT_OUTS = [
    ("it-IT", "Non chiamatemi più."),
    ("it-IT", "non voglio essere richiamato"),
    ("it-IT", "cancellatemi"),
    ("it-IT", "rimuovetemi dalla lista, per favore"),
    ("en-US", "Don't call me again."),
    ("en-US", "stop calling me"),
    ("en-US", "remove me from your list"),
    ("en-US", "take me off your list"),
]
YES = {"it-IT": Speech("sì"), "en-US": Speech("yes")}
TWO_ANSWERS = {"it-IT": [Speech("otto"), Speech("sì")], "en-US": [Speech("8"), Speech("yes")]}


def two_answered(language: str) -> list[Event]:
    return [CallAnswered(), YES[language], *TWO_ANSWERS[language]]


# --- opt-out ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "text"), OPT_OUTS)
def test_opt_out_mid_survey_keeps_earlier_answers(language: str, text: str) -> None:
    s = survey(language)
    before, _ = play(s, two_answered(language))

    state, actions = play(s, [Speech(text)], before)

    assert actions == [
        OptOut(),
        Say(PHRASES[s.language].opt_out_goodbye),
        Finish(SurveyOutcome.OPTED_OUT),
        HangUp(),
    ]
    assert (state.phase, state.outcome) == (Phase.DONE, SurveyOutcome.OPTED_OUT)
    assert [qid for qid, _ in state.answers] == ["satisfaction", "recommend"]
    assert state.answers == before.answers


@pytest.mark.parametrize(("language", "text"), OPT_OUTS)
def test_opt_out_at_consent(language: str, text: str) -> None:
    state, actions = play(survey(language), [CallAnswered(), Speech(text)])

    assert actions[-4] == OptOut() and actions[-2:] == [Finish(SurveyOutcome.OPTED_OUT), HangUp()]
    assert not state.consent_given


def test_opt_out_wins_over_a_free_text_answer() -> None:
    s = survey("it-IT", [{"id": "why", "type": "free_text", "text": "Perché?"}])

    state, actions = play(s, [CallAnswered(), YES["it-IT"], Speech("Basta, non chiamatemi più")])

    assert OptOut() in actions and "why" not in state.answer_map


# --- hang-up ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["it-IT", "en-US"])
def test_hang_up_after_consent_is_partial_with_answers_kept(language: str) -> None:
    s = survey(language)
    before, _ = play(s, two_answered(language))

    state, actions = play(s, [HungUp()], before)

    assert actions == [Finish(SurveyOutcome.PARTIAL)]  # the line is gone: nothing to say
    assert (state.phase, state.outcome) == (Phase.DONE, SurveyOutcome.PARTIAL)
    assert state.answer_map["satisfaction"].value in (8, 8.0)
    assert len(state.answers) == 2


def test_hang_up_right_after_consent_is_partial_with_no_answers() -> None:
    state, actions = play(survey("it-IT"), [CallAnswered(), YES["it-IT"], HungUp()])

    assert actions[-1] == Finish(SurveyOutcome.PARTIAL) and state.answers == ()


@pytest.mark.parametrize(
    "before", [[], [CallAnswered()], [CallAnswered(), NoInput()], [CallAnswered(), Digits("*")]]
)
def test_hang_up_before_consent_has_no_survey_outcome(before: list[Event]) -> None:
    state, actions = play(survey("en-US"), [*before, HungUp()])

    assert actions[-1] == Finish(None)
    assert (state.phase, state.outcome, state.consent_given) == (Phase.DONE, None, False)


# --- answering machine -----------------------------------------------------------------------


@pytest.mark.parametrize("before", [[], [CallAnswered()], [CallAnswered(), NoInput()]])
def test_machine_before_consent_hangs_up_silently(before: list[Event]) -> None:
    state, actions = play(survey("it-IT"), [*before, MachineDetected()])

    assert actions[-2:] == [Finish(SurveyOutcome.MACHINE), HangUp()]
    assert not any(isinstance(a, Say) for a in actions[len(actions) - 2 :])
    assert state.outcome is SurveyOutcome.MACHINE


def test_late_machine_detection_after_consent_is_ignored() -> None:
    s = survey("it-IT")
    before, _ = play(s, [CallAnswered(), YES["it-IT"]])

    state, actions = play(s, [MachineDetected()], before)

    assert actions == []
    assert state == replace(before, turn=before.turn + 1)


# --- DONE and duplicates ---------------------------------------------------------------------

ANY_EVENT: list[Event] = [
    CallAnswered(),
    Speech("sì"),
    Speech("non chiamatemi più"),
    Digits("1"),
    NoInput(),
    HungUp(),
    MachineDetected(),
]


@pytest.mark.parametrize("event", ANY_EVENT)
@pytest.mark.parametrize(
    "ending",
    [
        [CallAnswered(), Speech("no")],
        [CallAnswered(), YES["it-IT"], HungUp()],
        [CallAnswered(), MachineDetected()],
        [CallAnswered(), YES["it-IT"], *[Speech("salta")] * 5],
    ],
)
def test_events_after_done_do_nothing(ending: list[Event], event: Event) -> None:
    s = survey("it-IT")
    done, _ = play(s, ending)
    assert done.phase is Phase.DONE

    state, actions = transition(done, event, survey=s)

    assert actions == ()
    assert state == replace(done, turn=done.turn + 1)


def test_a_redelivered_answer_replays_the_prompt_and_counts_nothing() -> None:
    s = survey("en-US")
    before, _ = play(s, [CallAnswered(), YES["en-US"], NoInput()])

    state, actions = play(s, [CallAnswered()], before)

    question = s.questions[0]
    assert actions == [Say(question_text(question, s.language)), listen_for(question, s.language)]
    assert (state.index, state.attempts, state.repeats) == (0, 1, 0)


def test_speech_on_a_fresh_call_starts_with_the_intro() -> None:
    s = survey("it-IT")

    state, actions = play(s, [Speech("Pronto?")])

    assert actions[0] == Say(s.script.intro.get(s.language)) and state.phase is Phase.CONSENT


def test_a_survey_that_lost_questions_mid_call_closes() -> None:
    long, short = survey("it-IT"), survey("it-IT", [{"id": "x", "type": "yes_no", "text": "?"}])
    before, _ = play(long, two_answered("it-IT"))

    state, actions = play(short, [Speech("sì")], before)

    assert actions[-2:] == [Finish(SurveyOutcome.COMPLETED), HangUp()]
    assert state.outcome is SurveyOutcome.COMPLETED


# --- turns and persistence -------------------------------------------------------------------

CONVERSATION: list[Event] = [
    CallAnswered(),
    Speech("come?"),
    NoInput(),
    Speech("sì"),
    Speech("blu"),
    Speech("otto", 0.87),
    Digits("*"),
    Digits("1"),
    Speech("salta"),
    NoInput(),
    Digits("4"),
    Speech("Niente, tutto bene."),
    NoInput(),
]


def test_state_survives_json_at_every_step_and_turn_counts_every_event() -> None:
    s = survey("it-IT")
    state = DialogueState.initial()

    for number, event in enumerate(CONVERSATION, start=1):
        state, actions = transition(state, event, survey=s)
        stored = json.loads(json.dumps(state.to_dict()))
        assert DialogueState.from_dict(stored) == state, event
        assert state.turn == number
        assert json.dumps([asdict(a) for a in actions])  # actions are plain data too

    assert state.outcome is SurveyOutcome.COMPLETED
    assert [(qid, r.value, r.skipped) for qid, r in state.answers] == [
        ("satisfaction", 8, None),
        ("recommend", True, None),
        ("channel", None, "skipped_by_respondent"),
        ("visits", 4, None),
        ("comment", "Niente, tutto bene.", None),
    ]


def test_persisted_and_in_memory_runs_agree() -> None:
    s = survey("it-IT")
    memory = DialogueState.initial()
    for event in CONVERSATION:
        memory, _ = transition(memory, event, survey=s)

    persisted, _ = play(s, CONVERSATION)

    assert persisted == memory


def test_transition_is_deterministic() -> None:
    s = survey("en-US")
    state, _ = play(s, [CallAnswered(), YES["en-US"]])

    first = transition(state, Speech("seven"), survey=s)
    second = transition(state, Speech("seven"), survey=s)

    assert first == second
    assert state.turn == 2  # the input state is untouched
