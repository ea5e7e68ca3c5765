"""Calls to the campaign's number: a contact with an interview to do takes it in this call;
anyone else hears who called them and why, and may press 9 never to be called again.

A contact's interview is claimed the way the dispatcher claims one — one statement turning the
contact `in_progress` and inserting the attempt — so the partial unique index on open attempts
and UNIQUE(contact_id, attempt_number) let exactly one of the dialler and the caller have it.
The attempt carries the provider's call id from the start: a redelivered request finds it (and
gets the call's current turn), the status callback of the number finds it, and so does recovery.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import phonenumbers
from sqlalchemy import Row, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.audit import OPT_OUT
from app.calls.models import AttemptStatus, Direction
from app.calls.policy import EXTRA_ATTEMPTS_BY_APPOINTMENT
from app.calls.voice import voice_turn
from app.campaigns.models import CampaignStatus, ContactState
from app.db.base import sql_literal
from app.dialogue import InvalidSurvey, Survey
from app.dialogue.phrases import PHRASES
from app.dialogue.survey import Language
from app.dialogue.texts import render
from app.logs import mask_phone
from app.suppression.numbers import listed_hash_sql, listed_sql
from app.telephony.base import InboundCall, Listening, Reply, VoiceTurn

log = logging.getLogger(__name__)

PENDING = sql_literal(ContactState.PENDING)
IN_PROGRESS = sql_literal(ContactState.IN_PROGRESS)
DO_NOT_CALL = sql_literal(ContactState.DO_NOT_CALL)
RUNNING = sql_literal(CampaignStatus.RUNNING)
ANSWERED = sql_literal(AttemptStatus.IN_PROGRESS)
INBOUND = sql_literal(Direction.INBOUND)

# Nothing but the provider's own cap (4 hours) ends an incoming call: with the campaign's
# shorter limit, recovery could deem a live call over while the provider cannot be asked.
INBOUND_TIME_LIMIT_SECONDS = 4 * 3600
# Time to find the 9 on the keypad after the message.
PROMPT_TIMEOUT_SECONDS = 8
DNC_SOURCE = "inbound"
DNC_REASON = "pressed 9 on a call to the campaign's number"
# A caller id as providers write it: "+", the country code, digits and maybe separators.
_WRITTEN_NUMBER = re.compile(r"\+[0-9][0-9 ().\-]{6,30}")

# The key a forgotten person's number is listed under (app.suppression.numbers.listed_hash).
_HASHED = listed_hash_sql("CAST(:number AS text)")
# The campaign the caller most likely calls back: the one that dialled them from this number.
_TO_MATCHES = "coalesce(c.caller_id, CAST(:default_number AS text)) = CAST(:to AS text)"

_ATTEMPT_OF_CALL = text(f"""
SELECT id FROM call_attempts WHERE provider_call_id = :call_id AND direction = {INBOUND}
""")

# One statement, under the row locks the dispatcher takes: lock the contact (waiting, briefly,
# for a dispatcher or a redelivery of this request holding it), re-check it is pending, take an
# attempt number.
_CLAIM = text(f"""
WITH candidate AS (
    SELECT ct.id
    FROM contacts ct
    JOIN campaigns c ON c.id = ct.campaign_id
    WHERE ct.phone_number = :number
      AND ct.state = {PENDING}
      AND c.status = {RUNNING}
      AND ct.attempts_count < c.max_attempts
          + least(ct.appointments_count, {EXTRA_ATTEMPTS_BY_APPOINTMENT})
      AND NOT {listed_sql("CAST(:number AS text)")}
    ORDER BY CASE WHEN {_TO_MATCHES} THEN 0 ELSE 1 END, ct.next_attempt_at, ct.id
    LIMIT 1
    FOR UPDATE OF ct
), claimed AS (
    UPDATE contacts ct
    SET state = {IN_PROGRESS}, attempts_count = ct.attempts_count + 1, updated_at = now()
    FROM candidate
    WHERE ct.id = candidate.id AND ct.state = {PENDING}
    RETURNING ct.id, ct.campaign_id, ct.attempts_count
)
INSERT INTO call_attempts
    (contact_id, campaign_id, attempt_number, provider_call_id, status, direction,
     started_at, answered_at, last_event_at, ring_timeout_seconds, time_limit_seconds,
     do_not_call_checked_at)
