"""Calls that lead to other calls: "call me later" appointments from any prompt, and the call
that resumes an interview an earlier one left unfinished."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pytest

from app.dialogue import (
    Action,
    AnswerRecord,
    Appoint,
    CallAnswered,
    CallContext,
    DialogueState,
    Event,
    Finish,
    HangUp,
    HungUp,
    LeaveVoicemail,
    MachineDetected,
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
from app.dialogue.when import CallbackAsk

CALL_ME_LATER = {
    "it-IT": "adesso non posso, mi richiami domani alle 18",
    "en-US": "not now, call me back tomorrow at 6 pm",
    "es-ES": "ahora no puedo, llámeme mañana a las seis",
    "fr-FR": "pas maintenant, rappelez-moi demain à 18 heures",
    "de-DE": "nicht jetzt, rufen Sie mich morgen um 18 Uhr an",
}


def play(
    survey: Survey,
    events: Iterable[Event],
    *,
    context: CallContext | None = None,
    state: DialogueState | None = None,
) -> tuple[DialogueState, list[Action]]:
    state = DialogueState() if state is None else state
    actions: list[Action] = []
    for event in events:
        kwargs = {} if context is None else {"context": context}
        state, step = transition(state, event, survey=survey, **kwargs)
        actions.extend(step)
        state = DialogueState.from_dict(json.loads(json.dumps(state.to_dict())))
    return state, actions


def one_language_survey(language: str) -> Survey:
    return Survey.from_definition(
        {
            "name": "followups",
            "language": language,
            "script": {
                "intro": "Hi.",
                "consent": "Two minutes?",
                "refused": "Bye.",
                "closing": "Thanks, bye.",
            },
            "questions": [
                {"id": "q1", "type": "yes_no", "text": "One?"},
                {"id": "q2", "type": "yes_no", "text": "Two?"},
                {"id": "q3", "type": "yes_no", "text": "Three?"},
            ],
        }
    )


def says(actions: Iterable[Action]) -> list[str]:
    return [a.text for a in actions if isinstance(a, Say)]


# --- appointments ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", sorted(CALL_ME_LATER))
def test_call_me_later_at_consent_ends_the_call_with_an_appointment(language: str) -> None:
    survey = one_language_survey(language)

    state, actions = play(survey, [CallAnswered(), Speech(CALL_ME_LATER[language], 0.9)])

    appoint = [a for a in actions if isinstance(a, Appoint)]
    assert len(appoint) == 1
    assert appoint[0].said == CALL_ME_LATER[language]
    assert appoint[0].ask.day_offset == 1
    assert appoint[0].ask.at is not None and appoint[0].ask.at.hour == 18
    assert state.phase is Phase.DONE
    assert state.outcome is SurveyOutcome.CALLBACK_REQUESTED
    assert PHRASES[Language(language)].callback_goodbye in says(actions)
    assert isinstance(actions[-1], HangUp)
    assert Finish(SurveyOutcome.CALLBACK_REQUESTED) in actions


def test_call_me_later_mid_survey_keeps_the_answers_given() -> None:
    survey = one_language_survey("it-IT")

    state, actions = play(
        survey,
        [CallAnswered(), Speech("sì", 0.9), Speech("sì", 0.9), Speech("richiamami più tardi")],
    )

    assert state.outcome is SurveyOutcome.CALLBACK_REQUESTED
    assert state.consent_given
    assert [qid for qid, _ in state.answers] == ["q1"]
    appoint = next(a for a in actions if isinstance(a, Appoint))
    assert appoint.ask == CallbackAsk(vague=True)


def test_call_me_later_while_an_answer_is_said_back() -> None:
    survey = Survey.from_definition(
        {
            **{"name": "c", "language": "en-US", "confirm_below": 0.6},
            "script": {"intro": "Hi.", "consent": "Ok?", "refused": "Bye.", "closing": "Bye."},
            "questions": [{"id": "n", "type": "number", "text": "How many?"}],
        }
    )

    state, actions = play(
        survey,
        [CallAnswered(), Speech("yes"), Speech("seven", 0.3), Speech("call me back in an hour")],
    )

    assert state.outcome is SurveyOutcome.CALLBACK_REQUESTED
    assert state.pending is None
    assert not any(isinstance(a, RecordAnswer) for a in actions)  # never confirmed
    assert next(a for a in actions if isinstance(a, Appoint)).ask.delay_minutes == 60


@pytest.mark.parametrize("answer", ["domani", "18", "sì, domani vado al mare"])
def test_a_time_alone_is_no_appointment(answer: str) -> None:
    survey = one_language_survey("it-IT")

    _, actions = play(survey, [CallAnswered(), Speech("sì"), Speech(answer)])

    assert not any(isinstance(a, Appoint) for a in actions)


def test_do_not_call_me_wins_over_later() -> None:
    survey = one_language_survey("en-US")

    state, actions = play(survey, [CallAnswered(), Speech("not now and don't call me again")])

    assert state.outcome is SurveyOutcome.OPTED_OUT
    assert not any(isinstance(a, Appoint) for a in actions)


# --- resuming an interrupted interview ---------------------------------------------------------


def earlier(*answered: str) -> tuple[tuple[str, AnswerRecord], ...]:
    return tuple((qid, AnswerRecord(True, raw="sì", attempt_id=7)) for qid in answered)


def test_a_resumed_interview_says_so_asks_briefly_and_goes_on_where_it_stopped() -> None:
    survey = one_language_survey("it-IT")
    context = CallContext(resume=earlier("q1"))
    phrases = PHRASES[Language.IT]

    state, first = play(survey, [CallAnswered()], context=context)
    assert says(first) == ["Hi.", phrases.resume_intro, phrases.resume_consent]
    assert state.resumed and not state.consent_given

    state, rest = play(
        survey, [Speech("sì"), Speech("no"), Speech("sì")], context=context, state=state
    )

    assert "Two?" in says(rest) and "One?" not in says(rest)
    assert state.outcome is SurveyOutcome.COMPLETED
    answers = dict(state.answers)
    assert answers["q1"].attempt_id == 7  # carried, still naming the call that collected it
    assert answers["q2"].value is False and answers["q2"].attempt_id is None
    assert answers["q3"].value is True


def test_a_resumed_interview_refused_ends_like_any_refusal() -> None:
    survey = one_language_survey("it-IT")

    state, _ = play(
        survey, [CallAnswered(), Speech("no")], context=CallContext(resume=earlier("q1"))
    )

    assert state.outcome is SurveyOutcome.REFUSED
    assert not state.consent_given  # the earlier answers are not stored again


def test_hanging_up_again_leaves_a_partial_with_every_answer() -> None:
    survey = one_language_survey("it-IT")
    context = CallContext(resume=earlier("q1"))

    state, _ = play(survey, [CallAnswered(), Speech("sì"), Speech("sì"), HungUp()], context=context)

    assert state.outcome is SurveyOutcome.PARTIAL
    assert [qid for qid, _ in state.answers] == ["q1", "q2"]


@pytest.mark.parametrize(
    "carried",
    [
        (),  # nothing to resume
        earlier("q1", "q2", "q3"),  # nothing left to ask
        (("gone", AnswerRecord(True)),),  # answers to questions the survey no longer has
    ],
)
def test_nothing_to_resume_starts_the_interview_afresh(
    carried: tuple[tuple[str, AnswerRecord], ...],
) -> None:
    survey = one_language_survey("it-IT")

    state, actions = play(survey, [CallAnswered()], context=CallContext(resume=carried))

    assert not state.resumed
    assert says(actions) == ["Hi.", "Two minutes?"]
    assert state.answers == ()


@pytest.mark.parametrize(
    ("language", "said", "appointment"),
    [
        ("en-US", "not now", True),  # another time, not a refusal
        ("it-IT", "adesso non posso", True),
        ("de-DE", "nicht jetzt", True),
        ("fr-FR", "pas maintenant", True),
        ("en-US", "no, not now", False),  # a plain no first: a refusal
        ("en-US", "No thanks, I'm busy.", False),
        ("fr-FR", "non merci, pas maintenant", False),
        ("de-DE", "nein danke, nicht jetzt", False),
        ("es-ES", "No, gracias, ahora no tengo tiempo.", False),
        ("en-US", "no, call me tomorrow at six", True),  # a no that names a time
    ],
)
def test_not_now_is_an_appointment_unless_it_starts_with_a_plain_no(
    language: str, said: str, appointment: bool
) -> None:
    state, _ = play(one_language_survey(language), [CallAnswered(), Speech(said)])

    expected = SurveyOutcome.CALLBACK_REQUESTED if appointment else SurveyOutcome.REFUSED
    assert state.outcome is expected


# --- voicemail -----------------------------------------------------------------------------------


def with_voicemail() -> Survey:
    return Survey.from_definition(
        {
            "name": "vm",
            "languages": ["it-IT", "en-US"],
            "script": {
                "intro": "Hi.",
                "consent": "Ok?",
                "refused": "Bye.",
                "closing": "Bye.",
                "voicemail": {
                    "it-IT": "Buongiorno {contact.name|}, la chiamava ACME.",
                    "en-US": "Hello {contact.name|}, ACME called.",
                },
            },
            "questions": [{"id": "q1", "type": "yes_no", "text": "One?"}],
        }
    )


def test_a_machine_whose_greeting_ended_gets_the_message_in_the_contacts_language() -> None:
    context = CallContext(language="en-US", contact={"name": "Anna"})

    state, actions = play(with_voicemail(), [MachineDetected(greeting_ended=True)], context=context)

    assert actions == [
        Say("Hello Anna, ACME called."),
        LeaveVoicemail(),
        Finish(SurveyOutcome.MACHINE),
        HangUp(),
    ]
    assert state.outcome is SurveyOutcome.MACHINE  # retried per the rules, as any machine


@pytest.mark.parametrize(
    ("survey", "event", "context"),
    [
        # Detection that did not wait for the greeting: a message would be cut.
        (with_voicemail(), MachineDetected(), CallContext()),
        # Once a contact.
        (with_voicemail(), MachineDetected(greeting_ended=True), CallContext(voicemail_left=True)),
        # No message in the script.
        (one_language_survey("it-IT"), MachineDetected(greeting_ended=True), CallContext()),
    ],
)
def test_otherwise_a_machine_is_hung_up_on(
    survey: Survey, event: MachineDetected, context: CallContext
) -> None:
    state, actions = play(survey, [event], context=context)

    assert actions == [Finish(SurveyOutcome.MACHINE), HangUp()]
    assert state.outcome is SurveyOutcome.MACHINE


def test_a_respondent_who_calls_back_is_thanked_then_offered_the_survey() -> None:
    survey = one_language_survey("de-DE")

    _, actions = play(survey, [CallAnswered()], context=CallContext(inbound=True))

    assert says(actions) == [PHRASES[Language.DE].inbound_thanks, "Hi.", "Two minutes?"]


# --- "call me later" when no attempt is left for it ---------------------------------------------

NO_CALLBACK = CallContext(callback_possible=False)
YES = {"it-IT": "sì", "en-US": "yes", "es-ES": "sí", "fr-FR": "oui", "de-DE": "ja"}


def confirming_survey(language: str) -> Survey:
    """One number question; an answer heard with little confidence is said back."""
    return Survey.from_definition(
        {
            **{"name": "followups", "language": language, "confirm_below": 0.6},
            "script": {"intro": "Hi.", "consent": "Ok?", "refused": "Bye.", "closing": "Bye."},
            "questions": [{"id": "n", "type": "number", "text": "How many?"}],
        }
    )


@pytest.mark.parametrize("language", sorted(CALL_ME_LATER))
@pytest.mark.parametrize(
    ("prompt", "before"),
    [
        ("consent", ()),
        ("question", ("yes",)),
        ("confirmation", ("yes", "7")),  # a number heard with little confidence: said back
    ],
)
def test_call_me_later_with_no_attempt_left_promises_no_call(
    language: str, prompt: str, before: tuple[str, ...]
) -> None:
    replies = [Speech(YES[language] if said == "yes" else said, 0.3) for said in before]
    if prompt != "consent":
        replies[0] = Speech(YES[language], 0.9)
    phrases = PHRASES[Language(language)]

    state, actions = play(
        confirming_survey(language),
        [CallAnswered(), *replies, Speech(CALL_ME_LATER[language], 0.9)],
        context=NO_CALLBACK,
    )

    assert not any(isinstance(a, Appoint) for a in actions)
    assert says(actions)[-1] == phrases.callback_impossible_goodbye
    assert phrases.callback_goodbye not in says(actions)
    # The outcome says what the respondent asked for, as when the appointment is kept.
    assert state.outcome is SurveyOutcome.CALLBACK_REQUESTED
    assert actions[-2:] == [Finish(SurveyOutcome.CALLBACK_REQUESTED), HangUp()]
    assert state.consent_given is (prompt != "consent")
    assert state.pending is None


# --- what a resumed call says first ----------------------------------------------------------


@pytest.mark.parametrize("language", sorted(CALL_ME_LATER))
@pytest.mark.parametrize("inbound", [False, True])
def test_a_resumed_call_says_who_calls_then_that_it_resumes(language: str, inbound: bool) -> None:
    phrases = PHRASES[Language(language)]
    context = CallContext(resume=earlier("q1"), inbound=inbound)

    state, actions = play(one_language_survey(language), [CallAnswered()], context=context)

    # "Hi." is the survey's intro, which names the caller; it is said on every call.
    if inbound:
        expected = [phrases.inbound_thanks, "Hi.", phrases.resume_intro_inbound]
    else:
        expected = ["Hi.", phrases.resume_intro]
    assert says(actions) == [*expected, phrases.resume_consent]
    assert state.resumed


@pytest.mark.parametrize("language", list(Language))
def test_the_resume_line_of_a_call_back_to_us_is_not_the_one_of_our_call(
    language: Language,
) -> None:
    phrases = PHRASES[language]

    assert phrases.resume_intro_inbound not in (phrases.resume_intro, "")
    assert phrases.callback_impossible_goodbye not in (phrases.callback_goodbye, "")


# --- where a resumed interview goes on -----------------------------------------------------------


def branching_survey() -> Survey:
    """Two is asked only after a yes to One."""
    return Survey.from_definition(
        {
            "name": "branching",
            "language": "en-US",
            "script": {"intro": "Hi.", "consent": "Ok?", "refused": "Bye.", "closing": "Bye."},
            "questions": [
                {"id": "q1", "type": "yes_no", "text": "One?"},
                {"id": "q2", "type": "yes_no", "text": "Two?", "ask_if": {"q1": True}},
                {"id": "q3", "type": "yes_no", "text": "Three?"},
                {"id": "q4", "type": "yes_no", "text": "Four?"},
            ],
        }
    )


def answered(value: bool) -> AnswerRecord:
    return AnswerRecord(value, raw="yes" if value else "no", attempt_id=7)


def skipped(reason: SkipReason) -> AnswerRecord:
    return AnswerRecord(None, raw="", skipped=reason, attempt_id=7)


QUESTIONS = {"One?": "q1", "Two?": "q2", "Three?": "q3", "Four?": "q4"}


def asked(actions: Iterable[Action]) -> list[str]:
    """The survey's questions said, in order (each once, however often re-prompted)."""
    found: list[str] = []
    for text in says(actions):
        for question, qid in QUESTIONS.items():
            if question in text and (not found or found[-1] != qid):
                found.append(qid)
    return found


