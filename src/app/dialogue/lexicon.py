"""The words respondents use, per language: yes, no, repeat, skip, stop calling, positions.

Phrases are written naturally (accents, apostrophes) and tokenised once at import. Matching
rules live in `understanding.py`; here is only vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.dialogue.survey import Language
from app.dialogue.text import Phrase, phrases, tokens


@dataclass(frozen=True)
class Lexicon:
    yes: tuple[Phrase, ...]
    no: tuple[Phrase, ...]
    opt_out: tuple[Phrase, ...]
    # "anywhere" phrases count inside a longer sentence; "alone" ones only as the whole reply,
    # because words like "come" or "next" are too common to mean "repeat"/"skip" mid-sentence.
    repeat_anywhere: tuple[Phrase, ...]
    repeat_alone: tuple[Phrase, ...]
    skip_anywhere: tuple[Phrase, ...]
    skip_alone: tuple[Phrase, ...]
    fillers: frozenset[str]
    stopwords: frozenset[str]
    ordinals: dict[str, int]  # -1 means the last one
    not_ordinal: tuple[Phrase, ...]  # "secondo me" is an opinion, not the second choice


def _words(text: str) -> frozenset[str]:
    return frozenset(tokens(text))


def _ordinals(*groups: tuple[int, str]) -> dict[str, int]:
    return {word: position for position, text in groups for word in tokens(text)}


ITALIAN = Lexicon(
    yes=phrases(
        "sì",
        "certo",
        "certamente",
        "va bene",
        "d'accordo",
        "ok",
        "okay",
        "volentieri",
        "assolutamente",
        "esatto",
        "sicuro",
        "senz'altro",
        "perché no",
        "come no",
        "nessun problema",
        "non c'è problema",
        "mi dica",
        "dica pure",
        "avanti",
        "giusto",
    ),
    no=phrases(
        "no",
        "non",
        "mai",
        "niente",
        "per niente",
        "non ora",
        "non adesso",
        "non mi interessa",
        "no grazie",
        "non ho tempo",
        "occupato",
        "occupata",
    ),
    opt_out=phrases(
        "non chiamatemi",
        "non mi chiamate",
        "non richiamatemi",
        "non mi richiamate",
        "non voglio essere richiamato",
        "non voglio essere richiamata",
        "non voglio essere chiamato",
        "non voglio essere chiamata",
        "non voglio più essere",
        "smettete di chiamarmi",
        "non chiamate più",
        "cancellatemi",
        "cancellate il mio numero",
        "rimuovetemi",
        "toglietemi dalla lista",
        "toglietemi dalle liste",
    ),
    repeat_anywhere=phrases(
        "ripeta",
        "ripetere",
        "ripeti",
        "ripetete",
        "non ho capito",
        "non ho sentito",
        "come scusi",
        "come ha detto",
        "cosa ha detto",
    ),
    repeat_alone=phrases("come", "cosa", "scusi", "scusa", "eh", "prego"),
    skip_anywhere=phrases(
        "salta",
        "saltiamo",
        "saltare",
        "salti",
        "passiamo alla prossima",
        "passi alla prossima",
        "preferisco non rispondere",
        "prossima domanda",
        "domanda successiva",
        "passiamo oltre",
        "non voglio rispondere",
    ),
    skip_alone=phrases(
        "passo",
        "non so",
        "non lo so",
        "non saprei",
        "non saprei dire",
        "prossima",
        "la prossima",
        "nessun commento",
        "boh",
    ),
    fillers=_words("ehm mah beh allora guardi senta ecco per favore piacere grazie io"),
    stopwords=_words("il lo la i gli le l un una di del della dei delle e o a al con in per"),
    ordinals=_ordinals(
        (1, "primo prima"),
        (2, "secondo seconda"),
        (3, "terzo terza"),
        (4, "quarto quarta"),
        (5, "quinto quinta"),
        (6, "sesto sesta"),
        (7, "settimo settima"),
        (8, "ottavo ottava"),
        (9, "nono nona"),
        (10, "decimo decima"),
        (-1, "ultimo ultima"),
    ),
    not_ordinal=phrases("secondo me", "secondo noi", "secondo lei"),
)

ENGLISH = Lexicon(
    yes=phrases(
        "yes",
        "yeah",
        "yep",
        "yup",
        "sure",
        "ok",
        "okay",
        "of course",
        "go ahead",
        "absolutely",
        "certainly",
        "definitely",
        "alright",
        "all right",
        "fine",
        "why not",
        "no problem",
        "not a problem",
        "i don't mind",
        "i do",
        "i would",
        "correct",
        "right",
        "sounds good",
    ),
    no=phrases(
        "no",
        "nope",
        "nah",
        "not",
        "never",
        "not now",
        "not interested",
        "no thanks",
        "busy",
        "i'm busy",
        "don't",
        "dont",
        "do not",
        "can't",
        "cant",
        "cannot",
    ),
    opt_out=phrases(
        "don't call me",
        "dont call me",
        "do not call",
        "don't call again",
        "stop calling",
        "never call",
        "remove me",
        "remove my number",
        "take me off",
        "unsubscribe",
        "don't ever call",
        "do not ever call",
    ),
    repeat_anywhere=phrases(
        "repeat",
        "say again",
        "say that again",
        "pardon",
        "come again",
        "didn't catch",
        "didn't get that",
        "didn't hear",
        "what did you say",
    ),
    repeat_alone=phrases("what", "sorry", "excuse me", "huh", "eh"),
    skip_anywhere=phrases(
        "skip",
        "prefer not to say",
        "rather not say",
        "prefer not to answer",
        "rather not answer",
        "next question",
        "move on",
    ),
    skip_alone=phrases(
        "pass",
        "don't know",
        "dont know",
        "do not know",
        "i'm not sure",
        "no idea",
        "not sure",
        "next",
        "no comment",
    ),
    fillers=_words("uh um umm er erm hmm oh well please thanks thank you i ll just so"),
    stopwords=_words("the a an of and or to by via in on my"),
    ordinals=_ordinals(
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (4, "fourth"),
        (5, "fifth"),
        (6, "sixth"),
        (7, "seventh"),
        (8, "eighth"),
        (9, "ninth"),
        (10, "tenth"),
        (-1, "last"),
    ),
    not_ordinal=(),
)

LEXICONS = {Language.IT: ITALIAN, Language.EN: ENGLISH}
