"""Runs an answered call's TwiML the way Twilio does: top down, one document at a time.

Supported verbs: `<Say>` (the text is recorded as heard), `<Play>`, `<Pause>`, `<Gather>` (with
nested Say/Play/Pause), `<Redirect>`, `<Hangup>` and `<Reject>`. A Gather is answered by the
respondent's next step; Twilio posts the
result to the action URL (default: the document's own URL) and follows the TwiML that comes
back. With no input it posts an empty result only when `actionOnEmptyResult="true"`, and
otherwise falls through to the next verb. The call ends at `<Hangup>`, when the respondent hangs
up, when a document runs out of verbs, or at the create request's `TimeLimit` (simulated time).
A webhook that fails (no 2xx, not TwiML) ends the call after Twilio's "application error"
message (11200/12100). An incoming call rings while its first document is fetched
(`CallStatus=ringing`) and is answered as that document is played.
With `retry_webhooks` every request is made twice and the second response is the one followed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin

from callsim.answers import Answer
from callsim.twilio.calls import EmulatedCall, call_params
from callsim.twilio.state import Emulator

APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
CHARS_PER_SECOND = 14.0  # speaking rate, for the simulated clock
ANSWER_SECONDS = 2.0  # time a respondent takes to answer
DEFAULT_TIME_LIMIT = 4 * 3600


@dataclass
class Fetch:
    url: str
    method: str = "POST"
    extra: dict[str, str] = field(default_factory=dict)


Next = Fetch | Literal["hangup"] | None


class Interpreter:
    def __init__(self, call: EmulatedCall, emulator: Emulator) -> None:
        self.call = call
        self.emulator = emulator

    async def run(self) -> None:
        """Fetch and execute documents until the call ends."""
        call = self.call
        step: Fetch | None = Fetch(call.param("Url") or "", call.param("Method", "POST") or "POST")
        fetched = 0
        while step is not None and not call.is_final:
            if self._past_time_limit():
                call.note("TimeLimit reached: Twilio ended the call")
                call.end("completed")
                return
            if fetched >= self.emulator.options.max_webhooks:
                call.note(f"more than {fetched} TwiML requests: the emulator hung up")
                return
            fetched += 1
            document = await self._fetch(step)
            if call.status == "ringing":
                # An incoming call is answered once its Voice URL has responded (with TwiML, or
                # with Twilio's own application-error message).
                call.answer(None)
            if document is None:
                return
            step = self._execute(document, step.url)

    def _past_time_limit(self) -> bool:
        """Twilio ends a call `TimeLimit` seconds after it was answered (4 hours by default)."""
        raw = self.call.param("TimeLimit") or ""
        limit = int(raw) if raw.isdigit() else DEFAULT_TIME_LIMIT
        answered = self.call.answered_offset
        return answered is not None and self.call.offset - answered >= limit

    async def _fetch(self, step: Fetch) -> ET.Element | None:
        times = 2 if self.emulator.options.retry_webhooks else 1
        params = {**call_params(self.call), **step.extra}
        deliveries = await self.emulator.sender.send(step.url, step.method, params, times=times)
        self.call.webhooks.extend(deliveries)
        last = deliveries[-1]
        if not last.ok:
            self._fail(11200, f"HTTP retrieval failure: {last.status_code or last.error}")
            return None
        try:
            root = ET.fromstring(last.body.encode())
        except ET.ParseError as exc:
            self._fail(12100, f"document parse failure: {exc}")
            return None
        if root.tag != "Response":
            self._fail(12100, f"document root is <{root.tag}>, not <Response>")
            return None
        return root

    def _fail(self, code: int, message: str) -> None:
        self.call.note(f"error {code}: {message}")
        self._hear("Say", APPLICATION_ERROR, {"source": "twilio"})

    def _execute(self, document: ET.Element, url: str) -> Fetch | None:
        for verb in document:
            if self.call.is_final:
                return None
            outcome = self._verb(verb, url)
            if outcome == "hangup":
                return None
            if outcome is not None:
                return outcome
        return None  # the document ended: so does the call

    def _verb(self, verb: ET.Element, url: str) -> Next:
        tag = verb.tag
        if tag in ("Say", "Play", "Pause"):
            self._nested(verb)
            return None
        if tag == "Gather":
            return self._gather(verb, url)
        if tag == "Redirect":
            target = urljoin(url, (verb.text or "").strip())
            return Fetch(target, verb.get("method", "POST"))
        if tag in ("Hangup", "Reject"):
            return "hangup"
        self.call.note(f"unsupported verb <{tag}> skipped")
        return None

    def _gather(self, verb: ET.Element, url: str) -> Next:
        prompts = [child for child in verb if child.tag in ("Say", "Play", "Pause")]
        for child in prompts:
            self._nested(child, in_gather=True)
        said = tuple((c.text or "").strip() for c in prompts if c.tag == "Say")
        answer = self._answer()
        entry: dict[str, Any] = {
            "attributes": dict(verb.attrib),
            "prompts": list(said),
            "answer": answer.model_dump(exclude_defaults=True),
            "result": None,
        }
        self.call.gathers.append(entry)
        if answer.hangup:
            self.call.end("completed")
            return "hangup"
        result = gather_result(answer, verb.attrib)
        action = Fetch(urljoin(url, verb.get("action", url)), verb.get("method", "POST"), result)
        if result:
            entry["result"] = result
            self.call.advance(ANSWER_SECONDS)
            return action
        self.call.advance(float(verb.get("timeout", "5")))
        return action if verb.get("actionOnEmptyResult") == "true" else None

    def _answer(self) -> Answer:
        return self.call.respondent.answer_at(len(self.call.gathers))

    def _nested(self, verb: ET.Element, in_gather: bool = False) -> None:
        extra: dict[str, Any] = {"in_gather": True} if in_gather else {}
        if verb.tag == "Pause":
            self.call.advance(float(verb.get("length", "1")))
            return
        self._hear(verb.tag, (verb.text or "").strip(), {**dict(verb.attrib), **extra})

    def _hear(self, tag: str, text: str, attributes: dict[str, Any]) -> None:
        self.call.heard.append({"verb": tag, "text": text, **attributes})
        self.call.advance(len(text) / CHARS_PER_SECOND if tag == "Say" else 3.0)


def gather_result(answer: Answer, attributes: dict[str, str]) -> dict[str, str]:
    """What Twilio posts for this answer under these Gather attributes; {} means no input."""
    modes = attributes.get("input", "dtmf").split()
    if answer.speech is not None and "speech" in modes:
        return {"SpeechResult": answer.speech, "Confidence": f"{answer.confidence:.7f}"}
    if answer.digits is not None and "dtmf" in modes:
        return _digits(answer.digits, attributes)
    return {}


def _digits(pressed: str, attributes: dict[str, str]) -> dict[str, str]:
    finish = attributes.get("finishOnKey", "#")
    finished_on = ""
    if finish and finish in pressed:
        pressed, finished_on = pressed[: pressed.index(finish)], finish
    limit = attributes.get("numDigits")
    if limit and limit.isdigit():
        pressed = pressed[: int(limit)]
    if not pressed:
        return {}
    return {"Digits": pressed, "FinishedOnKey": finished_on}
