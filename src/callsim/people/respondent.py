"""What a simulated person says, reacting to each prompt it hears.

The person knows nothing of the campaign. It reads what every listening reply offers, as a caller
would hear it: the language, the recogniser hints (the engine lists the expected answers there:
yes/no words, the choices, the points of a short scale), and the prompt text. The first one is
the consent question; after that it answers from the hints when there are any, else with a
number when the prompt speaks of numbers (within the range it names), else with a short comment.
Its behaviour adds one twist: say no, hang up, ask to repeat, press `#`, opt out, or ask to be
called back in a minute (an appointment short enough for a demo to keep).

Three things happen to anyone who takes part, whatever the behaviour, each drawn from the same
seeded random source (so the same attempt and seed always play out the same way):

- asked their age (the prompt says "quanti anni ha", "how old", "edad", "quel âge", "wie alt"...),
  a person gives an adult age, 18 to 80; one in ten (`MINOR_SHARE`, drawn the first time the age
  is asked) is under age and says 16 (`MINOR_AGE`), so a screening question on age screens them
  out. A range the prompt names is kept to: the lowest number of it for a minor;
- one answer in ten (`UNSURE_SHARE`) reaches the service with a low speech confidence, as on a
  poor line, so that a campaign with `confirm_below` says it back;
- an answer said back ("Ho capito 7, giusto?") is confirmed with "yes"; once per call at most,
  one time in four (`DENY_SHARE`), the person says "no" instead and gives the same answer again
  when the question comes back, clearly this time.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from app.dialogue.numbers import find_numbers
from app.dialogue.phrases import PHRASES
from app.dialogue.survey import Language
from app.dialogue.text import contains_any, phrases, tokens
from callsim.answers import HANG_UP, SILENCE, Answer
from callsim.people.mix import Behaviour

MINOR_SHARE = 0.1  # of the people asked their age, this many are under age
MINOR_AGE = 16
ADULT_AGES = (18, 80)
AGES_SAID = (0, 120)  # the ages anyone may say, when the prompt names no range
UNSURE_SHARE = 0.1  # of the answers, this many are heard with a low confidence
UNSURE_CONFIDENCE = (0.35, 0.55)
DENY_SHARE = 0.25  # of the answers said back, this many are denied (once per call at most)


@dataclass(frozen=True)
class Heard:
    """What the person hears before it is listened to: the prompts, and what they expect."""

    index: int  # 0-based, counting every listening reply of the call
    language: str
    prompts: tuple[str, ...]
    hints: tuple[str, ...] = ()
    num_digits: int | None = None


@dataclass(frozen=True)
class Words:
    yes: str
    no: str
    repeat: str
    opt_out: str
    later: str  # asks for an appointment
    comments: tuple[str, ...]
    age: tuple[str, ...]  # what a question about one's age says


WORDS = {
    Language.IT: Words(
        yes="sì, certo",
        no="no, grazie",
        repeat="può ripetere?",
        opt_out="non chiamatemi più",
        later="adesso non posso, mi richiami tra un minuto",
        comments=(
            "più personale nei negozi",
            "consegne più veloci",
            "prezzi un po' più bassi",
            "va tutto bene così",
        ),
        age=("quanti anni ha", "quanti anni hai", "età"),
    ),
    Language.EN: Words(
        yes="yes, sure",
        no="no thanks",
        repeat="sorry, say again?",
        opt_out="don't call me again",
        later="not now, call me back in a minute",
        comments=(
            "more staff in the shops",
            "faster delivery",
            "slightly lower prices",
            "it is all good as it is",
        ),
        age=("how old", "age"),
    ),
    Language.ES: Words(
        yes="sí, claro",
        no="no, gracias",
        repeat="perdone, ¿puede repetir?",
        opt_out="no me vuelvan a llamar",
        later="ahora no puedo, llámeme en un minuto",
        comments=(
            "más personal en las tiendas",
            "entregas más rápidas",
            "precios un poco más bajos",
            "todo está bien así",
        ),
        age=("cuántos años tiene", "cuántos años tienes", "edad"),
    ),
    Language.FR: Words(
        yes="oui, bien sûr",
        no="non merci",
        repeat="pardon, vous pouvez répéter ?",
        opt_out="ne m'appelez plus",
        later="pas maintenant, rappelez-moi dans une minute",
        comments=(
            "plus de personnel dans les magasins",
            "des livraisons plus rapides",
            "des prix un peu plus bas",
            "tout va bien comme ça",
        ),
        age=("quel âge", "âge"),
    ),
    Language.DE: Words(
        yes="ja, gerne",
        no="nein, danke",
        repeat="Entschuldigung, können Sie das wiederholen?",
        opt_out="rufen Sie mich bitte nicht mehr an",
        later="nicht jetzt, rufen Sie mich in einer Minute wieder an",
        comments=(
            "mehr Personal in den Filialen",
            "schnellere Lieferung",
            "etwas niedrigere Preise",
            "es ist alles gut so",
        ),
        age=("wie alt", "alter"),
    ),
}


def language_of(heard: Heard) -> Language:
    """The language listened for, by its primary tag ("fr-CA" is French); else English."""
    primary = re.split(r"[-_]", heard.language.strip().lower())[0]
    spoken = {language.split("-")[0].lower(): language for language in Language}
    return spoken.get(primary, Language.EN)


class SimulatedRespondent:
    """One person on one call; keeps its place in the conversation across Gathers."""

    def __init__(self, behaviour: Behaviour, rng: random.Random) -> None:
        self.behaviour = behaviour
        self.rng = rng
        self.consented = False
        self.answered = 0  # questions answered with a value
        self.twisted = False  # the behaviour's one-off (repeat, skip) is done
        self.minor: bool | None = None  # drawn the first time the person is asked their age
        self.last: str | None = None  # the last answer given
        self.denied = False  # an answer said back was denied: once per call at most
        self.again: str | None = None  # the answer to give again once the question comes back

    def __call__(self, heard: Heard) -> Answer:
        if self.behaviour is Behaviour.VOICEMAIL:
            return SILENCE  # a machine answers nothing
        words = WORDS[language_of(heard)]
        if not self.consented:
            return self._consent(words)
        if said_back(heard):
            return self._confirm(heard, words)
        return self._question(heard, words)

    def _consent(self, words: Words) -> Answer:
        if self.behaviour is Behaviour.REFUSE:
            return Answer(speech=words.no)
        if self.behaviour is Behaviour.CALLBACK:
            return Answer(speech=words.later)
        self.consented = True
        return Answer(speech=words.yes)

    def _confirm(self, heard: Heard, words: Words) -> Answer:
        """The agent says an answer back: yes, or (once a call) no, and the answer again."""
        if not self.denied and self.last is not None and self.rng.random() < DENY_SHARE:
            self.denied, self.again = True, self.last
            return Answer(speech=PHRASES[language_of(heard)].yes_no_words[1])
        return Answer(speech=words.yes)

    def _question(self, heard: Heard, words: Words) -> Answer:
        if self.again is not None:
            # The same question after a denied read-back: the same answer, said clearly.
            speech, self.again = self.again, None
            return Answer(speech=speech)
        behaviour = self.behaviour
        if behaviour is Behaviour.OPT_OUT:
            return Answer(speech=words.opt_out)
        if behaviour is Behaviour.HANGUP and self.answered >= 1:
            return HANG_UP
        if not self.twisted and behaviour in (Behaviour.REPEAT, Behaviour.SKIP):
            self.twisted = True
            if behaviour is Behaviour.REPEAT:
                return Answer(speech=words.repeat)
            return Answer(digits="#")  # the keypad's "skip"
        self.answered += 1
        minor = asks_age(heard) and self._is_minor()
        answer = answer_to(heard, words, self.rng, minor=minor)
        self.last = answer.speech
        return self._over_the_line(answer)

    def _is_minor(self) -> bool:
        if self.minor is None:
            self.minor = self.rng.random() < MINOR_SHARE
        return self.minor

    def _over_the_line(self, answer: Answer) -> Answer:
        """Now and then the line is poor: the recogniser is unsure of what it heard."""
        if answer.speech is None or self.rng.random() >= UNSURE_SHARE:
            return answer
        low, high = UNSURE_CONFIDENCE
        return Answer(speech=answer.speech, confidence=round(self.rng.uniform(low, high), 2))


def said_back(heard: Heard) -> bool:
    """Whether the agent is saying an answer back to be confirmed ("Ho capito 7, giusto?")."""
    before, _, after = PHRASES[language_of(heard)].confirm.partition("{answer}")
    last = heard.prompts[-1] if heard.prompts else ""
    return len(last) > len(before) + len(after) and last.startswith(before) and last.endswith(after)


def asks_age(heard: Heard) -> bool:
    """Whether the prompt asks the person's age ("Quanti anni ha?", "How old are you?")."""
    said = tokens(" ".join(heard.prompts))
    return contains_any(said, phrases(*WORDS[language_of(heard)].age))


