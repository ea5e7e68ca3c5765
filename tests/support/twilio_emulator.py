"""Real HTTP servers in background threads: the Twilio emulator, and small apps it calls back.

`serve(app)` runs any ASGI app under uvicorn on a free loopback port and yields its base URL.
`running_emulator()` does so for the emulator and hands back a `RunningEmulator` with the
credentials to give the product and async helpers over the `/_emulator` control API.
`VoiceApp` is a stand-in voice application for the emulator to call.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response

from app.config import Settings
from app.telephony.base import InboundWebhook, StatusEvent, WebhookRejected
from app.telephony.twilio import TwilioProvider
from callsim.twilio import EmulatorOptions, create_app

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "emulator-auth-token"
FROM_NUMBER = "+390200000001"


@contextlib.contextmanager
def serve(app: Any, port: int = 0) -> Iterator[str]:
    """Run `app` on 127.0.0.1 in a thread until the block ends; yields `http://127.0.0.1:PORT`.

    `port` 0 picks a free one; pass one chosen beforehand when the app must know its own URL.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class RunningEmulator:
    base_url: str
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN

    def settings(self, **overrides: Any) -> Settings:
        """Settings pointing the Twilio provider at this emulator."""
        values: dict[str, Any] = {
            "telephony_provider": "twilio",
            "twilio_account_sid": self.account_sid,
            "twilio_auth_token": self.auth_token,
            "twilio_from_number": FROM_NUMBER,
            "twilio_api_base_url": self.base_url,
            "_env_file": None,
        }
        return Settings(**{**values, **overrides})

    async def register(self, number: str, behaviour: str = "answer", **fields: Any) -> None:
        body = {"number": number, "behaviour": behaviour, **fields}
        await self._request("POST", "/_emulator/respondents", json=body)

    async def calls(self, wait: float = 0) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._request("GET", f"/_emulator/calls?wait={wait}")
        return result

    async def call(self, sid: str, wait: float = 5) -> dict[str, Any]:
        """One call's record, after waiting up to `wait` seconds for it to finish."""
        result: dict[str, Any] = await self._request("GET", f"/_emulator/calls/{sid}?wait={wait}")
        return result

    async def options(self, **changes: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self._request("PUT", "/_emulator/options", json=changes)
        return result

    async def reset(self) -> None:
        await self._request("POST", "/_emulator/reset")

    async def inbound(
        self, from_: str, to: str, answers: list[dict[str, Any]] | None = None, wait: float = 30
    ) -> dict[str, Any]:
        """Call the number `to` from `from_`, answering each Gather in turn; the call's record
        once it is over (the number's URLs are the options inbound_url, inbound_status_url)."""
        body = {"from": from_, "to": to, "answers": answers or []}
        started: dict[str, Any] = await self._request("POST", "/_emulator/inbound", json=body)
        return await self.call(started["sid"], wait=wait)

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.base_url, trust_env=False) as client:
            response = await client.request(method, path, timeout=30, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None


@contextlib.contextmanager
def running_emulator(**options: Any) -> Iterator[RunningEmulator]:
    """The emulator on a free port, accepting ACCOUNT_SID / AUTH_TOKEN."""
    app = create_app(AUTH_TOKEN, ACCOUNT_SID, EmulatorOptions(**options))
    with serve(app) as base_url:
        yield RunningEmulator(base_url)


@dataclass
class Received:
    """One request the voice app got, as it validated it."""

    path: str
    query: dict[str, str]
    params: dict[str, str]
    headers: dict[str, str]
    status_code: int


class VoiceApp:
    """A tiny voice application: serves `documents[n]` at `/twiml/{n}`, takes `/events`.

    Every request is authenticated with the provider's `validate_webhook` (403 when it fails)
    and recorded, so a test sees exactly what the emulator posted.
    """

    def __init__(self, documents: list[str], provider: TwilioProvider) -> None:
        self.documents = documents
        self.provider = provider
        self.received: list[Received] = []
        self.events: list[StatusEvent] = []
        self.base_url = ""
        self.delay_seconds = 0.0  # answer TwiML requests this late (a call stays in progress)

    def url(self, path: str) -> str:
        return self.base_url + path

    def voice_requests(self) -> list[Received]:
        return [r for r in self.received if r.path.startswith("/twiml/")]

    def asgi(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/twiml/{index}", methods=["GET", "POST"])
        async def twiml(index: int, request: Request) -> Response:
            webhook = await _inbound(request)
            try:
                params = self.provider.validate_webhook(webhook)
            except WebhookRejected:
                return self._record(request, {}, Response(status_code=403))
            if index >= len(self.documents):
                return self._record(request, params, Response(status_code=404))
            await asyncio.sleep(self.delay_seconds)
            document = Response(self.documents[index], media_type="application/xml")
            return self._record(request, params, document)

        @app.post("/events")
        async def events(request: Request) -> Response:
            webhook = await _inbound(request)
            try:
                event = self.provider.parse_status_event(webhook)
            except WebhookRejected:
                return self._record(request, {}, Response(status_code=403))
            if event is not None:
                self.events.append(event)
            params = {k: str(v) for k, v in event.raw.items()} if event else {}
            return self._record(request, params, Response(status_code=204))

        return app

    def _record(self, request: Request, params: dict[str, str], response: Response) -> Response:
        self.received.append(
            Received(
                path=request.url.path,
                query=dict(request.query_params),
                params=params,
                headers=dict(request.headers),
                status_code=response.status_code,
            )
        )
        return response


async def _inbound(request: Request) -> InboundWebhook:
    # Here the URL the emulator requested is the public URL: no proxy in between.
    return InboundWebhook(
        url=str(request.url),
        headers=dict(request.headers),
        query=dict(request.query_params),
        body=await request.body(),
        content_type=request.headers.get("content-type", ""),
    )
