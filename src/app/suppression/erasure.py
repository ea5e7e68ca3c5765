"""Erase people's personal data, keeping what a campaign's figures are made of.

A contact keeps its row, state, attempts and dispositions, and its closed answers keep their
values, so counts and AAPOR rates come out the same after erasure. What goes: the phone number
(replaced by a placeholder that keeps UNIQUE(campaign_id, phone_number) valid), name, external id
and attributes; free-text answers and every answer's recognised utterance; the dialogue state of
its calls (transcripts, piped names); what the provider sent about them; utterances in the audit
trail. Each step is one statement over the whole batch, in the caller's transaction.

Forgetting a number on request also empties the provider callbacks that match no attempt and
name it (an inbound caller who only heard the message and pressed 9), and lists the number's
hash even when the database holds nothing else of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import UNLINKED_EVENT
from app.campaigns.errors import Conflict, InvalidInput
from app.campaigns.models import ContactState
from app.db.base import count_of, sql_literal
from app.dialogue.survey import QuestionType
from app.logs import mask_phone
from app.suppression import swapping
from app.suppression.numbers import NumberCheck, RowError, listed_hash
from app.suppression.schemas import ErasureReport

log = logging.getLogger(__name__)

PENDING = sql_literal(ContactState.PENDING)
DO_NOT_CALL = sql_literal(ContactState.DO_NOT_CALL)
FREE_TEXT = sql_literal(QuestionType.FREE_TEXT)
ERASED_EVENT = "erased"
# Where the audit trail's events keep what a person said or is: removed on erasure. An event
# must keep such text at its top level under one of these keys.
PERSONAL_DETAIL_KEYS = (
    "said", "utterance", "speech", "raw", "transcript", "text", "digits", "name", "phone_number",
    "number", "from", "to", "caller",
)  # fmt: skip


class Why(StrEnum):
    REQUEST = "request"  # the person asked: their number also stays suppressed, as a hash
    RETENTION = "retention"  # the campaign ended long enough ago (RETENTION_DAYS)


@dataclass(frozen=True)
class Target:
    contact_id: int
    campaign_id: int
    phone_number: str


# Closed answers keep their values (the figures); free text loses it, every answer its words.
_SCRUB_ANSWERS = text(f"""
UPDATE survey_responses r
SET answers = (
        SELECT coalesce(jsonb_object_agg(e.key, CASE
                   WHEN jsonb_typeof(e.value) <> 'object' THEN 'null'::jsonb
                   WHEN e.key = ANY(f.ids) THEN e.value || '{{"value": null, "raw": ""}}'::jsonb
                   ELSE e.value || '{{"raw": ""}}'::jsonb END), '{{}}'::jsonb)
        FROM jsonb_each(r.answers) e),
    updated_at = now()
FROM campaigns c
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(q ->> 'id'), '{{}}') AS ids
    FROM jsonb_array_elements(c.definition -> 'questions') q
    WHERE q ->> 'type' = {FREE_TEXT}
) f
WHERE r.contact_id = ANY(CAST(:ids AS bigint[])) AND c.id = r.campaign_id
""")

# A provider's error may quote the number it was asked to call.
_SCRUB_ATTEMPTS = text(r"""
UPDATE call_attempts
SET dialogue_state = NULL,
    error = regexp_replace(error, '\+?[0-9][0-9 ().-]{5,}[0-9]', '[erased]', 'g')
WHERE contact_id = ANY(CAST(:ids AS bigint[])) AND ended_at IS NOT NULL
""")

# Twilio's callbacks carry the numbers and what was heard.
_SCRUB_PROVIDER_EVENTS = text("""
UPDATE telephony_events SET payload = '{}'::jsonb
WHERE call_attempt_id IN (SELECT id FROM call_attempts
                          WHERE contact_id = ANY(CAST(:ids AS bigint[])))
  AND payload <> '{}'::jsonb
""")

# Where a provider callback keeps phone numbers (Twilio's form fields; the mock's dialect).
PROVIDER_NUMBER_KEYS = ("From", "To", "Caller", "Called", "ForwardedFrom", "from", "to")

# A callback that matched no attempt (the status of an inbound call that only heard the message,
# or of a call the service does not know) keeps the caller's number and no contact: found by the
# number itself, through the GIN index of the payloads not scrubbed yet that match no attempt
# (ix_telephony_events_unlinked_payload), one containment probe per key.
_SCRUB_UNLINKED_EVENTS = text(f"""
UPDATE telephony_events SET payload = '{{}}'::jsonb
WHERE {UNLINKED_EVENT} AND payload @> ANY(CAST(:shapes AS jsonb[]))
""")

# The keys above go; should the number still show up in what is left (an event written another
# way), the whole detail goes.
_SCRUB_CONTACT_EVENTS = text("""
UPDATE contact_events ev
SET detail = (SELECT CASE WHEN kept::text LIKE '%' || right(t.phone, 9) || '%'
                          THEN '{"scrubbed": true}'::jsonb ELSE kept END
              FROM (SELECT ev.detail - CAST(:keys AS text[]) AS kept) k)
FROM unnest(CAST(:ids AS bigint[]), CAST(:phones AS text[])) AS t(id, phone)
WHERE ev.contact_id = t.id AND ev.kind <> :erased
""")

_ERASE_CONTACTS = text(f"""
UPDATE contacts
SET phone_number = 'erased:' || id, name = NULL, external_id = NULL,
    attributes = '{{}}'::jsonb, erased_at = now(), updated_at = now(),
    state = CASE WHEN CAST(:suppress AS boolean) AND state = {PENDING} THEN {DO_NOT_CALL}
                 ELSE state END
