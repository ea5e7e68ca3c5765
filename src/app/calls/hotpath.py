"""Most of a call's webhooks, without the ORM: a turn that records answers or consent, and a
status callback that only moves the call forward.

Of the ten or so requests of a call, all but the final status callback are of these kinds, and
under load the ORM's object bookkeeping and five round trips per request were most of the
service's CPU (bench/README.md, "Voice turn latency"). Here a turn reads what it needs in one
statement, decides in Python with the same dialogue engine, and writes everything in one
statement that only matches while the attempt's row is the version it read (`xmin`): a request
of the same call that wrote in between (a provider's retry, a status callback) makes the write
match nothing, and the turn starts again from a fresh read, so two deliveries of one answer still
apply it once. A status callback is a single statement that locks the row itself.

Whatever these paths do not handle (opt-out, appointments, voicemail, quotas, the call's end,
anything unusual) they return None for without having written anything, and the request goes the
full way (`app.calls.voice`, `app.calls.events`), which locks the row.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import asyncpg

from app.calls.events import EventResult
from app.calls.interviews import Interrupted, answers_document, interrupted_from, interrupted_sql
from app.calls.models import Direction
from app.calls.statuses import attempt_status, rank, rank_sql
from app.calls.voice import (
    OUTCOMES,
    VoiceReply,
    callback_possible,
    consent_detail,
    contact_fields,
    dialogue_event,
    reply_of,
)
from app.dialogue import (
    Action,
    CallContext,
    DialogueState,
    Event,
    Finish,
    HangUp,
    InvalidSurvey,
    Listen,
    MarkSkipped,
    Phase,
    RecordAnswer,
    Say,
    Survey,
    SurveyOutcome,
    transition,
)
from app.telephony.base import StatusEvent, VoiceTurn

log = logging.getLogger(__name__)

# A request of the same call can move the row between a turn's read and its write at most a few
# times (a retry, two status callbacks); after that the locking path takes over.
_READS = 3

# Actions whose whole effect is the dialogue state, the response, consent and the outcome.
_PLAIN_ACTIONS = (Say, Listen, HangUp, RecordAnswer, MarkSkipped, Finish)

# The interrupted interview is only used by a call's first turn: one index probe.
_LOAD_TURN = f"""
SELECT a.xmin AS version, a.campaign_id, a.ended_at IS NOT NULL AS ended, a.dialogue_state,
       a.direction, a.attempt_number, c.xmin AS campaign_version, c.max_attempts,
       ct.language, ct.attributes, ct.name, ct.external_id,
       ct.voicemail_left_at IS NOT NULL AS voicemail_left, ct.appointments_count,
       r.id AS response_id, r.call_attempt_id AS response_attempt_id, r.answers
