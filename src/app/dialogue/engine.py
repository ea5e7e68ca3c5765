"""The dialogue engine: one pure step of a spoken survey per event.

Flow: NEW --answered--> intro + consent (CONSENT) --yes--> questions in order (QUESTION) -->
closing (DONE). Every prompt accepts speech or keys; "repeat"/`*` replays it, "skip"/`#` skips a
question, silence or an unusable answer earns one re-prompt with a hint and then a skip, and
"don't call me again" ends the call from anywhere with an opt-out.
"""

from __future__ import annotations

from dataclasses import replace

from app.dialogue.actions import (
    Action,
    AnswerValue,
    Finish,
    HangUp,
    MarkSkipped,
    OptOut,
    RecordAnswer,
    Say,
    SkipReason,
    SurveyOutcome,
)
from app.dialogue.events import (
    CallAnswered,
    Digits,
    Event,
    HungUp,
    MachineDetected,
    NoInput,
    Speech,
)
from app.dialogue.phrases import PHRASES
from app.dialogue.prompts import prompt, reprompt
from app.dialogue.state import AnswerRecord, DialogueState, Phase
from app.dialogue.survey import Question, Survey
from app.dialogue.understanding import Intent, Reply, read_digits, read_speech

REPEAT_LIMIT = 3  # replays per prompt; the next "repeat" is treated as no answer
REPROMPTS = 1  # re-prompts per prompt after silence or an unusable answer

Step = tuple[DialogueState, tuple[Action, ...]]


def transition(state: DialogueState, event: Event, *, survey: Survey) -> Step:
    """Apply `event` to `state`; return the next state and the actions to carry out, in order.

    Pure and deterministic: no I/O, clock or randomness, so the caller may persist the state,
    replay a turn, or test a whole conversation in memory. `turn` grows by one on every call,
    including no-op ones, so the webhook layer can tell a replayed request from a new one.
    Once the phase is DONE every event yields no actions.
    """
    state = replace(state, turn=state.turn + 1)
    if state.phase is Phase.DONE:
        return state, ()
    if isinstance(event, HungUp):
        return _hung_up(state)
    if isinstance(event, MachineDetected):
        return _machine(state)
    if state.phase is Phase.NEW:
        # Whatever arrives first on a fresh call means someone is there: start with the intro.
        return _start(state, survey)
    question = _current(state, survey)
    if state.phase is Phase.QUESTION and question is None:
        return _complete(state, survey, ())  # the survey lost questions mid-call
    if isinstance(event, CallAnswered):
        # A redelivered "answered": ask the current prompt again and count nothing.
        return state, prompt(survey, question)
    return _on_reply(state, survey, question, _read(event, question, survey))


def _read(event: Speech | Digits | NoInput, question: Question | None, survey: Survey) -> Reply:
    if isinstance(event, Speech):
        return read_speech(event.text, event.confidence, question, survey.language)
    if isinstance(event, Digits):
        return read_digits(event.digits, question)
    return Reply(Intent.NO_INPUT)


def _current(state: DialogueState, survey: Survey) -> Question | None:
    """Return the question being asked; None at consent (and past the last question)."""
    if state.phase is not Phase.QUESTION or state.index >= len(survey.questions):
        return None
    return survey.questions[state.index]


def _on_reply(
    state: DialogueState, survey: Survey, question: Question | None, reply: Reply
) -> Step:
    if reply.intent is Intent.OPT_OUT:
        return _opt_out(state, survey)
    if reply.intent is Intent.REPEAT:
        return _repeat(state, survey, question, reply)
    if reply.intent is Intent.SKIP and question is not None:
        return _skip(state, survey, question, reply)
    value = reply.value
    if reply.intent is Intent.ANSWER and value is not None:
        if question is None:
            return _consented(state, survey) if value is True else _refused(state, survey)
        return _record(state, question, reply, value, survey)
    # Silence, an unusable answer, or "skip" at consent (which is not a yes).
    return _miss(state, survey, question, reply)


def _start(state: DialogueState, survey: Survey) -> Step:
    started = replace(state, phase=Phase.CONSENT, attempts=0, repeats=0)
    return started, (Say(survey.script.intro), *prompt(survey, None))


def _consented(state: DialogueState, survey: Survey) -> Step:
    asking = replace(
        state, phase=Phase.QUESTION, index=0, attempts=0, repeats=0, consent_given=True
    )
    first = _current(asking, survey)
    if first is None:
        return _complete(asking, survey, ())
    return asking, (Say(PHRASES[survey.language].thanks), *prompt(survey, first))