def answer_to(heard: Heard, words: Words, rng: random.Random, *, minor: bool = False) -> Answer:
    """A plausible answer to a question: an age, a hint, a number in the spoken range, or a
    comment."""
    if asks_age(heard):
        return Answer(speech=str(age_for(heard, rng, minor=minor)))
    hints = [h.strip() for h in heard.hints if h.strip()]
    if hints:
        return Answer(speech=rng.choice(hints))
    number = number_for(heard, rng)
    if number is not None:
        return Answer(speech=str(number))
    return Answer(speech=rng.choice(words.comments))


def age_for(heard: Heard, rng: random.Random, *, minor: bool) -> int:
    """An age: 16 for a minor, else an adult's, within the range the prompt names if any."""
    low, high = _age_range(heard)
    if minor:
        return min(max(MINOR_AGE, low), high)
    first, last = max(ADULT_AGES[0], low), min(ADULT_AGES[1], high)
    return rng.randint(first, last) if first <= last else rng.randint(low, high)


def _age_range(heard: Heard) -> tuple[int, int]:
    listed = sorted(int(h) for h in heard.hints if h.strip().isdigit())
    if len(listed) >= 2:
        return listed[0], listed[-1]
    language = language_of(heard)
    said = [int(n) for n in find_numbers(" ".join(heard.prompts), language) if n == int(n)]
    if len(said) >= 2:
        low, high = sorted(said[-2:])
        return low, high
    return AGES_SAID


def number_for(heard: Heard, rng: random.Random) -> int | None:
    """A number fitting the prompt, or None when the prompt does not ask for one."""
    language = language_of(heard)
    text = " ".join(heard.prompts)
    numbers = [int(n) for n in find_numbers(text, language) if n == int(n)]
    keys = heard.num_digits is not None
    asks = bool(numbers) or keys or PHRASES[language].hint_number.rstrip(".") in text
    if not asks:
        return None
    if len(numbers) >= 2:
        # The range is the last two numbers said: the question's own, or the hint after a miss.
        low, high = sorted(numbers[-2:])
        return rng.randint(low, high)
    if numbers:
        return numbers[0]  # "at least N" and "at most N" both accept N itself
    return rng.randint(1, 5)