FROM call_attempts a
JOIN campaigns c ON c.id = a.campaign_id
JOIN contacts ct ON ct.id = a.contact_id
LEFT JOIN LATERAL ({interrupted_sql("a.contact_id", "a.id")}) AS r ON true
WHERE a.id = $1
"""

_DEFINITION = "SELECT definition, xmin AS version FROM campaigns WHERE id = $1"

# The attempt first: the response, the superseding of an earlier one and the consent's audit
# event are written only if it matched.
_SAVE_TURN = """
WITH attempt AS (
    UPDATE call_attempts
    SET dialogue_state = $3::jsonb, last_event_at = now(),
        language = coalesce($4, language), outcome = coalesce($5, outcome)
    WHERE id = $1 AND xmin = $2 AND ended_at IS NULL
    RETURNING id, contact_id, campaign_id
), response AS (
    INSERT INTO survey_responses
        (call_attempt_id, contact_id, campaign_id, answers, completed, language,
         screened_out_by, resumed_from_id)
    SELECT id, contact_id, campaign_id, $7::jsonb, $8, $9, $10, $11 FROM attempt WHERE $6
    ON CONFLICT (call_attempt_id) DO UPDATE
    SET answers = EXCLUDED.answers, completed = EXCLUDED.completed,
        screened_out_by = EXCLUDED.screened_out_by, updated_at = now()
), superseded AS (
    UPDATE survey_responses SET superseded = true, updated_at = now()
    WHERE id = $11 AND NOT superseded AND EXISTS (SELECT 1 FROM attempt)
), consent AS (
    INSERT INTO contact_events (contact_id, campaign_id, call_attempt_id, kind, detail)
    SELECT contact_id, campaign_id, id, 'consent', $13::jsonb FROM attempt WHERE $12
)
SELECT count(*) FROM attempt
"""


async def quick_turn(connection: asyncpg.Connection, turn: VoiceTurn) -> VoiceReply | None:
    """The reply to `turn`, applied once; None when the turn needs the full path."""
    for _ in range(_READS):
        row = await connection.fetchrow(_LOAD_TURN, turn.attempt_id)
        if row is None or row["ended"]:
            return None
        survey = await _survey(connection, row["campaign_id"], row["campaign_version"])
        if survey is None or survey.quotas:
            return None
        stored = row["dialogue_state"] or {}
        state = DialogueState.from_dict(stored["engine"]) if "engine" in stored else DialogueState()
        if (turn.turn or 0) != state.turn and "reply" in stored:
            # A redelivery (or a stale request): answer exactly as before, change nothing.
            return VoiceReply.from_dict(stored["reply"])
        facts = _facts(turn, row, state, stored)
        event = dialogue_event(turn)
        after, actions = transition(state, event, survey=survey, context=facts.context)
        if not all(isinstance(action, _PLAIN_ACTIONS) for action in actions):
            return None
        reply = reply_of(survey, after, actions)
        arguments = _save_arguments(facts, event, state, after, actions, reply)
        if await connection.fetchval(_SAVE_TURN, *arguments):
            return reply
    return None


@dataclass(frozen=True)
class _Facts:
    """What a turn is decided with and its write checked against."""

    attempt_id: int
    version: int  # the attempt row's xmin when it was read
    context: CallContext
    resumed_from: int | None  # the response this call's interview continues


def _facts(
    turn: VoiceTurn, row: asyncpg.Record, state: DialogueState, stored: dict[str, Any]
) -> _Facts:
    resumed_from = stored.get("resumed_from")
    interrupted: Interrupted | None = None
    if state.phase is Phase.NEW:
        if row["response_id"] is not None:
            interrupted = interrupted_from(
                row["response_id"], row["response_attempt_id"], row["answers"]
            )
        resumed_from = None if interrupted is None else interrupted.response_id
    context = CallContext(
        language=row["language"],
        contact=contact_fields(row["attributes"], row["name"], row["external_id"]),
        resume=() if interrupted is None else interrupted.answers,
        voicemail_left=row["voicemail_left"],
        inbound=row["direction"] == Direction.INBOUND,
        callback_possible=callback_possible(
            max_attempts=row["max_attempts"],
            attempt_number=row["attempt_number"],
            appointments=row["appointments_count"],
        ),
    )
    return _Facts(turn.attempt_id, row["version"], context, resumed_from)


def _save_arguments(
    facts: _Facts,
    event: Event,
    before: DialogueState,
    state: DialogueState,
    actions: tuple[Action, ...],
    reply: VoiceReply,
) -> tuple[Any, ...]:
    document = {
        "engine": state.to_dict(),
        "reply": reply.to_dict(),
        "resumed_from": facts.resumed_from,
    }
    outcomes = [a.outcome for a in actions if isinstance(a, Finish) and a.outcome is not None]
    consented = state.consent_given and not before.consent_given
    return (
        facts.attempt_id,
        facts.version,
        json.dumps(document),
        state.language or None,
        OUTCOMES[outcomes[-1]].value if outcomes else None,
        state.consent_given,
        answers_document(state, facts.attempt_id),
        state.outcome is SurveyOutcome.COMPLETED,
        state.language or None,
        state.screened_by,
        facts.resumed_from if state.resumed else None,
        consented,
        json.dumps(consent_detail(event), default=str) if consented else None,
    )


# Each campaign's survey, read and parsed once per worker while the campaign's row stays the
# same version (`xmin`: only a real update of the row changes it, and the service never writes
# a campaign's document after creating it; one edited by hand in the database is read anew).
_SURVEYS: OrderedDict[int, tuple[int, Survey]] = OrderedDict()
_SURVEYS_KEPT = 256


async def _survey(connection: asyncpg.Connection, campaign_id: int, version: int) -> Survey | None:
    """The campaign's survey; None when it is unusable (the full path logs that)."""
    cached = _SURVEYS.get(campaign_id)
    if cached is not None and cached[0] == version:
        _SURVEYS.move_to_end(campaign_id)
        return cached[1]
    row = await connection.fetchrow(_DEFINITION, campaign_id)
    if row is None:
        return None
    try:
        survey = Survey.from_definition(row["definition"])
    except InvalidSurvey:
        return None
    _SURVEYS[campaign_id] = (row["version"], survey)
    if len(_SURVEYS) > _SURVEYS_KEPT:
        _SURVEYS.popitem(last=False)
    return survey


