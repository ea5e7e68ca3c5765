"""The emulator's state: options, registered respondents, calls, and the tasks playing them."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from callsim.twilio.calls import EmulatedCall
from callsim.twilio.respondent import Respondent, default_respondent
from callsim.twilio.webhooks import WebhookSender


class EmulatorOptions(BaseModel):
    """How the emulator delivers; PUT /_emulator/options changes any field at run time."""

    model_config = ConfigDict(extra="forbid")

    step_delay: float = Field(default=0.05, ge=0, le=10)  # real seconds between call stages
    retry_webhooks: bool = False  # deliver every voice webhook twice, like a Twilio retry
    duplicate_callbacks: bool = False  # deliver every status callback twice
    shuffle_callbacks: bool = False  # hold status callbacks back, deliver them out of order
    seed: int | None = None  # makes the shuffle repeatable
    webhook_timeout: float = Field(default=15.0, gt=0)  # Twilio waits 15 s for a response
    max_webhooks: int = Field(default=100, ge=1)  # a call fetching more TwiML is hung up
    # The number's own configuration, for calls to it (POST /_emulator/inbound): its Voice URL,
    # and its "call status changes" URL (unset: no status callback).
    inbound_url: str | None = None
    inbound_status_url: str | None = None


class Emulator:
    def __init__(
        self,
        auth_token: str,
        account_sid: str | None = None,
        options: EmulatorOptions | None = None,
    ) -> None:
        self.auth_token = auth_token
        self.account_sid = account_sid
        self.initial_options = options or EmulatorOptions()
        self.options = self.initial_options.model_copy()
        self.rng = random.Random(self.options.seed)
        self.calls: dict[str, EmulatedCall] = {}
        self.respondents: dict[str, Respondent] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    @property
    def sender(self) -> WebhookSender:
        if self._http is None:
            raise RuntimeError("the emulator is not running")
        return WebhookSender(self.auth_token, self._http, self.options.webhook_timeout)

    async def start(self) -> None:
        self._http = httpx.AsyncClient(trust_env=False)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def respondent_for(self, number: str) -> Respondent:
        return self.respondents.get(number) or default_respondent(number)

    def set_options(self, changes: dict[str, Any]) -> EmulatorOptions:
        self.options = EmulatorOptions.model_validate({**self.options.model_dump(), **changes})
        if "seed" in changes:
            self.rng = random.Random(self.options.seed)
        return self.options

    def reset(self) -> None:
        """Forget calls and respondents; options go back to the start-up ones."""
        self.calls.clear()
        self.respondents.clear()
        self.options = self.initial_options.model_copy()
        self.rng = random.Random(self.options.seed)

    def run(self, call: EmulatedCall, playing: Coroutine[Any, Any, None]) -> None:
        """Register the call and run `playing` (which plays it) in the background."""
        self.calls[call.sid] = call
        task = asyncio.create_task(playing, name=f"call {call.sid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def pause(self) -> None:
        await asyncio.sleep(self.options.step_delay)
