"""Plays the mock's calls: an in-process Twilio emulator calling the service's own webhooks.

Each call is created as Twilio would create it from the provider's request (the voice URL, the
status callback with its four events, the ring timeout, answering-machine detection), and the
emulator plays it in the background: signed status callbacks and TwiML fetched over real HTTP.
The person on the line is drawn from the mix, seeded by `MOCK_SIMULATION_SEED` and the attempt
id, so the same attempt always meets the same person saying the same things.
"""

from __future__ import annotations

import random

from app.telephony.base import CallReport, CallRequest
from callsim.people.mix import DEFAULT_MIX, Behaviour, Mix, parse_mix, pick
from callsim.people.respondent import EMULATOR_BEHAVIOUR, SimulatedRespondent
from callsim.twilio import Emulator, EmulatorOptions, Respondent
from callsim.twilio.calls import EmulatedCall
from callsim.twilio.player import start_call

ACCOUNT_SID = "AC" + "0" * 32
# The emulator signs every webhook; the mock does not check signatures, so any token will do.
SIGNING_TOKEN = "mock-simulation"
FROM_NUMBER = "+15005550006"  # Twilio's "valid caller" test number, for requests without one
EVENTS = ("initiated", "ringing", "answered", "completed")
KEEP_CALLS = 1000  # calls kept for fetch_call; past this, the finished ones are forgotten


def person_for(attempt_id: int, mix: Mix, seed: int) -> tuple[Behaviour, random.Random]:
    """The behaviour met by this attempt, and the random source of everything it then says."""
    rng = random.Random(f"{seed}:{attempt_id}")
    return pick(mix, rng), rng


def twilio_request(request: CallRequest, machine_detection: bool) -> dict[str, list[str]]:
    """The create-call form the Twilio adapter would send for `request`."""
    params = {
        "To": [request.to],
        "From": [request.from_ or FROM_NUMBER],
        "Url": [request.voice_url],
        "Method": ["POST"],
        "StatusCallback": [request.status_callback_url],
        "StatusCallbackMethod": ["POST"],
        "StatusCallbackEvent": list(EVENTS),
        "Timeout": [str(request.ring_timeout_seconds)],
    }
    if machine_detection:
        params["MachineDetection"] = ["Enable"]
    return params


class Simulation:
    def __init__(
        self, mix: Mix, *, seed: int = 0, step_delay: float = 0.05, machine_detection: bool = True
    ) -> None:
        self.mix = dict(mix)
        self.seed = seed
        self.machine_detection = machine_detection
        options = EmulatorOptions(step_delay=step_delay)
        self.emulator = Emulator(SIGNING_TOKEN, ACCOUNT_SID, options)
        self._running = False

    @classmethod
    def from_mix(cls, text: str | None, *, seed: int, step_delay: float) -> Simulation:
        """A simulation of the mix `name=weight,...` (None: the default); ValueError if bad."""
        return cls(
            parse_mix(DEFAULT_MIX if text is None else text), seed=seed, step_delay=step_delay
        )

    @property
    def mix_text(self) -> str:
        return ",".join(f"{name}={weight}" for name, weight in self.mix.items())

    async def place(self, call_id: str, request: CallRequest) -> EmulatedCall:
        """Start playing the call `call_id` in the background."""
        if not self._running:
            self._running = True  # the emulator needs an HTTP client, opened in this event loop
            await self.emulator.start()
        behaviour, rng = person_for(request.attempt_id, self.mix, self.seed)
        params = twilio_request(request, self.machine_detection)
        respondent = Respondent.model_construct(
            number=request.to, behaviour=EMULATOR_BEHAVIOUR.get(behaviour, "answer"), answers=[]
        )
        call = EmulatedCall(
            sid=call_id,
            account_sid=ACCOUNT_SID,
            to=request.to,
            from_=params["From"][0],
            request=params,
            respondent=respondent,
            answer_source=SimulatedRespondent(behaviour, rng),
        )
        call.note(f"simulated respondent: {behaviour}")
        self._forget_finished()
        start_call(self.emulator, call)
        return call

    def report(self, call_id: str) -> CallReport:
        """Where a call stands; status None for a call this process does not (or no longer) know."""
        call = self.emulator.calls.get(call_id)
        if call is None:
            return CallReport(status=None)
        return CallReport(call.status, call.answered_by, call.duration)

    def hang_up(self, call_id: str) -> None:
        call = self.emulator.calls.get(call_id)
        if call is not None and not call.is_final:
            call.hang_up("completed")

    async def aclose(self) -> None:
        """Stop the calls still playing and close the HTTP client; safe to call twice."""
        if self._running:
            self._running = False
            await self.emulator.stop()

    def _forget_finished(self) -> None:
        calls = self.emulator.calls
        if len(calls) <= KEEP_CALLS:
            return
        for sid in [sid for sid, call in calls.items() if call.finished.is_set()]:
            del calls[sid]
