"""One turn of a call: load the dialogue, apply one event, persist its effects, say what's next.

Each voice webhook locks the attempt row, so two deliveries of the same turn are serialised; the
turn number in the action URL tells a provider's retry (answered with the stored reply) from a new
answer (applied once).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.appointments import book
from app.calls.audit import CONSENT, OPT_OUT, VOICEMAIL, record_event
from app.calls.interviews import Interrupted, interrupted_interview, save_answers
from app.calls.models import CallAttempt, Direction, Outcome
from app.calls.policy import RetryPlan, plan_step
from app.calls.quotas import count_complete, full_quotas
from app.campaigns.models import Campaign, Contact, ContactState
from app.db.base import sql_literal
from app.dialogue import (
    Action,
    Appoint,
    CallAnswered,
    CallContext,
    CountQuotas,
    DialogueState,
    Digits,
    Event,
    Finish,
    HangUp,
    HungUp,
    InvalidSurvey,
    LeaveVoicemail,
    Listen,
    MachineDetected,
    NoInput,
    OptOut,
    Phase,
    Say,
    Speech,
    Survey,
    SurveyOutcome,
    transition,
)
from app.telephony.base import Answerer, Listening, Reply, VoiceTurn

log = logging.getLogger(__name__)

PENDING = sql_literal(ContactState.PENDING)
DO_NOT_CALL = sql_literal(ContactState.DO_NOT_CALL)

# How the dialogue's ending is recorded on the attempt (and so what happens to the contact).
OUTCOMES = {
    SurveyOutcome.COMPLETED: Outcome.COMPLETED,
    SurveyOutcome.REFUSED: Outcome.REFUSED,
    SurveyOutcome.PARTIAL: Outcome.PARTIAL,
    SurveyOutcome.OPTED_OUT: Outcome.OPTED_OUT,
    # Never said yes after two tries: an implicit refusal; calling back would be intrusive.
    SurveyOutcome.NO_CONSENT_INPUT: Outcome.REFUSED,
    SurveyOutcome.MACHINE: Outcome.MACHINE,
    SurveyOutcome.SCREENED_OUT: Outcome.SCREENED_OUT,
    SurveyOutcome.CALLBACK_REQUESTED: Outcome.CALLBACK_REQUESTED,
}


@dataclass(frozen=True)
class VoiceReply:
    """What the provider should do this turn, provider-neutral."""

    language: str
    says: tuple[str, ...] = ()
    listen: Listen | None = None
    hangup: bool = False
    turn: int = 0  # the turn the respondent's next answer refers to

    def for_provider(self) -> Reply:
        """The reply as the provider renders it: listen, or hang up after speaking."""
        listen = self.listen
        if self.hangup or listen is None:
            return Reply(self.language, self.says)
        listening = Listening(listen.hints, listen.timeout_seconds, listen.num_digits)
        return Reply(self.language, self.says, listening)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["says"] = list(self.says)
        return data

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> VoiceReply:
        listen = raw.get("listen")
        return cls(
            language=raw["language"],
            says=tuple(raw.get("says", ())),
            listen=None
            if listen is None
            else Listen(**{**listen, "hints": tuple(listen["hints"])}),
            hangup=bool(raw.get("hangup")),
            turn=int(raw.get("turn", 0)),
        )


def dialogue_event(turn: VoiceTurn) -> Event:
    """What the voice webhook means for the dialogue."""
    if turn.turn is None:
        machine = turn.answered_by in (Answerer.MACHINE, Answerer.FAX)
        ended = turn.greeting_ended and turn.answered_by is Answerer.MACHINE
        return MachineDetected(greeting_ended=ended) if machine else CallAnswered()
    if turn.speech:
        return Speech(text=turn.speech, confidence=turn.confidence)
    if turn.digits:
        return Digits(digits=turn.digits)
    return NoInput()


async def voice_turn(session: AsyncSession, turn: VoiceTurn) -> VoiceReply:
    """Apply the respondent's answer to the prompt of its turn, once; the caller commits."""
    event = dialogue_event(turn)
    loaded = await _load(session, turn.attempt_id)
    if loaded is None:
        return VoiceReply(language="en-US", hangup=True)
    attempt, campaign, contact = loaded
    try:
        survey = survey_of(campaign)
    except InvalidSurvey as exc:
        # Campaigns are validated when created; a damaged one must not crash every turn.
        log.error("Campaign %s has an unusable survey (%s); hanging up", campaign.id, exc)
        return VoiceReply(language="en-US", hangup=True)
    stored = attempt.dialogue_state or {}
    state = DialogueState.from_dict(stored["engine"]) if "engine" in stored else DialogueState()
    if attempt.ended_at is not None:
        return VoiceReply(language=survey.language.value, hangup=True)
    if (turn.turn or 0) != state.turn and "reply" in stored:
        # A redelivery (or a stale request): answer exactly as before, change nothing.
        return VoiceReply.from_dict(stored["reply"])
    resumed_from = stored.get("resumed_from")
    interrupted = None
    if state.phase is Phase.NEW:
        interrupted = await interrupted_interview(
            session, contact_id=contact.id, attempt_id=attempt.id
        )
        resumed_from = None if interrupted is None else interrupted.response_id
    context = await _context(session, survey, (attempt, campaign, contact), interrupted)
    before = state
    state, actions = transition(state, event, survey=survey, context=context)
    reply = reply_of(survey, state, actions)
    turn_facts = _Turn(attempt, campaign, contact, event, resumed_from)
    await _apply(session, turn_facts, before, state, actions)
    attempt.dialogue_state = {
        "engine": state.to_dict(),
        "reply": reply.to_dict(),
        "resumed_from": resumed_from,
    }
    attempt.last_event_at = func.now()  # the database clock, set by the UPDATE itself
    await session.flush()
    return reply


