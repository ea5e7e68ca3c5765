"""The voice webhook: one turn of the spoken survey per request, answered with TwiML."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request, Response

from app.calls.voice import VoiceReply, voice_turn
from app.config import Settings
from app.dialogue import CallAnswered, Digits, Event, MachineDetected, NoInput, Speech
from app.metrics import timed_webhook
from app.telephony.base import WebhookInvalid
from app.telephony.router import inbound, webhook_errors
from app.telephony.twiml import GatherSpec, render_turn
from app.web.deps import ProviderDep, SessionDep, SettingsDep

router = APIRouter(prefix="/webhooks/telephony", tags=["webhooks"])

VOICE_PATH = "/webhooks/telephony/voice"


@router.post("/voice")
@timed_webhook("voice")
async def voice(
    request: Request, session: SessionDep, provider: ProviderDep, settings: SettingsDep
) -> Response:
    """Answer a call's turn: apply what the respondent said or pressed, return the next prompt."""
    webhook = await inbound(request, settings)
    with webhook_errors():
        params = provider.validate_webhook(webhook)
        attempt_id = _int(webhook.query, "attempt_id", required=True)
        turn = _int(webhook.query, "turn", required=False)
    event = voice_event(params, first=turn is None, no_input="no_input" in webhook.query)
    reply = await voice_turn(session, attempt_id=attempt_id or 0, turn=turn or 0, event=event)
    await session.commit()
    return Response(render(reply, settings, attempt_id or 0), media_type="application/xml")


def voice_event(params: Mapping[str, str], *, first: bool, no_input: bool) -> Event:
    """Read the provider's voice-webhook parameters as a dialogue event."""
    if first:
        answered_by = params.get("AnsweredBy", "")
        if answered_by.startswith("machine") or answered_by == "fax":
            return MachineDetected()
        return CallAnswered()
    speech = params.get("SpeechResult", "").strip()
    if speech and not no_input:
        return Speech(text=speech, confidence=_confidence(params.get("Confidence")))
    digits = params.get("Digits", "").strip()
    if digits and not no_input:
        return Digits(digits=digits)
    return NoInput()


def render(reply: VoiceReply, settings: Settings, attempt_id: int) -> str:
    """TwiML for a reply; the next answer comes back to this webhook with the turn number."""
    action = f"{settings.public_base_url}{VOICE_PATH}?attempt_id={attempt_id}&turn={reply.turn}"
    gather = None
    if reply.listen is not None and not reply.hangup:
        gather = GatherSpec(
            language=reply.language,
            hints=reply.listen.hints,
            timeout_seconds=reply.listen.timeout_seconds,
            num_digits=reply.listen.num_digits,
        )
    return render_turn(reply.says, reply.language, gather, action, hangup=gather is None)


def _int(query: Mapping[str, str], name: str, *, required: bool) -> int | None:
    raw = query.get(name)
    if raw is None:
        if required:
            raise WebhookInvalid(f"{name}: query parameter required")
        return None
    try:
        return int(raw)
    except ValueError:
        raise WebhookInvalid(f"{name}: not an integer") from None


def _confidence(raw: str | None) -> float | None:
    try:
        return None if raw in (None, "") else float(raw)
    except ValueError:
        return None