WHERE id = ANY(CAST(:ids AS bigint[])) AND erased_at IS NULL
""")

_AUDIT = text("""
INSERT INTO contact_events (contact_id, campaign_id, kind, detail)
SELECT t.id, t.campaign_id, :erased, CAST(:detail AS jsonb)
FROM unnest(CAST(:ids AS bigint[]), CAST(:campaigns AS bigint[])) AS t(id, campaign_id)
""")

# Taken first: a large do-not-call load that swaps the list in holds EXCLUSIVE on it and then
# marks pending contacts; locking the contacts first and the list second could deadlock with it.
# ROW SHARE is what the SELECT … FOR UPDATE below takes anyway.
_LOCK_LIST = text("LOCK TABLE do_not_call IN ROW SHARE MODE")

_BY_NUMBER = text("""
SELECT id AS contact_id, campaign_id, phone_number FROM contacts
WHERE phone_number = :number
ORDER BY id
FOR UPDATE
""")
_OPEN_CALLS = text("""
SELECT count(*) FROM call_attempts
WHERE contact_id = ANY(CAST(:ids AS bigint[])) AND ended_at IS NULL
""")
_LISTED = text("""
SELECT phone_number FROM do_not_call WHERE phone_number IN (:number, :hashed) FOR UPDATE
""")
# The plain entry makes way for the hash: the person is never called again, and the list no
# longer holds their number.
_LIST_AS_HASH = text("""
WITH removed AS (DELETE FROM do_not_call WHERE phone_number = :number)
INSERT INTO do_not_call (phone_number, reason, source)
VALUES (:hashed, 'asked to be forgotten', 'erasure')
ON CONFLICT (phone_number) DO NOTHING
""")


async def erase(session: AsyncSession, targets: Sequence[Target], *, why: Why) -> None:
    """Erase these contacts' personal data and record it in their audit trail; caller commits."""
    if not targets:
        return
    ids = [t.contact_id for t in targets]
    by_ids = {"ids": ids}
    await session.execute(_SCRUB_ANSWERS, by_ids)
    await session.execute(_SCRUB_ATTEMPTS, by_ids)
    await session.execute(_SCRUB_PROVIDER_EVENTS, by_ids)
    await session.execute(
        _SCRUB_CONTACT_EVENTS,
        {
            **by_ids,
            "phones": [t.phone_number for t in targets],
            "keys": list(PERSONAL_DETAIL_KEYS),
            "erased": ERASED_EVENT,
        },
    )
    await session.execute(_ERASE_CONTACTS, {**by_ids, "suppress": why is Why.REQUEST})
    await session.execute(
        _AUDIT,
        {
            **by_ids,
            "campaigns": [t.campaign_id for t in targets],
            "erased": ERASED_EVENT,
            "detail": json.dumps({"reason": why.value}),
        },
    )


async def forget(*, session: AsyncSession, number: str) -> ErasureReport:
    """Erase a person from every campaign and keep their number suppressed, as a hash, only."""
    e164 = _e164(number)
    hashed = listed_hash(e164)
    await session.execute(_LOCK_LIST)
    rows = (await session.execute(_BY_NUMBER, {"number": e164})).all()
    targets = [Target(r.contact_id, r.campaign_id, r.phone_number) for r in rows]
    await _no_call_in_progress(session, targets)
    listed = set((await session.execute(_LISTED, {"number": e164, "hashed": hashed})).scalars())
    await erase(session, targets, why=Why.REQUEST)
    callbacks = await scrub_unlinked_events(session, e164)
    # A number the database holds nowhere is listed too: the person asked not to be kept, and
    # not to be called, by any campaign that imports the number later.
    await session.execute(_LIST_AS_HASH, {"number": e164, "hashed": hashed})
    # Last: by now this transaction holds what dropping such a table would have to wait for.
    await swapping.forget_number(session, e164)
    await session.commit()
    if not targets and not callbacks and e164 not in listed and hashed in listed:
        return ErasureReport(contacts_erased=0, campaigns=0, already_forgotten=True)
    campaigns = len({t.campaign_id for t in targets})
    log.info(
        "Erased on request: %d contacts in %d campaigns and %d provider callbacks matching no "
        "call, number %s now listed by its hash only",
        len(targets),
        campaigns,
        callbacks,
        mask_phone(e164),
    )
    return ErasureReport(contacts_erased=len(targets), campaigns=campaigns, already_forgotten=False)


async def scrub_unlinked_events(session: AsyncSession, e164: str) -> int:
    """Empty the provider callbacks that match no attempt and name this number; how many."""
    shapes = [json.dumps({key: e164}) for key in PROVIDER_NUMBER_KEYS]
    return count_of(await session.execute(_SCRUB_UNLINKED_EVENTS, {"shapes": shapes}))


def _e164(number: str) -> str:
    try:
        return NumberCheck()(number)
    except RowError as exc:
        raise InvalidInput(f"number: {exc}", ("path", "number")) from None


async def _no_call_in_progress(session: AsyncSession, targets: Sequence[Target]) -> None:
    # A call under way would write its answers and transcript after the erasure.
    ids = [t.contact_id for t in targets]
    if ids and (await session.execute(_OPEN_CALLS, {"ids": ids})).scalar_one():
        raise Conflict(
            "a call to this number is in progress: forget it again once the call has ended"
        )