async def end_dialogue_on_hangup(session: AsyncSession, attempt: CallAttempt) -> None:
    """Let the dialogue conclude on hang-up (partial answers kept) before the attempt closes."""
    stored = attempt.dialogue_state or {}
    if "engine" not in stored:
        return
    state = DialogueState.from_dict(stored["engine"])
    if state.phase is Phase.DONE:
        return
    campaign = await session.get(Campaign, attempt.campaign_id)
    if campaign is None:
        return
    contact = await session.get(Contact, attempt.contact_id)
    if contact is None:
        return
    survey = survey_of(campaign)
    before = state
    state, actions = transition(state, HungUp(), survey=survey)
    turn = _Turn(attempt, campaign, contact, HungUp(), stored.get("resumed_from"))
    await _apply(session, turn, before, state, actions)
    attempt.dialogue_state = {**stored, "engine": state.to_dict()}
    await session.flush()


# Each campaign's survey, read once per worker rather than on every turn. A campaign's document
# is written once, when it is created, and never updated by the service; the entry still keeps
# the document it was read from and is used only while the row holds an equal one, so a
# document edited by hand in the database (or another database reusing the id) is read anew.
_SURVEYS: OrderedDict[int, tuple[dict[str, Any], Survey]] = OrderedDict()
_SURVEYS_KEPT = 256


def survey_of(campaign: Campaign) -> Survey:
    """The campaign's survey, parsed once while its document stays the same (InvalidSurvey if
    it is unusable; that is not kept)."""
    cached = _SURVEYS.get(campaign.id)
    if cached is not None and cached[0] == campaign.definition:
        _SURVEYS.move_to_end(campaign.id)
        return cached[1]
    survey = Survey.from_definition(campaign.definition)
    _SURVEYS[campaign.id] = (campaign.definition, survey)
    if len(_SURVEYS) > _SURVEYS_KEPT:
        _SURVEYS.popitem(last=False)
    return survey


