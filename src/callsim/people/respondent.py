"""What a simulated person says, reacting to each prompt it hears.

The person knows nothing of the campaign. It reads what every listening reply offers, as a caller
would hear it: the language, the recogniser hints (the engine lists the expected answers there:
yes/no words, the choices, the points of a short scale), and the prompt text. The first one is
the consent question; after that it answers from the hints when there are any, else with a
number when the prompt speaks of numbers (within the range it names), else with a short comment.
Its behaviour adds one twist: say no, hang up, ask to repeat, press `#`, or opt out.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from app.dialogue.numbers import find_numbers
from app.dialogue.phrases import PHRASES
from app.dialogue.survey import Language
from callsim.answers import HANG_UP, SILENCE, Answer
from callsim.people.mix import Behaviour


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
    comments: tuple[str, ...]


WORDS = {
    Language.IT: Words(
        yes="sì, certo",
        no="no, grazie",
        repeat="può ripetere?",
        opt_out="non chiamatemi più",
        comments=(
            "più personale nei negozi",
            "consegne più veloci",
            "prezzi un po' più bassi",
            "va tutto bene così",
        ),
    ),
    Language.EN: Words(
        yes="yes, sure",
        no="no thanks",
        repeat="sorry, say again?",
        opt_out="don't call me again",
        comments=(
            "more staff in the shops",
            "faster delivery",
            "slightly lower prices",
            "it is all good as it is",
        ),
    ),
    Language.ES: Words(
        yes="sí, claro",
        no="no, gracias",
        repeat="perdone, ¿puede repetir?",
        opt_out="no me vuelvan a llamar",
        comments=(
            "más personal en las tiendas",
            "entregas más rápidas",
            "precios un poco más bajos",
            "todo está bien así",
        ),
    ),
    Language.FR: Words(
        yes="oui, bien sûr",
        no="non merci",
        repeat="pardon, vous pouvez répéter ?",
        opt_out="ne m'appelez plus",
        comments=(
            "plus de personnel dans les magasins",
            "des livraisons plus rapides",
            "des prix un peu plus bas",
            "tout va bien comme ça",
        ),
    ),
    Language.DE: Words(
        yes="ja, gerne",
        no="nein, danke",
        repeat="Entschuldigung, können Sie das wiederholen?",
        opt_out="rufen Sie mich bitte nicht mehr an",
        comments=(
            "mehr Personal in den Filialen",
            "schnellere Lieferung",
            "etwas niedrigere Preise",
            "es ist alles gut so",
        ),
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

    def __call__(self, heard: Heard) -> Answer:
        if self.behaviour is Behaviour.VOICEMAIL:
            return SILENCE  # a machine answers nothing
        words = WORDS[language_of(heard)]
        if not self.consented:
            return self._consent(words)
        return self._question(heard, words)

    def _consent(self, words: Words) -> Answer:
        if self.behaviour is Behaviour.REFUSE:
            return Answer(speech=words.no)
        self.consented = True
        return Answer(speech=words.yes)

    def _question(self, heard: Heard, words: Words) -> Answer:
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
        return answer_to(heard, words, self.rng)


def answer_to(heard: Heard, words: Words, rng: random.Random) -> Answer:
    """A plausible answer to a question: a hint, a number in the spoken range, or a comment."""
    hints = [h.strip() for h in heard.hints if h.strip()]
    if hints:
        return Answer(speech=rng.choice(hints))
    number = number_for(heard, rng)
    if number is not None:
        return Answer(speech=str(number))
    return Answer(speech=rng.choice(words.comments))


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
