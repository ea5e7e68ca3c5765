"""Every supported language is complete: phrases, vocabulary, numbers, a voice, a demo caller."""

from __future__ import annotations

from dataclasses import fields
from string import Formatter

import pytest

from app.dialogue.lexicon import LEXICONS
from app.dialogue.numbers import parse_number
from app.dialogue.phrases import PHRASES, Phrases
from app.dialogue.survey import Language
from app.dialogue.understanding import Intent, detect_intent, parse_yes_no
from app.telephony.twiml import voice_for
from callsim.people.respondent import WORDS, Heard, language_of

LANGUAGES = tuple(Language)
TEXT_FIELDS = [f.name for f in fields(Phrases) if f.name != "yes_no_words"]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_its_words(language: Language) -> None:
    assert language in PHRASES
    assert language in LEXICONS
    assert language in WORDS


@pytest.mark.parametrize("name", TEXT_FIELDS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_phrases_have_the_placeholders_of_the_italian_ones(language: Language, name: str) -> None:
    text, reference = getattr(PHRASES[language], name), getattr(PHRASES[Language.IT], name)

    assert text.strip() == text and text
    assert placeholders(text) == placeholders(reference)


@pytest.mark.parametrize("language", LANGUAGES)
def test_yes_and_no_are_said_and_understood(language: Language) -> None:
    yes, no = PHRASES[language].yes_no_words

    assert (parse_yes_no(yes, language), parse_yes_no(no, language)) == (True, False)


@pytest.mark.parametrize(
    ("language", "voice"),
    [
        (Language.IT, "Polly.Bianca"),
        (Language.EN, "Polly.Joanna"),
        (Language.ES, "Polly.Lucia"),
        (Language.FR, "Polly.Lea"),
        (Language.DE, "Polly.Vicki"),
        ("pt-BR", None),  # no known voice: Twilio's default speaks
    ],
)
def test_each_language_has_a_polly_voice(language: str, voice: str | None) -> None:
    assert voice_for(language) == voice


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_demo_caller_is_understood(language: Language) -> None:
    words = WORDS[language]

    assert parse_yes_no(words.yes, language) is True
    assert parse_yes_no(words.no, language) is False
    assert detect_intent(words.repeat, language) is Intent.REPEAT
    assert detect_intent(words.opt_out, language) is Intent.OPT_OUT
    for comment in words.comments:
        assert detect_intent(comment, language, strict=True) is None
        assert parse_number(comment, language) is None


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("it-IT", Language.IT),
        ("en-US", Language.EN),
        ("en-GB", Language.EN),
        ("es-ES", Language.ES),
        ("es-MX", Language.ES),
        ("fr-FR", Language.FR),
        ("fr-CA", Language.FR),
        ("de-DE", Language.DE),
        ("de_AT", Language.DE),
        ("FR", Language.FR),
        ("pt-BR", Language.EN),
        ("", Language.EN),
    ],
)
def test_the_demo_caller_hears_the_language_listened_for(tag: str, language: Language) -> None:
    assert language_of(Heard(index=0, language=tag, prompts=())) is language
