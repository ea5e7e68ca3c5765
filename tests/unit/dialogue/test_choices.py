"""Choices matched by content (tolerantly) and by position, in Italian and English."""

from __future__ import annotations

import pytest

from app.dialogue.choices import match_choice, similarity, stem
from app.dialogue.survey import Language

IT, EN = Language.IT, Language.EN
IT_CHOICES = ("telefono", "email", "negozio")
EN_CHOICES = ("phone", "email", "store")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("telefono", "telefono"),
        ("Telefono.", "telefono"),
        ("il telefono", "telefono"),
        ("preferisco l'email", "email"),
        ("e-mail", "email"),
        ("E mail", "email"),
        ("negozi", "negozio"),
        ("in negozio", "negozio"),
        ("telefonoo", "telefono"),  # a small misrecognition
        ("negozzio", "negozio"),
        ("la prima", "telefono"),
        ("la seconda", "email"),
        ("la terza", "negozio"),
        ("il terzo", "negozio"),
        ("l'ultima", "negozio"),
        ("numero due", "email"),
        ("opzione 3", "negozio"),
        ("2", "email"),
        ("secondo me il negozio", "negozio"),
        ("telefono o email", None),  # two choices: ambiguous
        ("la quarta", None),
        ("cinque", None),
        ("blu", None),
        ("", None),
    ],
)
def test_italian_choices(text: str, expected: str | None) -> None:
    assert match_choice(text, IT_CHOICES, IT) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("phone", "phone"),
        ("by phone", "phone"),
        ("Phones", "phone"),
        ("emails", "email"),
        ("e-mail please", "email"),
        ("the store", "store"),
        ("stores", "store"),
        ("the first", "phone"),
        ("the first one", "phone"),
        ("the second one", "email"),
        ("number two", "email"),
        ("option three", "store"),
        ("the last one", "store"),
        ("3", "store"),
        ("phone or email", None),
        ("the fifth", None),
        ("carrier pigeon", None),
    ],
)
def test_english_choices(text: str, expected: str | None) -> None:
    assert match_choice(text, EN_CHOICES, EN) == expected


def test_multi_word_choice_beats_its_own_prefix() -> None:
    choices = ("carta", "carta di credito", "contanti")

    assert match_choice("con la carta di credito", choices, IT) == "carta di credito"
    assert match_choice("carta", choices, IT) == "carta"


def test_accents_do_not_matter() -> None:
    assert match_choice("citta", ("città", "campagna"), IT) == "città"
    assert match_choice("CITTÀ", ("citta", "campagna"), IT) == "citta"


@pytest.mark.parametrize(
    ("a", "b"), [("negozio", "negozi"), ("email", "emails"), ("store", "stores"), ("casa", "case")]
)
def test_plural_and_singular_share_a_stem(a: str, b: str) -> None:
    assert stem(a) == stem(b)


def test_similarity_scale() -> None:
    assert similarity("telefono", "telefono") == 1.0
    assert similarity("negozio", "negozi") == 0.95
    assert similarity("telefono", "telefonoo") >= 0.8
    assert similarity("email", "negozio") < 0.5