def _repeat(state: DialogueState, survey: Survey, question: Question | None, reply: Reply) -> Step:
    if state.repeats >= REPEAT_LIMIT:
        return _give_up(state, survey, question, SkipReason.REPEAT_LIMIT, reply.raw)
    replay = (Say(PHRASES[survey.language].repeating), *prompt(survey, question))
    return replace(state, repeats=state.repeats + 1), replay


def _miss(state: DialogueState, survey: Survey, question: Question | None, reply: Reply) -> Step:
    silent = reply.intent is Intent.NO_INPUT
    reason = SkipReason.NO_INPUT if silent else SkipReason.INVALID
    # Silence after an optional question means "nothing to add": do not insist.
    optional = question is not None and not question.required and silent
    if optional or state.attempts >= REPROMPTS:
        return _give_up(state, survey, question, reason, reply.raw)
    say = PHRASES[survey.language]
    preface = say.no_input if silent else say.not_understood
    return replace(state, attempts=state.attempts + 1), reprompt(survey, question, preface)


def _give_up(
    state: DialogueState,
    survey: Survey,
    question: Question | None,
    reason: SkipReason,
    raw: str,
) -> Step:
    if question is None:
        return _no_consent(state, survey)
    record = AnswerRecord(None, raw=raw, skipped=reason)
    return _advance(state, survey, question, record, (MarkSkipped(question.id, reason, raw),))


def _skip(state: DialogueState, survey: Survey, question: Question, reply: Reply) -> Step:
    reason = SkipReason.SKIPPED_BY_RESPONDENT
    record = AnswerRecord(None, raw=reply.raw, skipped=reason)
    done = (MarkSkipped(question.id, reason, reply.raw), Say(PHRASES[survey.language].skipped))
    return _advance(state, survey, question, record, done)


def _record(
    state: DialogueState, question: Question, reply: Reply, value: AnswerValue, survey: Survey
) -> Step:
    record = AnswerRecord(value, raw=reply.raw, confidence=reply.confidence)
    done = (RecordAnswer(question.id, value, reply.raw, reply.confidence),)
    return _advance(state, survey, question, record, done, announce=False)


def _advance(
    state: DialogueState,
    survey: Survey,
    question: Question,
    record: AnswerRecord,
    done: tuple[Action, ...],
    *,
    announce: bool = True,
) -> Step:
    """Store `record`, then ask the next question or close the survey."""
    answers = (*state.answers, (question.id, record))
    moved = replace(state, index=state.index + 1, attempts=0, repeats=0, answers=answers)
    following = _current(moved, survey)
    if following is None:
        return _complete(moved, survey, done)
    lead = (Say(PHRASES[survey.language].moving_on),) if announce else ()
    return moved, (*done, *lead, *prompt(survey, following))


def _complete(state: DialogueState, survey: Survey, done: tuple[Action, ...]) -> Step:
    closed = _end(state, SurveyOutcome.COMPLETED)
    return closed, (*done, Say(survey.script.closing), Finish(SurveyOutcome.COMPLETED), HangUp())


def _refused(state: DialogueState, survey: Survey) -> Step:
    closed = _end(state, SurveyOutcome.REFUSED)
    return closed, (Say(survey.script.refused), Finish(SurveyOutcome.REFUSED), HangUp())


def _no_consent(state: DialogueState, survey: Survey) -> Step:
    goodbye = Say(PHRASES[survey.language].no_consent_goodbye)
    outcome = SurveyOutcome.NO_CONSENT_INPUT
    return _end(state, outcome), (goodbye, Finish(outcome), HangUp())


def _opt_out(state: DialogueState, survey: Survey) -> Step:
    goodbye = Say(PHRASES[survey.language].opt_out_goodbye)
    outcome = SurveyOutcome.OPTED_OUT
    return _end(state, outcome), (OptOut(), goodbye, Finish(outcome), HangUp())


def _hung_up(state: DialogueState) -> Step:
    # After consent the answers given so far are worth keeping; before it there is no survey.
    outcome = SurveyOutcome.PARTIAL if state.phase is Phase.QUESTION else None
    return _end(state, outcome), (Finish(outcome),)


def _machine(state: DialogueState) -> Step:
    if state.phase is Phase.QUESTION:
        # Someone already said yes to consent: a late detection is wrong, keep going.
        return state, ()
    return _end(state, SurveyOutcome.MACHINE), (Finish(SurveyOutcome.MACHINE), HangUp())


def _end(state: DialogueState, outcome: SurveyOutcome | None) -> DialogueState:
    return replace(state, phase=Phase.DONE, outcome=outcome)
