"""Plays the mock's calls: a simulated person on each, driving the service's own webhooks.

Each call the mock places is played in the background, over real HTTP, at the URLs of its call
request and in the mock's JSON dialect (`app.telephony.mock`): status callbacks numbered in
order (initiated, ringing, then in-progress or how the call failed, then completed), and the
voice webhook turn after turn, each listening reply answered by the person, until the service
hangs up, the person does, or the call's time limit runs out. The person is drawn from the mix,
seeded by `MOCK_SIMULATION_SEED` and the attempt id, so the same attempt always meets the same
person saying the same things. Time on the line is simulated, for the call's duration.

A person who `calls_back` lets the call ring out, then rings the campaign's number: the service's
inbound webhook, in the mock's dialect, and the survey from there if it still has one for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.telephony.base import INBOUND_PATH, Answerer, CallReport, CallRequest, CallState
from app.telephony.callbacks import EVENTS_PATH, VOICE_PATH
from callsim.answers import Answer
from callsim.people.mix import DEFAULT_MIX, Behaviour, Mix, parse_mix, pick
from callsim.people.respondent import Heard, SimulatedRespondent

log = logging.getLogger(__name__)

KEEP_CALLS = 1000  # calls kept for fetch_call; past this, the finished ones are forgotten
MAX_TURNS = 100  # a call asking more than this is hung up: the survey is looping
WEBHOOK_TIMEOUT = 15.0  # what a real provider waits for a webhook's answer
CHARS_PER_SECOND = 14.0  # speaking rate, for the simulated clock
ANSWER_SECONDS = 2.0  # time a person takes to answer

# How each behaviour's call ends when nobody takes part in the survey.
_NOT_CONNECTED = {
    Behaviour.NO_ANSWER: CallState.NO_ANSWER,
    Behaviour.BUSY: CallState.BUSY,
    Behaviour.CALLS_BACK: CallState.NO_ANSWER,
}


def person_for(attempt_id: int, mix: Mix, seed: int) -> tuple[Behaviour, random.Random]:
    """The behaviour met by this attempt, and the random source of everything it then says."""
    rng = random.Random(f"{seed}:{attempt_id}")
    return pick(mix, rng), rng


@dataclass
class SimulatedCall:
    call_id: str
    request: CallRequest
    behaviour: Behaviour
    person: SimulatedRespondent
    status: CallState = CallState.QUEUED
    answered_by: Answerer | None = None
    seconds: float = 0.0  # simulated seconds on the line since the answer
    heard: list[str] = field(default_factory=list)  # every prompt said, in order
    answers: list[Answer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sequence: int = 0
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def duration(self) -> int:
        return math.ceil(self.seconds) if self.answered_by is not None else 0

    def end(self, status: CallState) -> bool:
        """Move to a final status once; False if the call had already ended."""
        if self.status.is_final:
            return False
        self.status = status
        return True

    def report(self) -> CallReport:
        final = self.status.is_final
        return CallReport(self.status, self.answered_by, self.duration if final else None)


class Simulation:
    def __init__(self, mix: Mix, *, seed: int = 0, step_delay: float = 0.05) -> None:
        self.mix = dict(mix)
        self.seed = seed
        self.step_delay = step_delay
        self.calls: dict[str, SimulatedCall] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    @classmethod
    def from_mix(cls, text: str | None, *, seed: int, step_delay: float) -> Simulation:
        """A simulation of the mix `name=weight,...` (None: the default); ValueError if bad."""
        mix = parse_mix(DEFAULT_MIX if text is None else text)
        return cls(mix, seed=seed, step_delay=step_delay)

    @property
    def mix_text(self) -> str:
        return ",".join(f"{name}={weight}" for name, weight in self.mix.items())

    async def place(self, call_id: str, request: CallRequest) -> SimulatedCall:
        """Start playing the call `call_id` in the background."""
        if self._http is None:  # opened in the event loop that plays the calls
            self._http = httpx.AsyncClient(trust_env=False, timeout=WEBHOOK_TIMEOUT)
        behaviour, rng = person_for(request.attempt_id, self.mix, self.seed)
        call = SimulatedCall(call_id, request, behaviour, SimulatedRespondent(behaviour, rng))
        call.notes.append(f"simulated respondent: {behaviour}")
        self._forget_finished()
        self.calls[call_id] = call
        task = asyncio.create_task(self._play(call, self._http), name=f"call {call_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return call

    def report(self, call_id: str) -> CallReport:
        """Where a call stands; status None for a call this process does not (or no longer) know."""
        call = self.calls.get(call_id)
        return call.report() if call is not None else CallReport(status=None)

    def hang_up(self, call_id: str) -> None:
        """End a call as a provider does when asked: canceled before the answer, else completed."""
        call = self.calls.get(call_id)
        if call is not None:
            answered = call.status is CallState.IN_PROGRESS
            call.end(CallState.COMPLETED if answered else CallState.CANCELED)

    async def aclose(self) -> None:
        """Stop the calls still playing and close the HTTP client; safe to call twice."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def _play(self, call: SimulatedCall, http: httpx.AsyncClient) -> None:
        line = _Line(call, http, self.step_delay)
        try:
            await line.connect()
            if call.status is CallState.IN_PROGRESS:
                await line.converse()
                call.end(CallState.COMPLETED)
            await line.status(call.status)
            if call.behaviour is Behaviour.CALLS_BACK and call.status is CallState.NO_ANSWER:
                await self._call_back(call, http)
        except Exception as exc:  # a bug here must show in the call, not kill the service
            log.exception("simulated call %s failed", call.call_id)
            call.notes.append(f"simulation error: {type(exc).__name__}: {exc}")
            call.end(CallState.FAILED)
        finally:
            call.finished.set()

    async def _call_back(self, missed: SimulatedCall, http: httpx.AsyncClient) -> None:
        """The person who missed `missed` rings the number it came from and takes part."""
        base = _service_base(missed.request.voice_url)
        request = replace(
            missed.request,
            voice_url=base + INBOUND_PATH,
            status_callback_url=base + EVENTS_PATH,  # the number's: no attempt id in it
        )
        rng = random.Random(f"{self.seed}:{missed.call_id}:back")
        person = SimulatedRespondent(Behaviour.COMPLETE, rng)
        call = SimulatedCall(f"{missed.call_id}B", request, Behaviour.COMPLETE, person)
        call.answered_by, call.status = Answerer.HUMAN, CallState.IN_PROGRESS
        self.calls[call.call_id] = call
        missed.notes.append(f"called back: {call.call_id}")
        line = _Line(call, http, self.step_delay)
        ring = {"call_id": call.call_id, "from": missed.request.to, "to": missed.request.from_}
        await line.converse(first=(request.voice_url, ring))
        call.end(CallState.COMPLETED)
        await line.status(call.status)
        call.finished.set()

    def _forget_finished(self) -> None:
        if len(self.calls) <= KEEP_CALLS:
            return
        for call_id in [i for i, call in self.calls.items() if call.finished.is_set()]:
            del self.calls[call_id]