@pytest.mark.parametrize(
    ("carried", "replies", "expected"),
    [
        # Answered or declined: done with. Silence, unusable words, endless "repeat": ask again.
        ({"q1": answered(True), "q2": skipped(SkipReason.NO_INPUT)}, [], ["q2", "q3", "q4"]),
        ({"q1": answered(True), "q2": skipped(SkipReason.SKIPPED_BY_RESPONDENT)}, [], ["q3", "q4"]),
        (
            {"q1": answered(True), "q2": skipped(SkipReason.INVALID), "q3": answered(True)},
            [],
            ["q2", "q4"],
        ),
        (
            {"q1": answered(True), "q2": skipped(SkipReason.REPEAT_LIMIT), "q3": answered(False)},
            [],
            ["q2", "q4"],
        ),
        # A question its condition ruled out stays unasked while the condition is false...
        (
            {
                "q1": answered(False),
                "q2": skipped(SkipReason.NOT_APPLICABLE),
                "q3": skipped(SkipReason.NO_INPUT),
            },
            [],
            ["q3", "q4"],
        ),
        # ... and is asked once the answer it depends on, left unanswered before, allows it.
        (
            {
                "q1": skipped(SkipReason.NO_INPUT),
                "q2": skipped(SkipReason.NOT_APPLICABLE),
                "q3": answered(True),
            },
            ["yes"],
            ["q1", "q2", "q4"],
        ),
        (
            {
                "q1": skipped(SkipReason.NO_INPUT),
                "q2": skipped(SkipReason.NOT_APPLICABLE),
                "q3": answered(True),
            },
            ["no"],
            ["q1", "q4"],
        ),
        # Only unsettled records: still the same interview, resumed from its first question.
        ({"q1": skipped(SkipReason.INVALID)}, [], ["q1", "q2", "q3", "q4"]),
    ],
)
def test_a_resumed_interview_asks_the_questions_left_unanswered_in_order(
    carried: dict[str, AnswerRecord], replies: list[str], expected: list[str]
) -> None:
    context = CallContext(resume=tuple(carried.items()))
    answers = [Speech(said) for said in [*replies, *["yes"] * 4]]

    state, actions = play(
        branching_survey(), [CallAnswered(), Speech("yes"), *answers], context=context
    )

    assert state.resumed and asked(actions) == expected
    assert state.outcome is SurveyOutcome.COMPLETED
    ids = [qid for qid, _ in state.answers]
    assert ids == sorted(ids)  # one record per question, in the survey's order
    for qid in expected:  # each question asked now holds this call's answer
        record = dict(state.answers)[qid]
        assert record.value is not None and record.attempt_id is None
    settled = {
        qid
        for qid, r in carried.items()
        if r.value is not None or r.skipped is SkipReason.SKIPPED_BY_RESPONDENT
    }
    for qid in settled:  # what was settled is carried unchanged
        assert dict(state.answers)[qid] == carried[qid]