# Stored once (the dedupe key), then the attempt moved forward only if the callback is new, is
# about the attempt's own call, and is ahead of what is known; the call id adopted and the
# sequence number kept either way, as on the full path.
_STATUS = f"""
WITH attempt AS (
    SELECT id, provider_call_id, status, ended_at FROM call_attempts WHERE id = $1 FOR UPDATE
), stored AS (
    INSERT INTO telephony_events
        (call_attempt_id, provider, provider_call_id, kind, status, sequence_number,
         dedupe_key, payload)
    SELECT id, $2, $3, 'status', $4, $5, $6, $7::jsonb FROM attempt
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id
), ours AS (
    SELECT id, ended_at IS NULL AND {rank_sql("status")} < $9 AS forward FROM attempt
    WHERE $3::text IS NULL OR provider_call_id IS NULL OR provider_call_id = $3
), moved AS (
    UPDATE call_attempts c
    SET provider_call_id = coalesce(c.provider_call_id, $3),
        last_event_at = now(),
        last_sequence_number = CASE WHEN $5::integer IS NULL THEN c.last_sequence_number
                                    ELSE greatest(coalesce(c.last_sequence_number, 0), $5) END,
        status = CASE WHEN o.forward THEN $8 ELSE c.status END,
        answered_at = CASE WHEN o.forward AND $8 = 'in-progress'
                           THEN coalesce(c.answered_at, now()) ELSE c.answered_at END,
        answered_by = CASE WHEN o.forward AND $10::text IS NOT NULL THEN $10
                           ELSE c.answered_by END
    FROM ours o
    WHERE c.id = o.id AND EXISTS (SELECT 1 FROM stored)
    RETURNING o.forward
)
SELECT EXISTS (SELECT 1 FROM attempt) AS known, EXISTS (SELECT 1 FROM stored) AS fresh,
       EXISTS (SELECT 1 FROM ours) AS ours, (SELECT forward FROM moved) AS forward
"""


async def quick_status(
    connection: asyncpg.Connection, event: StatusEvent, *, provider: str
) -> EventResult | None:
    """Apply a callback that does not end the call; None when it needs the full path."""
    if event.attempt_id is None or event.status.is_final:
        return None
    status = attempt_status(event.status)
    call = event.provider_call_id or f"attempt-{event.attempt_id}"
    row = await connection.fetchrow(
        _STATUS,
        event.attempt_id,
        provider,
        event.provider_call_id,
        event.status.value,
        event.sequence_number,
        f"{provider}:{call}:{event.status}:{event.sequence_number}",
        json.dumps(dict(event.raw), default=str),
        status.value,
        rank(status),
        None if event.answered_by is None else event.answered_by.value,
    )
    if row is None or not row["known"]:
        return None  # stored without an attempt, and logged, by the full path
    if not row["fresh"]:
        return EventResult.DUPLICATE
    if not row["ours"]:
        log.warning("Status event call id does not match attempt %s; ignored", event.attempt_id)
        return EventResult.IGNORED
    return EventResult.APPLIED if row["forward"] else EventResult.IGNORED