async def _load(
    session: AsyncSession, attempt_id: int
) -> tuple[CallAttempt, Campaign, Contact] | None:
    row = (
        await session.execute(
            select(CallAttempt, Campaign, Contact)
            .join(Campaign, Campaign.id == CallAttempt.campaign_id)
            .join(Contact, Contact.id == CallAttempt.contact_id)
            .where(CallAttempt.id == attempt_id)
            .with_for_update(of=CallAttempt)
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


async def _context(
    session: AsyncSession,
    survey: Survey,
    call: tuple[CallAttempt, Campaign, Contact],
    interrupted: Interrupted | None,
) -> CallContext:
    """What the turn needs besides the survey: the contact's fields, the quotas that are full,
    the interview to resume, whether an appointment could be kept."""
    attempt, campaign, contact = call
    fields = contact_fields(contact.attributes, contact.name, contact.external_id)
    full = await full_quotas(session, attempt.campaign_id) if survey.quotas else frozenset()
    resume = () if interrupted is None else interrupted.answers
    return CallContext(
        language=contact.language,
        contact=fields,
        full_quotas=full,
        resume=resume,
        voicemail_left=contact.voicemail_left_at is not None,
        inbound=attempt.direction is Direction.INBOUND,
        callback_possible=callback_possible(
            max_attempts=campaign.max_attempts,
            attempt_number=attempt.attempt_number,
            appointments=contact.appointments_count,
        ),
    )


def callback_possible(*, max_attempts: int, attempt_number: int, appointments: int) -> bool:
    """Whether an appointment made on this attempt would be kept, by the very rule that moves
    the contact when the attempt closes; `appointments` counts those made before this call."""
    step = plan_step(
        RetryPlan(max_attempts),
        Outcome.CALLBACK_REQUESTED,
        attempt_number=attempt_number,
        appointments=appointments + 1,
    )
    return step.appointment


def contact_fields(
    attributes: dict[str, Any] | None, name: str | None, external_id: str | None
) -> dict[str, str]:
    """What a survey's text may name of the contact: its attributes, name and external id."""
    fields = {key: str(value) for key, value in (attributes or {}).items()}
    fields.update({k: v for k, v in (("name", name), ("external_id", external_id)) if v})
    return fields


def reply_of(survey: Survey, state: DialogueState, actions: tuple[Action, ...]) -> VoiceReply:
    says = tuple(a.text for a in actions if isinstance(a, Say))
    listen = next((a for a in actions if isinstance(a, Listen)), None)
    hangup = any(isinstance(a, HangUp) for a in actions) or (
        listen is None and state.phase is Phase.DONE
    )
    language = state.language or survey.language.value
    return VoiceReply(language=language, says=says, listen=listen, hangup=hangup, turn=state.turn)


@dataclass(frozen=True)
class _Turn:
    """What a turn's effects are written against."""

    attempt: CallAttempt
    campaign: Campaign
    contact: Contact
    event: Event
    resumed_from: int | None


async def _apply(
    session: AsyncSession,
    turn: _Turn,
    before: DialogueState,
    state: DialogueState,
    actions: tuple[Action, ...],
) -> None:
    """Persist what the turn decided: answers, opt-out, appointment, quotas, the outcome."""
    attempt = turn.attempt
    if state.language and attempt.language != state.language:
        attempt.language = state.language
    for action in actions:
        if isinstance(action, OptOut):
            await _opt_out(session, attempt)
        elif isinstance(action, Appoint):
            await book(session, attempt, turn.campaign, turn.contact, action)
        elif isinstance(action, LeaveVoicemail):
            await _voicemail_left(session, turn)
        elif isinstance(action, CountQuotas):
            await count_complete(session, attempt.campaign_id, action.names)
        elif isinstance(action, Finish) and action.outcome is not None:
            attempt.outcome = OUTCOMES[action.outcome]
    if state.consent_given and not before.consent_given:
        await _audit_consent(session, turn)
    if state.consent_given:
        await save_answers(session, attempt, state, turn.resumed_from)


async def _voicemail_left(session: AsyncSession, turn: _Turn) -> None:
    turn.contact.voicemail_left_at = func.now()
    await _audit(session, turn, VOICEMAIL, {})
    log.info("Voicemail message left for contact %s", turn.contact.id)


async def _audit_consent(session: AsyncSession, turn: _Turn) -> None:
    await _audit(session, turn, CONSENT, consent_detail(turn.event))


def consent_detail(event: Event) -> dict[str, Any]:
    """What the audit trail keeps of the answer that gave consent."""
    said = event.text if isinstance(event, Speech) else getattr(event, "digits", "")
    confidence = event.confidence if isinstance(event, Speech) else None
    return {"said": said, "confidence": confidence}


async def _audit(session: AsyncSession, turn: _Turn, kind: str, detail: dict[str, Any]) -> None:
    await record_event(
        session,
        contact_id=turn.contact.id,
        campaign_id=turn.campaign.id,
        attempt_id=turn.attempt.id,
        kind=kind,
        detail=detail,
    )


_OPT_OUT = text(f"""
WITH number AS (SELECT phone_number FROM contacts WHERE id = :contact_id),
listed AS (
    INSERT INTO do_not_call (phone_number, reason, campaign_id)
    SELECT phone_number, 'asked not to be called again during a survey call', :campaign_id
    FROM number
    ON CONFLICT (phone_number) DO NOTHING
)
UPDATE contacts SET state = {DO_NOT_CALL}, updated_at = now()
WHERE phone_number = (SELECT phone_number FROM number) AND state = {PENDING}
""")


async def _opt_out(session: AsyncSession, attempt: CallAttempt) -> None:
    """List the number, and stop every other pending call to it in any campaign."""
    await session.execute(
        _OPT_OUT, {"contact_id": attempt.contact_id, "campaign_id": attempt.campaign_id}
    )
    await record_event(
        session,
        contact_id=attempt.contact_id,
        campaign_id=attempt.campaign_id,
        attempt_id=attempt.id,
        kind=OPT_OUT,
        detail={},
    )
    log.info("Contact %s opted out: number added to the do-not-call list", attempt.contact_id)
