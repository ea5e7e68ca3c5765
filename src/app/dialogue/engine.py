"""The dialogue engine: one pure step of a spoken survey per event.

Flow: NEW --answered--> intro + consent (CONSENT) --yes--> the questions in order (QUESTION),
each asked only when its `ask_if` holds --> closing (DONE). Every prompt accepts speech or keys;
"repeat"/`*` replays it, "skip"/`#` skips a question, silence or an unusable answer earns one
re-prompt with a hint and then a skip, and "don't call me again" ends the call from anywhere with
an opt-out, and "not now, call me tomorrow at six" from anywhere with an appointment. An answer
heard with too little confidence, or words that allow several answers, is said back (CONFIRM)
before it counts.
A screening question, or a quota that is full, ends the interview politely (screened out).

The call speaks one of the survey's languages, chosen at the start from the contact's.
A call that follows an interrupted interview says the intro (every call says who calls), then
that it resumes, asks a brief consent again, and goes on at the first question the earlier calls
left unanswered, carrying their answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from app.dialogue.actions import (
    Action,
    AnswerValue,
    Appoint,
    CountQuotas,
    Finish,
    HangUp,
    LeaveVoicemail,
    MarkSkipped,
    OptOut,
    RecordAnswer,
    Say,
    SkipReason,
    SurveyOutcome,
)
from app.dialogue.conditions import holds
from app.dialogue.events import (
    CallAnswered,
    Digits,
    Event,
    HungUp,
    MachineDetected,
    NoInput,
    Speech,
)
from app.dialogue.phrases import PHRASES, Phrases
from app.dialogue.prompts import confirm, prompt, reprompt
from app.dialogue.state import AnswerRecord, DialogueState, Phase
from app.dialogue.survey import Item, Language, Question, QuestionType, Survey
from app.dialogue.texts import render
from app.dialogue.understanding import Intent, Reply, read_digits, read_speech

REPEAT_LIMIT = 3  # replays per prompt; the next "repeat" is treated as no answer
REPROMPTS = 1  # re-prompts per prompt after silence or an unusable answer

Step = tuple[DialogueState, tuple[Action, ...]]


@dataclass(frozen=True)
class CallContext:
    """What the engine knows of the call besides the survey: read fresh for every turn."""

    language: str | None = None  # the contact's language, if any
    contact: dict[str, str] = field(default_factory=dict)  # fields piped as {contact.X}
    full_quotas: frozenset[str] = frozenset()  # quotas whose target is reached now
    # The answers of the contact's interrupted interview, when this call is to resume it.
    resume: tuple[tuple[str, AnswerRecord], ...] = ()
    voicemail_left: bool = False  # a message was already left for this contact
    inbound: bool = False  # the respondent called the campaign's number back
    # An appointment made in this call would be kept: the campaign's rules leave the contact an
    # attempt for it. When not, "call me later" gets no promise of a call.
    callback_possible: bool = True


NO_CONTEXT = CallContext()


def transition(
    state: DialogueState, event: Event, *, survey: Survey, context: CallContext = NO_CONTEXT
) -> Step:
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
        return _machine(state, event, survey, context)
    if state.phase is Phase.NEW:
        # Whatever arrives first on a fresh call means someone is there: start with the intro.
        return _start(state, survey, context)
    call = _Call(survey, context, state)
    if state.phase is Phase.QUESTION and call.item(state) is None:
        return call.complete(state, ())  # the survey lost questions mid-call
    if isinstance(event, CallAnswered):
        # A redelivered "answered": ask the current prompt again and count nothing.
        return state, call.ask(state)
    if state.phase is Phase.CONFIRM:
        return call.on_confirmation(state, call.read(event, None))
    return call.on_reply(state, call.read(event, call.question(state)))


def _start(state: DialogueState, survey: Survey, context: CallContext) -> Step:
    language = survey.speaks(context.language)
    started = replace(state, phase=Phase.CONSENT, attempts=0, repeats=0, language=language)
    carried = _carried(survey, context.resume)
    if carried is not None:
        # The earlier answers wait in the state; they count again once consent is given.
        started = replace(started, answers=carried, resumed=True)
    call = _Call(survey, context, started)
    thanks = (Say(call.phrases.inbound_thanks),) if context.inbound else ()
    # The intro names who calls, and every call must say it, a resumed one too.
    intro: tuple[Say, ...] = (Say(call.say(survey.script.intro.get(language))),)
    if started.resumed:
        phrases = call.phrases
        resuming = phrases.resume_intro_inbound if context.inbound else phrases.resume_intro
        intro = (*intro, Say(resuming))
    return started, (*thanks, *intro, *call.ask(started))


# The skips that settle a question for good: the respondent chose not to answer it. Any other
# skip (silence, unusable answers, endless "repeat") is asked again by a resumed call, and a
# question whose ask_if ruled it out is judged again when the call reaches it, from the answers
# as they are by then (one it depends on may have been left unanswered, and be answered now).
_SETTLING_SKIPS = frozenset({SkipReason.SKIPPED_BY_RESPONDENT})


def _settled(record: AnswerRecord) -> bool:
    """Whether a question with this record is done with: answered, or declined."""
    return record.value is not None or record.skipped in _SETTLING_SKIPS


def _carried(
    survey: Survey, answers: tuple[tuple[str, AnswerRecord], ...]
) -> tuple[tuple[str, AnswerRecord], ...] | None:
    """The earlier records of the survey's questions, in its order (the unsettled ones kept
    until asked again); None when there are none, or when no question is left to ask."""
    positions = {item.id: index for index, item in enumerate(survey.items)}
    known = tuple(
        sorted(
            ((qid, record) for qid, record in answers if qid in positions),
            key=lambda pair: positions[pair[0]],
        )
    )
    settled = {qid for qid, record in known if _settled(record)}
    values = {qid: record.value for qid, record in known}
    # The walk asks the first unsettled question whose ask_if holds; up to it, the values are
    # the carried ones, so one such question under them means there is something to ask.
    left = any(
        item.id not in settled and (item.ask_if is None or holds(item.ask_if, values))
        for item in survey.items
    )
    return known if known and left else None


class _Call:
    """One turn of one call: the survey, in the call's language, with the call's context."""

    def __init__(self, survey: Survey, context: CallContext, state: DialogueState) -> None:
        self.survey, self.context = survey, context
        self.language = Language(state.language) if state.language else survey.language
        self.phrases: Phrases = PHRASES[self.language]

    # --- what is said -----------------------------------------------------------------------

    def item(self, state: DialogueState) -> Item | None:
        """The question being asked; None at consent (and past the last question)."""
        if state.phase not in (Phase.QUESTION, Phase.CONFIRM):
            return None
        items = self.survey.items
        return items[state.index] if state.index < len(items) else None

    def question(self, state: DialogueState) -> Question | None:
        """The current question as spoken in this call: its language, its piped values."""
        item = self.item(state)
        if item is None:
            return None
        spoken = item.spoken(self.language)
        return replace(spoken, text=self.say(spoken.text, state))

    def say(self, text: str, state: DialogueState | None = None) -> str:
        answers = dict(state.answers) if state is not None else {}

        def answer(question_id: str) -> str | None:
            record = answers.get(question_id)
            return None if record is None else self.spoken_answer(question_id, record)

        return render(text, contact=self.context.contact, answer=answer)

    def spoken_answer(self, question_id: str, record: AnswerRecord) -> str | None:
        """An answer as said in this call's language: "sì", a choice's label, the number."""
        value = record.value
        item = next((i for i in self.survey.items if i.id == question_id), None)
        if value is None or item is None:
            return None
        if item.type is QuestionType.YES_NO:
            return self.phrases.yes_no_words[0 if value else 1]
        if item.type is QuestionType.CHOICE:
            choice = next((c for c in item.choices if c.value == value), None)
            return str(value) if choice is None else choice.label.get(self.language)
        return str(value)

    def ask(self, state: DialogueState) -> tuple[Action, ...]:
        """The current prompt: the consent question, a question, or the confirmation."""
        if state.phase is Phase.CONFIRM and state.pending is not None:
            return self.confirmation(state, state.pending)
        if state.resumed:
            consent = self.phrases.resume_consent
        else:
            consent = self.say(self.survey.script.consent.get(self.language))
        return prompt(self.question(state), self.language, consent)

    def confirmation(self, state: DialogueState, record: AnswerRecord) -> tuple[Action, ...]:
        item = self.item(state)
        said = self.spoken_answer(item.id, record) if item is not None else None
        return confirm(said or record.raw, self.language)

    # --- what is heard ----------------------------------------------------------------------

    def read(self, event: Speech | Digits | NoInput, question: Question | None) -> Reply:
        if isinstance(event, Speech):
            return read_speech(event.text, event.confidence, question, self.language)
        if isinstance(event, Digits):
            return read_digits(event.digits, question)
        return Reply(Intent.NO_INPUT)

    def on_reply(self, state: DialogueState, reply: Reply) -> Step:
        item = self.item(state)
        if reply.intent is Intent.OPT_OUT:
            return self.opt_out(state)
        if reply.intent is Intent.CALLBACK:
            return self.appointment(state, reply)
        if reply.intent is Intent.REPEAT:
            return self.repeat(state, reply)
        if reply.intent is Intent.SKIP and item is not None:
            return self.skip(state, item, reply)
        value = reply.value
        if reply.intent is Intent.ANSWER and value is not None:
            if item is None:
                return self.consented(state) if value is True else self.refused(state)
            if item.type is QuestionType.CHOICE:
                value = item.value_of(str(value), self.language)
            record = AnswerRecord(value, raw=reply.raw, confidence=reply.confidence)
            if self.unsure(item, reply):
                return self.ask_back(state, record)
            return self.record(state, item, replace(record, corrected=state.corrected))
        # Silence, an unusable answer, or "skip" at consent (which is not a yes).
        return self.miss(state, item, reply)

    def unsure(self, item: Item, reply: Reply) -> bool:
        """Whether to say the answer back: words that allow several answers ("sette o otto"),
        or speech heard with less confidence than the question or the survey asks for."""
        if reply.ambiguous and not _keyed(reply):
            return True
        threshold = item.confirm_below
        if threshold is None:
            threshold = self.survey.confirm_below
        if threshold is None or reply.raw.strip() == "" or _keyed(reply):
            return False
        if item.type is QuestionType.FREE_TEXT:
            return False  # any words are the answer: there is nothing to get wrong
        return reply.confidence is not None and reply.confidence < threshold

    def ask_back(self, state: DialogueState, record: AnswerRecord) -> Step:
        asking = replace(state, phase=Phase.CONFIRM, pending=record, attempts=0, repeats=0)
        return asking, self.confirmation(asking, record)

    def on_confirmation(self, state: DialogueState, reply: Reply) -> Step:
        item, pending = self.item(state), state.pending
        if item is None or pending is None:
            return self.complete(state, ())
        if reply.intent is Intent.OPT_OUT:
            return self.opt_out(state)
        if reply.intent is Intent.CALLBACK:
            return self.appointment(replace(state, pending=None), reply)
        if reply.intent is Intent.ANSWER and reply.value is True:
            confirmed = replace(pending, confirmed=True, corrected=state.corrected)
            return self.record(replace(state, phase=Phase.QUESTION, pending=None), item, confirmed)
        if reply.intent is Intent.ANSWER and reply.value is False:
            again = replace(
                state, phase=Phase.QUESTION, pending=None, corrected=True, attempts=0, repeats=0
            )
            return again, (Say(self.phrases.confirm_again), *self.ask(again))
        if reply.intent is Intent.REPEAT and state.repeats < REPEAT_LIMIT:
            return replace(state, repeats=state.repeats + 1), self.confirmation(state, pending)
        if state.attempts < REPROMPTS:
            return replace(state, attempts=state.attempts + 1), self.confirmation(state, pending)
        # No yes or no after asking twice: keep what was heard, marked as not confirmed.
        kept = replace(pending, confirmed=False, corrected=state.corrected)
        return self.record(replace(state, phase=Phase.QUESTION, pending=None), item, kept)

    # --- moving on --------------------------------------------------------------------------

    def consented(self, state: DialogueState) -> Step:
        # From the top: a resumed interview's settled questions are passed over on the way.
        asking = replace(
            state, phase=Phase.QUESTION, index=0, attempts=0, repeats=0, consent_given=True
        )
        return self.next_question(asking, (), (Say(self.phrases.thanks),))

    def repeat(self, state: DialogueState, reply: Reply) -> Step:
        item = self.item(state)
        if state.repeats >= REPEAT_LIMIT:
            return self.give_up(state, item, SkipReason.REPEAT_LIMIT, reply.raw)
        replay = (Say(self.phrases.repeating), *self.ask(state))
        return replace(state, repeats=state.repeats + 1), replay

    def miss(self, state: DialogueState, item: Item | None, reply: Reply) -> Step:
        silent = reply.intent is Intent.NO_INPUT
        reason = SkipReason.NO_INPUT if silent else SkipReason.INVALID
        # Silence after an optional question means "nothing to add": do not insist.
        optional = item is not None and not item.required and silent
        if optional or state.attempts >= REPROMPTS:
            return self.give_up(state, item, reason, reply.raw)
        preface = self.phrases.no_input if silent else self.phrases.not_understood
        again = reprompt(self.question(state), self.language, preface)
        return replace(state, attempts=state.attempts + 1), again

    def give_up(
        self, state: DialogueState, item: Item | None, reason: SkipReason, raw: str
    ) -> Step:
        if item is None:
            return self.no_consent(state)
        record = AnswerRecord(None, raw=raw, skipped=reason)
        return self.advance(state, item, record, (MarkSkipped(item.id, reason, raw),))

    def skip(self, state: DialogueState, item: Item, reply: Reply) -> Step:
        reason = SkipReason.SKIPPED_BY_RESPONDENT
        record = AnswerRecord(None, raw=reply.raw, skipped=reason)
        done = (MarkSkipped(item.id, reason, reply.raw), Say(self.phrases.skipped))
        return self.advance(state, item, record, done)

    def record(self, state: DialogueState, item: Item, record: AnswerRecord) -> Step:
        assert record.value is not None
        done = (
            RecordAnswer(
                item.id,
                record.value,
                record.raw,
                record.confidence,
                confirmed=record.confirmed,
                corrected=record.corrected,
            ),
        )
        return self.advance(state, item, record, done, announce=False)

    def advance(
        self,
        state: DialogueState,
        item: Item,
        record: AnswerRecord,
        done: tuple[Action, ...],
        *,
        announce: bool = True,
    ) -> Step:
        """Store `record`; screen out if it says so; else ask the next question, or close."""
        answers = _with_answer(state.answers, item.id, record)
        moved = replace(
            state, index=state.index + 1, attempts=0, repeats=0, answers=answers, corrected=False
        )
        screened_by = self.screening(moved, item)
        if screened_by is not None:
            return self.screen_out(moved, done, screened_by)
        lead = (Say(self.phrases.moving_on),) if announce else ()
        return self.next_question(moved, done, lead)

    def next_question(
        self, state: DialogueState, done: tuple[Action, ...], lead: tuple[Action, ...] = ()
    ) -> Step:
        """Ask the next question whose ask_if holds (`lead` said first); the others are not
        applicable. Questions an earlier call settled are passed over. With none left, close the
        survey."""
        skipped: list[Action] = []
        settled = {qid for qid, record in state.answers if _settled(record)}
        while state.index < len(self.survey.items):
            item = self.survey.items[state.index]
            if item.id in settled:
                state = replace(state, index=state.index + 1)
                continue
            if item.ask_if is None or holds(item.ask_if, _values(state)):
                return state, (*done, *skipped, *lead, *self.ask(state))
            reason = SkipReason.NOT_APPLICABLE
            not_asked = AnswerRecord(None, skipped=reason)
            state = replace(
                state,
                index=state.index + 1,
                answers=_with_answer(state.answers, item.id, not_asked),
            )
            skipped.append(MarkSkipped(item.id, reason))
            # A quota may be decided by a question its respondent is never asked.
            screened_by = self.screening(state, item)
            if screened_by is not None:
                return self.screen_out(state, (*done, *skipped), screened_by)
        return self.complete(state, (*done, *skipped))

    def screening(self, state: DialogueState, item: Item) -> str | None:
        """Why the respondent is screened out after `item`, or None to go on."""
        values = _values(state)
        if item.screen_out_if is not None and holds(item.screen_out_if, values):
            return f"question:{item.id}"
        asked = {question_id for question_id, _ in state.answers}
        for quota in self.survey.quotas:
            # Judged at the question that decides it: the last one its condition looks at.
            looks_at = quota.when.question_ids()
            deciding = item.id in looks_at and looks_at <= asked
            full = quota.name in self.context.full_quotas
            if deciding and full and holds(quota.when, values):
                return f"quota:{quota.name}"
        return None

    # --- endings ----------------------------------------------------------------------------

    def complete(self, state: DialogueState, done: tuple[Action, ...]) -> Step:
        closed = replace(_end(state, SurveyOutcome.COMPLETED), pending=None)
        values = _values(state)
        quotas = tuple(q.name for q in self.survey.quotas if holds(q.when, values))
        counted: tuple[Action, ...] = (CountQuotas(quotas),) if quotas else ()
        closing = Say(self.say(self.survey.script.closing.get(self.language), state))
        return closed, (*done, closing, *counted, Finish(SurveyOutcome.COMPLETED), HangUp())

    def screen_out(self, state: DialogueState, done: tuple[Action, ...], why: str) -> Step:
        closed = replace(_end(state, SurveyOutcome.SCREENED_OUT), screened_by=why)
        script = self.survey.script.screened_out
        text = self.phrases.screened_out if script is None else script.get(self.language)
        goodbye = Say(self.say(text, state))
        return closed, (*done, goodbye, Finish(SurveyOutcome.SCREENED_OUT), HangUp())

    def refused(self, state: DialogueState) -> Step:
        closed = _end(state, SurveyOutcome.REFUSED)
        goodbye = Say(self.say(self.survey.script.refused.get(self.language)))
        return closed, (goodbye, Finish(SurveyOutcome.REFUSED), HangUp())

    def no_consent(self, state: DialogueState) -> Step:
        outcome = SurveyOutcome.NO_CONSENT_INPUT
        goodbye = Say(self.phrases.no_consent_goodbye)
        return _end(state, outcome), (goodbye, Finish(outcome), HangUp())

    def appointment(self, state: DialogueState, reply: Reply) -> Step:
        assert reply.callback is not None
        outcome = SurveyOutcome.CALLBACK_REQUESTED
        if not self.context.callback_possible:
            # No attempt is left for it: book nothing, promise nothing. The outcome still says
            # what the respondent asked for; without a time the contact ends not reached.
            honest = Say(self.phrases.callback_impossible_goodbye)
            return _end(state, outcome), (honest, Finish(outcome), HangUp())
        goodbye = Say(self.phrases.callback_goodbye)
        return _end(state, outcome), (
            Appoint(reply.callback, reply.raw),
            goodbye,
            Finish(outcome),
            HangUp(),
        )

    def opt_out(self, state: DialogueState) -> Step:
        outcome = SurveyOutcome.OPTED_OUT
        goodbye = Say(self.phrases.opt_out_goodbye)
        return _end(state, outcome), (OptOut(), goodbye, Finish(outcome), HangUp())


def _with_answer(
    answers: tuple[tuple[str, AnswerRecord], ...], question_id: str, record: AnswerRecord
) -> tuple[tuple[str, AnswerRecord], ...]:
    """`answers` with `record` for the question: in place of the record an earlier call left
    (a resumed call asking it again), else last."""
    if all(qid != question_id for qid, _ in answers):
        return (*answers, (question_id, record))
    return tuple((qid, record if qid == question_id else old) for qid, old in answers)


def _values(state: DialogueState) -> dict[str, AnswerValue | None]:
    return {question_id: record.value for question_id, record in state.answers}


def _keyed(reply: Reply) -> bool:
    # Keys carry no confidence: what was pressed is what was meant.
    return reply.confidence is None and reply.raw.strip("0123456789*#") == ""


def _hung_up(state: DialogueState) -> Step:
    # After consent the answers given so far are worth keeping; before it there is no survey.
    asking = state.phase in (Phase.QUESTION, Phase.CONFIRM)
    outcome = SurveyOutcome.PARTIAL if asking else None
    return _end(state, outcome), (Finish(outcome),)


def _machine(
    state: DialogueState, event: MachineDetected, survey: Survey, context: CallContext
) -> Step:
    if state.phase in (Phase.QUESTION, Phase.CONFIRM):
        # Someone already said yes to consent: a late detection is wrong, keep going.
        return state, ()
    ended = _end(state, SurveyOutcome.MACHINE)
    message = survey.script.voicemail
    # Only once the greeting is over (said earlier, the message would be cut), once a contact.
    if message is None or not event.greeting_ended or context.voicemail_left:
        return ended, (Finish(SurveyOutcome.MACHINE), HangUp())
    language = survey.speaks(context.language)
    spoken = render(message.get(language), contact=context.contact, answer=lambda _: None)
    ended = replace(ended, language=language)
    return ended, (Say(spoken), LeaveVoicemail(), Finish(SurveyOutcome.MACHINE), HangUp())


def _end(state: DialogueState, outcome: SurveyOutcome | None) -> DialogueState:
    return replace(state, phase=Phase.DONE, outcome=outcome)
