"""Plays one call: the status progression, the signed status callbacks, then the TwiML.

initiated -> ringing -> in-progress (answered) -> ... -> completed, or ringing -> no-answer /
busy / failed. Callbacks go only to the subscribed events (`StatusCallbackEvent`, one form
value each; none given means `completed` only), numbered by `SequenceNumber` from 0 in the order
Twilio would send them. With `shuffle_callbacks` they are held back and delivered at the end in
another order, as Twilio's delivery order is not guaranteed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from callsim.twilio.calls import EmulatedCall, call_params, rfc2822
from callsim.twilio.interpreter import Interpreter
from callsim.twilio.state import Emulator

log = logging.getLogger(__name__)

EVENTS = ("initiated", "ringing", "answered", "completed")
AMD_SECONDS = 3.0  # synchronous AMD listens a few seconds before the TwiML is fetched


def subscribed_events(call: EmulatedCall) -> set[str]:
    """The events a status callback goes to; a space-joined value counts as its first word."""
    if not call.param("StatusCallback"):
        return set()
    events: set[str] = set()
    for value in call.request.get("StatusCallbackEvent", []):
        words = value.split()
        if len(words) > 1:
            call.note(f"StatusCallbackEvent {value!r} is one value: only {words[0]!r} applies")
        if words and words[0] in EVENTS:
            events.add(words[0])
    return events or {"completed"}


class Callbacks:
    def __init__(self, call: EmulatedCall, emulator: Emulator) -> None:
        self.call = call
        self.emulator = emulator
        self.events = subscribed_events(call)
        self.held: list[dict[str, str]] = []
        self.sequence = 0

    async def emit(self, event: str) -> None:
        if event not in self.events or self.call.respondent.lost_callbacks:
            return
        params = {
            **call_params(self.call),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self.sequence),
            "Timestamp": rfc2822(self.call.now()) or "",
        }
        self.sequence += 1
        if event == "completed":
            params["CallDuration"] = str(self.call.duration or 0)
            if self.call.respondent.error_code and self.call.status == "failed":
                params["ErrorCode"] = str(self.call.respondent.error_code)
        if self.emulator.options.shuffle_callbacks:
            self.held.append(params)
        else:
            await self._post(params)

    async def flush(self) -> None:
        """Deliver held callbacks in an order other than the one they were emitted in."""
        order = list(self.held)
        self.held.clear()
        if len(order) > 1:
            shuffled = list(order)
            self.emulator.rng.shuffle(shuffled)
            order = shuffled if shuffled != order else order[::-1]
        for params in order:
            await self._post(params)

    async def _post(self, params: dict[str, str]) -> None:
        url = self.call.param("StatusCallback") or ""
        method = self.call.param("StatusCallbackMethod", "POST") or "POST"
        times = 2 if self.emulator.options.duplicate_callbacks else 1
        deliveries = await self.emulator.sender.send(
            url, method, params, times=times, kind="status"
        )
        self.call.callbacks.extend(deliveries)


def start_call(emulator: Emulator, call: EmulatedCall) -> None:
    """Register the call with the emulator and play it in the background."""
    emulator.run(call, play_call(call, emulator))


def start_inbound(emulator: Emulator, call: EmulatedCall) -> None:
    """Register a call to the number and play it in the background."""
    emulator.run(call, play_inbound(call, emulator))


async def play_inbound(call: EmulatedCall, emulator: Emulator) -> None:
    """A call to the number: its Voice URL is fetched while it rings, then played like any call;
    the number's status callback hears of the end (`completed` only, as Twilio sends it)."""

    async def ring_and_talk(callbacks: Callbacks) -> None:
        await emulator.pause()
        call.status = "ringing"
        await Interpreter(call, emulator).run()
        call.end("completed")

    await _played(call, emulator, ring_and_talk)


async def play_call(call: EmulatedCall, emulator: Emulator) -> None:
    async def dial_and_talk(callbacks: Callbacks) -> None:
        await _connect(call, emulator, callbacks)
        await _hold(call)
        if call.status == "in-progress":
            await Interpreter(call, emulator).run()
            call.end("completed")

    await _played(call, emulator, dial_and_talk)


async def _played(
    call: EmulatedCall, emulator: Emulator, play: Callable[[Callbacks], Awaitable[None]]
) -> None:
    """Play a call, then report its end; a failure shows in the call record."""
    callbacks = Callbacks(call, emulator)
    try:
        await play(callbacks)
        await callbacks.emit("completed")
        await callbacks.flush()
    except Exception as exc:  # a bug here must show in the call record, not kill the server
        log.exception("emulated call %s failed", call.sid)
        call.note(f"emulator error: {type(exc).__name__}: {exc}")
        call.end("failed")
    finally:
        call.finished.set()


async def _connect(call: EmulatedCall, emulator: Emulator, callbacks: Callbacks) -> None:
    respondent = call.respondent
    ring_timeout = _int(call.param("Timeout"), 60)
    for status in ("initiated", "ringing"):
        await emulator.pause()
        if call.is_final:  # hung up or canceled through the REST API meanwhile
            return
        call.status = status
        await callbacks.emit(status)
    await emulator.pause()
    if call.is_final:
        return
    if respondent.behaviour in ("busy", "failed"):
        call.advance(min(respondent.ring_seconds, ring_timeout))
        call.end(respondent.behaviour)
        return
    if respondent.behaviour == "no-answer" or respondent.ring_seconds >= ring_timeout:
        call.advance(ring_timeout)
        call.end("no-answer")
        return
    call.advance(respondent.ring_seconds)
    verdict = respondent.amd_verdict(call.param("MachineDetection"))
    if verdict is not None:
        call.advance(AMD_SECONDS)
    call.answer(verdict)
    await callbacks.emit("answered")


async def _hold(call: EmulatedCall) -> None:
    """Keep an answered call live, silent, for the respondent's hold time (real seconds)."""
    if call.status != "in-progress" or not call.respondent.hold_seconds:
        return
    with contextlib.suppress(TimeoutError):  # held to the end: the call goes on
        await asyncio.wait_for(call.ended.wait(), call.respondent.hold_seconds)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default
