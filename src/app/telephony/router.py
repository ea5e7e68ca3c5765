"""The provider's webhooks: thin edges that let the adapter read the request and render the reply.

Whatever the provider, a webhook is authenticated and parsed by the adapter into the project's
own events (`StatusEvent`, `VoiceTurn`, `InboundCall`), applied by the `calls` domain, and the
reply rendered back by the adapter. A webhook failing authentication gets 403; a malformed one
422 naming the field. `/inbound` is the Voice URL of the campaign's number.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel

from app.calls.events import apply_status_event
from app.calls.hotpath import quick_status, quick_turn
from app.calls.inbound import InboundReply, InboundRules, answer_inbound
from app.calls.voice import voice_turn
from app.config import Settings
from app.db.base import BIGINT_MAX
from app.db.raw import driver_connection
from app.metrics import count_inbound, timed_webhook
from app.telephony.base import (
    INBOUND_PATH,
    PROMPT_PARAM,
    InboundWebhook,
    WebhookInvalid,
    WebhookRejected,
)
from app.telephony.callbacks import ATTEMPT_PARAM, TURN_PARAM, CallUrls
from app.telephony.mock import InboundPayload, StatusPayload, VoicePayload
from app.web.deps import ProviderDep, SessionDep, SettingsDep
from app.web.peers import is_local
from app.web.responses import errors

# Webhook refusals are all {"detail": "…"}, the 422 naming the field.
router = APIRouter(
    prefix="/webhooks/telephony", tags=["webhooks"], responses=errors(400, 403, 413, 422, 503)
)


async def inbound(request: Request, settings: Settings) -> InboundWebhook:
    """The request as the provider addressed it: the public URL, not the one behind a proxy."""
    url = settings.public_base_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        # The service's own URLs name each id once: a second value is not ours.
        raise HTTPException(422, f"{repeated[0]}: query parameter given more than once")
    return InboundWebhook(
        url=url,
        headers=dict(request.headers),
        query=dict(request.query_params),
        body=await request.body(),
        content_type=request.headers.get("content-type", ""),
        local=is_local(request),
    )


@contextlib.contextmanager
def webhook_errors() -> Iterator[None]:
    """A webhook failing authentication gets 403; a malformed one 422 naming the field."""
    try:
        yield
    except WebhookRejected as exc:
        raise HTTPException(403, str(exc)) from None
    except WebhookInvalid as exc:
        raise HTTPException(422, str(exc)) from None


def _webhook_doc(mock_body: type[BaseModel], turn: bool) -> dict[str, Any]:
    """The webhook's inputs, for the schema: the ids of its URL and either provider's body."""
    ids = [ATTEMPT_PARAM, TURN_PARAM] if turn else [ATTEMPT_PARAM]
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": name == ATTEMPT_PARAM and turn,
            "schema": {"type": "integer", "minimum": 0, "maximum": BIGINT_MAX},
        }
        for name in ids
    ]
    twilio_form = {"type": "object", "additionalProperties": {"type": "string"}}
    content = {
        "application/json": {"schema": mock_body.model_json_schema()},
        "application/x-www-form-urlencoded": {"schema": twilio_form},
    }
    return {"parameters": parameters, "requestBody": {"required": False, "content": content}}


@router.post("/events", status_code=204, openapi_extra=_webhook_doc(StatusPayload, turn=False))
@timed_webhook("events")
async def telephony_events(request: Request) -> Response:
    """Call-status callbacks; an empty POST is a liveness probe and changes nothing."""
    # The two busy webhooks (a call sends about ten requests) read the service from the app
    # rather than resolve FastAPI dependencies, and try the ORM-free path first
    # (bench/README.md, "Voice turn latency").
    state = request.app.state
    settings, provider, sessions = state.settings, state.provider, state.sessions
    webhook = await inbound(request, settings)
    with webhook_errors():
        event = provider.parse_status_event(webhook)
    if event is not None:
        async with state.engine.connect() as connection:
            async with driver_connection(connection, pooled=state.databases.pooled) as driver:
                applied = await quick_status(driver, event, provider=provider.name)
            if applied is None:
                async with sessions(bind=connection) as session:
                    await apply_status_event(session, event, provider=provider.name)
                    await session.commit()
    return Response(status_code=204)


@router.post(
    "/voice",
    response_class=Response,
    openapi_extra=_webhook_doc(VoicePayload, turn=True),
    responses={
        200: {
            "description": "The provider's document for the next step of the call",
            "content": {"application/xml": {}, "application/json": {}},
        }
    },
)
@timed_webhook("voice")
async def voice(request: Request) -> Response:
    """Answer a call's turn: apply what the respondent said or pressed, return the next prompt."""
    state = request.app.state
    settings, provider, sessions = state.settings, state.provider, state.sessions
    webhook = await inbound(request, settings)
    with webhook_errors():
        turn = provider.parse_voice_turn(webhook)
    async with state.engine.connect() as connection:
        async with driver_connection(connection, pooled=state.databases.pooled) as driver:
            reply = await quick_turn(driver, turn)
        if reply is None:
            async with sessions(bind=connection) as session:
                reply = await voice_turn(session, turn)
                await session.commit()
    # The respondent's next answer comes back here, numbered, so a redelivery is told apart.
    next_url = CallUrls(settings.public_base_url).voice(turn.attempt_id, reply.turn)
    document = provider.render_reply(reply.for_provider(), next_url)
    return Response(document.body, media_type=document.media_type)


def _inbound_doc() -> dict[str, Any]:
    """The inbound webhook's inputs: the prompt's flag and either provider's body."""
    prompt = {
        "name": PROMPT_PARAM,
        "in": "query",
        "required": False,
        "description": 'present when the request answers the "press 9" prompt',
        "schema": {"type": "string"},
    }
    twilio_form = {"type": "object", "additionalProperties": {"type": "string"}}
    content = {
        "application/json": {"schema": InboundPayload.model_json_schema()},
        "application/x-www-form-urlencoded": {"schema": twilio_form},
    }
    return {"parameters": [prompt], "requestBody": {"required": True, "content": content}}


@router.post(
    "/inbound",
    response_class=Response,
    openapi_extra=_inbound_doc(),
    responses={
        200: {
            "description": "The provider's document: the survey's first turn, or the message",
            "content": {"application/xml": {}, "application/json": {}},
        }
    },
)
@timed_webhook("inbound")
async def inbound_call(
    request: Request, session: SessionDep, provider: ProviderDep, settings: SettingsDep
) -> Response:
    """A call to the campaign's number (its Voice URL): the survey, or who calls and why."""
    webhook = await inbound(request, settings)
    with webhook_errors():
        call = provider.parse_inbound(webhook)
    rules = InboundRules(
        ring_timeout_seconds=settings.ring_timeout_seconds,
        default_number=settings.twilio_from_number,
    )
    answer = await answer_inbound(session, call, rules=rules)
    await session.commit()
    if answer.kind is not None:
        count_inbound(answer.kind.value)
    document = provider.render_reply(answer.reply, _next_url(answer, settings.public_base_url))
    return Response(document.body, media_type=document.media_type)


def _next_url(answer: InboundReply, public_base_url: str) -> str:
    """A survey goes on at its voice URL, as an outbound call does; "press 9" comes back here."""
    if answer.attempt_id is not None:
        return CallUrls(public_base_url).voice(answer.attempt_id, answer.turn)
    return f"{public_base_url}{INBOUND_PATH}?{PROMPT_PARAM}=nine"