SELECT id, campaign_id, attempts_count, :call_id, {ANSWERED}, {INBOUND},
       now(), now(), now(), :ring, :time_limit, now()  -- `candidate` read the list
FROM claimed
RETURNING id, contact_id
""")

# Whose message the caller hears: a campaign the number is a contact of (the one that called
# from this number first), else the campaign calling from the number that was called.
_CAMPAIGN_FOR = text(f"""
SELECT c.id, c.definition, ct.language AS contact_language
FROM campaigns c
LEFT JOIN contacts ct ON ct.campaign_id = c.id AND ct.phone_number = CAST(:number AS text)
WHERE ct.id IS NOT NULL OR {_TO_MATCHES}
ORDER BY ct.id IS NULL, CASE WHEN {_TO_MATCHES} THEN 0 ELSE 1 END,
         c.status <> {RUNNING}, c.id DESC
LIMIT 1
""")

# The number goes on the list (unless it is there already, plain or hashed), and every pending
# contact with it in any campaign is closed, each with an opt-out in its audit trail. The
# contacts are locked in id order so that two such statements for one number cannot deadlock.
_LIST = text(f"""
WITH listed AS (
    INSERT INTO do_not_call (phone_number, reason, source, campaign_id)
    SELECT CAST(:number AS text), CAST(:reason AS text), CAST(:source AS text),
           CAST(:campaign_id AS bigint)
    WHERE NOT EXISTS (SELECT 1 FROM do_not_call WHERE phone_number = {_HASHED})
    ON CONFLICT (phone_number) DO NOTHING
), pending AS (
    SELECT id FROM contacts
    WHERE phone_number = :number AND state = {PENDING}
    ORDER BY id
    FOR UPDATE
), marked AS (
    UPDATE contacts ct SET state = {DO_NOT_CALL}, updated_at = now()
    FROM pending
    WHERE ct.id = pending.id AND ct.state = {PENDING}
    RETURNING ct.id, ct.campaign_id
)
INSERT INTO contact_events (contact_id, campaign_id, call_attempt_id, kind, detail)
SELECT id, campaign_id, NULL, :kind, CAST(:detail AS jsonb) FROM marked
""")


class InboundKind(StrEnum):
    """What a caller got, as counted."""

    SURVEY = "survey"  # a contact takes the interview in this call
    MESSAGE = "message"  # anyone else: who called them, and why
    LISTED = "listed"  # ... who then pressed 9: the number is on the do-not-call list


@dataclass(frozen=True)
class InboundRules:
    ring_timeout_seconds: int  # recorded on the attempt, as the dispatcher records it
    default_number: str | None = None  # the number campaigns without a caller_id call from


@dataclass(frozen=True)
class InboundReply:
    """What to say; a survey's answer goes to its attempt's voice URL, else to the prompt's."""

    reply: Reply
    kind: InboundKind | None  # what to count; None: nothing new (a redelivery, a goodbye)
    attempt_id: int | None = None
    turn: int = 0  # the survey turn the next answer refers to


async def answer_inbound(
    session: AsyncSession, call: InboundCall, *, rules: InboundRules
) -> InboundReply:
    """Answer a call to the campaign's number; the caller commits."""
    number = caller_number(call.from_number)
    if call.answers_prompt:
        return await _prompt_answered(session, call, number, rules)
    existing = await _attempt_of(session, call.provider_call_id)
    if existing is not None:
        return await _survey_turn(session, existing, None)  # a redelivery of this request
    if number is not None:
        claimed = await _claim(session, call, number, rules)
        if claimed is not None:
            log.info(
                "Inbound call from %s: contact %s takes the interview (attempt %s)",
                mask_phone(number),
                claimed.contact_id,
                claimed.id,
            )
            return await _survey_turn(session, claimed.id, InboundKind.SURVEY)
        existing = await _attempt_of(session, call.provider_call_id)
        if existing is not None:  # a redelivery of this request claimed the contact first
            return await _survey_turn(session, existing, None)
    return await _message(session, call, number, rules)


def caller_number(raw: str | None) -> str | None:
    """The caller id in E.164; None when withheld or not a phone number."""
    # Strict: phonenumbers would read letters as keypad digits and drop an extension, and
    # garbage must never become somebody's number.
    if not raw or not _WRITTEN_NUMBER.fullmatch(raw.strip()):
        return None
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    e164: str = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164