def test_a_question_to_ask_again_keeps_its_earlier_record_until_answered() -> None:
    carried = (("q1", answered(True)), ("q2", skipped(SkipReason.NO_INPUT)))
    context = CallContext(resume=carried)

    state, actions = play(
        branching_survey(), [CallAnswered(), Speech("yes"), HungUp()], context=context
    )

    assert asked(actions) == ["q2"]
    assert state.outcome is SurveyOutcome.PARTIAL
    assert state.answers == carried  # nothing new to store, nothing of the earlier call lost


def test_a_question_left_unanswered_again_is_recorded_once() -> None:
    carried = (("q1", answered(True)), ("q2", skipped(SkipReason.NO_INPUT)))
    context = CallContext(resume=carried)

    state, _ = play(
        branching_survey(),
        [CallAnswered(), Speech("yes"), NoInput(), NoInput(), HungUp()],
        context=context,
    )

    assert [qid for qid, _ in state.answers] == ["q1", "q2"]
    assert dict(state.answers)["q2"] == AnswerRecord(None, skipped=SkipReason.NO_INPUT)


@pytest.mark.parametrize(
    ("q2", "resumed"),
    [
        (None, False),  # Two is not for a "no" to One: nothing is left to ask
        (skipped(SkipReason.SKIPPED_BY_RESPONDENT), False),  # declined: nothing left either
        (skipped(SkipReason.NO_INPUT), True),  # left unanswered: asked again
    ],
)
def test_an_interview_with_nothing_left_to_ask_starts_afresh(
    q2: AnswerRecord | None, resumed: bool
) -> None:
    q1 = answered(q2 is not None)
    rest = (("q3", answered(True)), ("q4", answered(True)))
    carried = (("q1", q1), *((("q2", q2),) if q2 is not None else ()), *rest)

    state, actions = play(
        branching_survey(), [CallAnswered(), Speech("yes")], context=CallContext(resume=carried)
    )

    assert state.resumed is resumed
    assert asked(actions) == (["q2"] if resumed else ["q1"])
    assert state.answers == (carried if resumed else ())
