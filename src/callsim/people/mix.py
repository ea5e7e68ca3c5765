"""The respondent mix: which behaviours exist, how often each occurs, and a seeded pick.

Whatever their behaviour, the people who take part are sometimes under age, sometimes heard
with little confidence, and now and then deny an answer said back to them (respondent.py): so a
`complete` person may still be screened out by a question on age.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from enum import StrEnum


class Behaviour(StrEnum):
    COMPLETE = "complete"  # consents and answers every question
    REFUSE = "refuse"  # says no at consent
    HANGUP = "hangup"  # consents, answers one question, hangs up at the next
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"  # an answering machine (detected by AMD)
    REPEAT = "repeat"  # asks to hear the first question again, then completes
    SKIP = "skip"  # presses # at the first question, then completes
    OPT_OUT = "opt_out"  # consents, then asks never to be called again
    CALLBACK = "callback"  # "not now, call me back in a minute": an appointment
    CALLS_BACK = "calls_back"  # misses the call, then rings the campaign's number and takes part


DEFAULT_MIX = (
    "complete=45,refuse=10,hangup=8,no_answer=10,busy=5,voicemail=7,repeat=5,skip=3,opt_out=2,"
    "callback=3,calls_back=2"
)

Mix = Mapping[Behaviour, int]


def parse_mix(text: str) -> dict[Behaviour, int]:
    """Read `name=weight,...`; a behaviour left out never occurs. ValueError says what is wrong."""
    weights: dict[Behaviour, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, raw = (s.strip() for s in part.partition("="))
        if name not in tuple(Behaviour):
            known = ", ".join(Behaviour)
            raise ValueError(f"unknown behaviour {name!r} (known: {known})")
        if Behaviour(name) in weights:
            raise ValueError(f"{name} is given twice")
        weights[Behaviour(name)] = _weight(name, raw)
    if sum(weights.values()) <= 0:
        raise ValueError("the weights must add up to more than 0, as in 'complete=1'")
    return weights


def _weight(name: str, raw: str) -> int:
    try:
        weight = int(raw)
    except ValueError:
        raise ValueError(f"{name}: the weight must be a whole number, got {raw!r}") from None
    if weight < 0:
        raise ValueError(f"{name}: the weight must not be negative, got {weight}")
    return weight


def pick(mix: Mix, rng: random.Random) -> Behaviour:
    """Draw one behaviour with the mix's weights."""
    names = [name for name, weight in mix.items() if weight > 0]
    return rng.choices(names, weights=[mix[name] for name in names])[0]