async def _attempt_of(session: AsyncSession, call_id: str) -> int | None:
    found: int | None = (
        await session.execute(_ATTEMPT_OF_CALL, {"call_id": call_id})
    ).scalar_one_or_none()
    return found


async def _claim(
    session: AsyncSession, call: InboundCall, number: str, rules: InboundRules
) -> Row[Any] | None:
    """The new attempt (id, contact_id), or None when no contact of the number can take it."""
    params = {
        "number": number,
        "to": call.to_number,
        "default_number": rules.default_number,
        "call_id": call.provider_call_id,
        "ring": rules.ring_timeout_seconds,
        "time_limit": INBOUND_TIME_LIMIT_SECONDS,
    }
    try:
        async with session.begin_nested():
            return (await session.execute(_CLAIM, params)).one_or_none()
    except IntegrityError:
        # Another request committed first: a redelivery of this one (same call id), or, were
        # the row locks ever bypassed, the dialler (one open attempt per contact).
        return None


async def _survey_turn(
    session: AsyncSession, attempt_id: int, kind: InboundKind | None
) -> InboundReply:
    """The survey's first turn (thanks, intro, consent), or the call's current one again."""
    reply = await voice_turn(session, VoiceTurn(attempt_id, None))
    return InboundReply(reply.for_provider(), kind, attempt_id, reply.turn)


@dataclass(frozen=True)
class _Message:
    language: Language
    who: str  # who called them and why
    campaign_id: int | None


async def _message(
    session: AsyncSession, call: InboundCall, number: str | None, rules: InboundRules
) -> InboundReply:
    message = await _message_for(session, call, number, rules)
    language = message.language.value
    if number is None:
        # Nothing could be put on the list: offering it would be a promise not kept.
        log.info("Inbound call with no usable caller id: told who calls")
        return InboundReply(Reply(language, (message.who,)), InboundKind.MESSAGE)
    log.info("Inbound call from %s: no interview to do; told who calls", mask_phone(number))
    says = (message.who, PHRASES[message.language].inbound_press_nine)
    listen = Listening(timeout_seconds=PROMPT_TIMEOUT_SECONDS, num_digits=1, keys_only=True)
    return InboundReply(Reply(language, says, listen), InboundKind.MESSAGE)


async def _prompt_answered(
    session: AsyncSession, call: InboundCall, number: str | None, rules: InboundRules
) -> InboundReply:
    message = await _message_for(session, call, number, rules)
    phrases = PHRASES[message.language]
    if call.digits != "9" or number is None:
        return InboundReply(Reply(message.language.value, (phrases.no_consent_goodbye,)), None)
    await session.execute(
        _LIST,
        {
            "number": number,
            "reason": DNC_REASON,
            "source": DNC_SOURCE,
            "campaign_id": message.campaign_id,
            "kind": OPT_OUT,
            "detail": json.dumps({"source": DNC_SOURCE}),
        },
    )
    log.info("Inbound caller %s pressed 9: on the do-not-call list", mask_phone(number))
    return InboundReply(
        Reply(message.language.value, (phrases.inbound_listed,)), InboundKind.LISTED
    )


async def _message_for(
    session: AsyncSession, call: InboundCall, number: str | None, rules: InboundRules
) -> _Message:
    """The campaign's own `script.inbound`, else the global words, in the campaign's language."""
    params = {"number": number, "to": call.to_number, "default_number": rules.default_number}
    found = (await session.execute(_CAMPAIGN_FOR, params)).one_or_none()
    if found is None:
        return _Message(Language.EN, PHRASES[Language.EN].inbound_who, None)
    try:
        survey = Survey.from_definition(found.definition)
    except InvalidSurvey:
        # Campaigns are validated when created; a damaged one must not silence the number.
        return _Message(Language.EN, PHRASES[Language.EN].inbound_who, found.id)
    language = survey.speaks(found.contact_language)
    script = survey.script.inbound
    if script is None:
        return _Message(language, PHRASES[language].inbound_who, found.id)
    # No contact's fields: whoever calls from the number may not be the person imported.
    said = render(script.get(language), contact={}, answer=lambda _: None)
    return _Message(language, said, found.id)