class _Line:
    """One call being played: its callbacks and its conversation."""

    def __init__(self, call: SimulatedCall, http: httpx.AsyncClient, step_delay: float) -> None:
        self.call, self.http, self.step_delay = call, http, step_delay

    async def connect(self) -> None:
        call = self.call
        for status in (CallState.INITIATED, CallState.RINGING):
            await asyncio.sleep(self.step_delay)
            if call.status.is_final:  # hung up through the provider meanwhile
                return
            call.status = status
            await self.status(status)
        await asyncio.sleep(self.step_delay)
        not_connected = _NOT_CONNECTED.get(call.behaviour)
        if call.status.is_final or not_connected is not None:
            call.end(not_connected or CallState.CANCELED)
            return
        machine = call.behaviour is Behaviour.VOICEMAIL
        call.answered_by = Answerer.MACHINE if machine else Answerer.HUMAN
        call.status = CallState.IN_PROGRESS
        await self.status(CallState.IN_PROGRESS)

    async def converse(self, first: tuple[str, dict[str, Any]] | None = None) -> None:
        """Play the conversation; `first` is the first request when it is not the answered
        call's voice webhook (an incoming call's)."""
        call = self.call
        if first is None:
            answered: dict[str, Any] = {"answered_by": call.answered_by}
            if call.answered_by is Answerer.MACHINE:
                # Detection that waits for the greeting to end, so a message can be left.
                answered["greeting_ended"] = True
            first = (call.request.voice_url, answered)
        reply = await self.voice(*first)
        for index in range(MAX_TURNS):
            if reply is None or call.status.is_final:
                return
            said = tuple(str(text) for text in reply.get("say", []))
            call.heard.extend(said)
            call.seconds += sum(len(text) for text in said) / CHARS_PER_SECOND
            listen = reply.get("listen")
            if not listen or self._past_time_limit():
                return  # the service hung up, or the provider ends the call
            heard = _heard(index, reply, said, listen)
            answer = call.person(heard)
            call.answers.append(answer)
            if answer.hangup:
                return
            call.seconds += ANSWER_SECONDS if not answer.silence else listen["timeout_seconds"]
            reply = await self.voice(str(listen["next"]), _body(answer))
        call.notes.append(f"more than {MAX_TURNS} turns: hung up")

    async def status(self, status: CallState) -> None:
        call = self.call
        body: dict[str, Any] = {
            "provider_call_id": call.call_id,
            "status": status,
            "sequence_number": call.sequence,
        }
        call.sequence += 1
        if call.answered_by is not None:
            body["answered_by"] = call.answered_by
        if status.is_final:
            body["duration"] = call.duration
        with contextlib.suppress(httpx.HTTPError):  # a lost callback is what providers do too
            await self.http.post(call.request.status_callback_url, json=body)

    async def voice(self, url: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """POST one voice turn; the reply, or None when the service failed to give one."""
        try:
            response = await self.http.post(url, json=body)
            reply = response.json() if response.is_success else None
        except (httpx.HTTPError, ValueError) as exc:
            self.call.notes.append(f"voice webhook failed: {type(exc).__name__}: {exc}")
            return None
        if not isinstance(reply, dict):
            self.call.notes.append(f"voice webhook answered HTTP {response.status_code}")
            return None
        return reply

    def _past_time_limit(self) -> bool:
        return self.call.seconds >= self.call.request.time_limit_seconds


def _service_base(voice_url: str) -> str:
    """The service's public base URL, from a voice webhook URL it gave (path prefix kept)."""
    parts = urlsplit(voice_url)
    prefix = parts.path.removesuffix(VOICE_PATH)
    return f"{parts.scheme}://{parts.netloc}{prefix}"


def _heard(index: int, reply: dict[str, Any], said: tuple[str, ...], listen: Any) -> Heard:
    digits = listen.get("num_digits")
    return Heard(
        index=index,
        language=str(reply.get("language", "")),
        prompts=said,
        hints=tuple(str(h) for h in listen.get("hints", [])),
        num_digits=int(digits) if digits is not None else None,
    )


def _body(answer: Answer) -> dict[str, Any]:
    if answer.speech is not None:
        return {"speech": answer.speech, "confidence": answer.confidence}
    if answer.digits is not None:
        return {"digits": answer.digits}
    return {}  # silence: nothing heard
