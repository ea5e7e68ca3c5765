"""TwiML for one turn of a call, from a small neutral description (no dialogue rules here).

A turn is some prompts and then one of three endings:

- listen: the prompts are nested in a `<Gather>` so the respondent can barge in; Twilio posts the
  result to the action URL, including an empty result (`actionOnEmptyResult`). A
  `<Redirect method="POST">` to the action URL + `no_input=1` follows the Gather as a safety net
  should Twilio fall through anyway;
- hang up: `<Hangup/>` after the prompts;
- continue: a `<Redirect>` to the action URL after the prompts (a turn that only speaks).

Speech recognition: `speechTimeout="auto"` ends the utterance at the first natural pause, but
Twilio refuses it with its `default` model (warning 13335), so a model is always pinned; the
`phone_call` model is tuned for telephone audio and accepts `auto`. `finishOnKey` is empty because
`#` is an answer in our surveys (skip), not a terminator.

Voices: Amazon Polly voices through Twilio, one per supported language (`VOICES`); any other
language gets no `voice` attribute, so Twilio's default voice for that language speaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

VOICES = {
    "it-IT": "Polly.Bianca",
    "en-US": "Polly.Joanna",
    "en-GB": "Polly.Amy",
    "es-ES": "Polly.Lucia",
    "fr-FR": "Polly.Lea",
    "de-DE": "Polly.Vicki",
}

NO_INPUT_FLAG = "no_input"  # on the Redirect after a Gather: Twilio fell through, nothing heard
NO_INPUT_PARAM = f"{NO_INPUT_FLAG}=1"


@dataclass(frozen=True)
class GatherSpec:
    """How to listen after the prompts."""

    language: str
    hints: Sequence[str] = ()
    input: str = "speech dtmf"
    timeout_seconds: int = 5  # silence before the respondent is deemed not to answer
    speech_timeout: str | int = "auto"
    speech_model: str = "phone_call"
    num_digits: int | None = None
    finish_on_key: str = ""

    def __post_init__(self) -> None:
        if self.speech_timeout == "auto" and self.speech_model in ("", "default"):
            raise ValueError("speech_timeout='auto' needs a speech model other than 'default'")


def voice_for(language: str) -> str | None:
    """The Polly voice used for a language, or None to let Twilio choose."""
    return VOICES.get(language)


def no_input_url(action_url: str) -> str:
    """The action URL flagged as reached because the Gather got nothing."""
    return action_url + ("&" if "?" in action_url else "?") + NO_INPUT_PARAM


def render_turn(
    says: Sequence[str],
    language: str,
    gather: GatherSpec | None,
    action_url: str,
    hangup: bool,
    voice: str | None = None,
) -> str:
    """TwiML that speaks `says`, then listens, hangs up, or continues at `action_url`."""
    if gather is not None and hangup:
        raise ValueError("a turn either listens or hangs up, not both")
    voice = voice or voice_for(language)
    response = VoiceResponse()
    if gather is not None:
        # A keypad-only menu gets no recogniser settings: nothing is transcribed.
        speech = "speech" in gather.input.split()
        verb = response.gather(
            input=gather.input,
            action=action_url,
            method="POST",
            timeout=gather.timeout_seconds,
            speech_timeout=gather.speech_timeout if speech else None,
            speech_model=gather.speech_model if speech else None,
            language=gather.language,
            hints=", ".join(h.replace(",", " ") for h in gather.hints) or None,
            finish_on_key=gather.finish_on_key,
            num_digits=gather.num_digits,
            action_on_empty_result=True,
        )
        _say_all(verb, says, language, voice)
        response.redirect(no_input_url(action_url), method="POST")
    else:
        _say_all(response, says, language, voice)
        if hangup:
            response.hangup()
        else:
            response.redirect(action_url, method="POST")
    return str(response.to_xml())


def render_hangup(says: Sequence[str], language: str, voice: str | None = None) -> str:
    """TwiML that speaks `says` and hangs up (e.g. an answer to a call that must end)."""
    return render_turn(says, language, None, "", hangup=True, voice=voice)


def _say_all(parent: Any, says: Sequence[str], language: str, voice: str | None) -> None:
    for text in says:
        if text.strip():
            parent.say(text, voice=voice, language=language)
