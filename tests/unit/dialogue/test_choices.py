"""Choices matched by content (tolerantly) and by position, in every supported language."""

from __future__ import annotations

import pytest

from app.dialogue.choices import match_choice, similarity, stem
from app.dialogue.survey import Language

IT, EN, ES, FR, DE = Language.IT, Language.EN, Language.ES, Language.FR, Language.DE
IT_CHOICES = ("telefono", "email", "negozio")
EN_CHOICES = ("phone", "email", "store")
ES_CHOICES = ("teléfono", "correo electrónico", "tienda")
FR_CHOICES = ("téléphone", "e-mail", "magasin")
DE_CHOICES = ("Telefon", "E-Mail", "Filiale")


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("teléfono", "teléfono"),
        ("Por teléfono.", "teléfono"),
        ("telefono", "teléfono"),
        ("el correo electrónico", "correo electrónico"),
        ("en la tienda", "tienda"),
        ("las tiendas", "tienda"),
        ("la primera", "teléfono"),
        ("el primero", "teléfono"),
        ("la segunda", "correo electrónico"),
        ("la tercera", "tienda"),
        ("la última", "tienda"),
        ("número dos", "correo electrónico"),
        ("la opción tres", "tienda"),
        ("la una", "teléfono"),
        ("3", "tienda"),
        ("un segundo, que lo pienso", None),  # "hold on", not the second one
        ("teléfono o tienda", None),
        ("la cuarta", None),
        ("una carta", None),  # "una" is the article here, not the first choice
        ("azul", None),
    ],
)
def test_spanish_choices(text: str, expected: str | None) -> None:
    assert match_choice(text, ES_CHOICES, ES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("téléphone", "téléphone"),
        ("Par téléphone.", "téléphone"),
        ("par e-mail", "e-mail"),
        ("l'e-mail", "e-mail"),
        ("au magasin", "magasin"),
        ("les magasins", "magasin"),
        ("la première", "téléphone"),
        ("le premier", "téléphone"),
        ("la deuxième", "e-mail"),
        ("la seconde", "e-mail"),
        ("la troisième", "magasin"),
        ("la dernière", "magasin"),
        ("l'ultime", "magasin"),
        ("numéro deux", "e-mail"),
        ("option trois", "magasin"),
        ("le un", "téléphone"),
        ("2", "e-mail"),
        ("une seconde, je réfléchis", None),  # "hold on", not the second one
        ("l'avant-dernière", None),  # not the last one: better ask again
        ("téléphone ou magasin", None),
        ("la quatrième", None),
        ("une lettre", None),  # "une" is the article here, not the first choice
        ("bleu", None),
    ],
)
def test_french_choices(text: str, expected: str | None) -> None:
    assert match_choice(text, FR_CHOICES, FR) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Telefon", "Telefon"),
        ("per Telefon", "Telefon"),
        ("per E-Mail", "E-Mail"),
        ("E-Mails", "E-Mail"),
        ("in der Filiale", "Filiale"),
        ("in den Filialen", "Filiale"),
        ("die erste", "Telefon"),
        ("den ersten", "Telefon"),
        ("die zweite", "E-Mail"),
        ("die dritte", "Filiale"),
        ("die letzte", "Filiale"),
        ("Nummer zwei", "E-Mail"),
        ("Option drei", "Filiale"),
        ("zwo", "E-Mail"),
        ("3", "Filiale"),
        ("das letzte Mal war ich zufrieden", None),  # a time, not the last choice
        ("Telefon oder Filiale", None),
        ("die vierte", None),
        ("ein Brief", None),
        ("blau", None),
    ],
)
def test_german_choices(text: str, expected: str | None) -> None:
    assert match_choice(text, DE_CHOICES, DE) == expected


@pytest.mark.parametrize(
    ("text", "choices", "language", "expected"),
    [
        ("Busse", ("Bus", "Bahn", "Auto"), DE, "Bus"),
        ("mit Bussen", ("Bus", "Bahn", "Auto"), DE, "Bus"),
        ("Räder", ("Rad", "Auto"), DE, "Rad"),
        ("zufriedene", ("zufrieden", "unzufrieden"), DE, "zufrieden"),
        ("Telefone", ("Telefon", "Post"), DE, "Telefon"),
        ("en autobuses", ("autobús", "tren", "coche"), ES, "autobús"),
        ("los países", ("país", "región"), ES, "país"),
        ("les bureaux", ("bureau", "maison"), FR, "bureau"),
    ],
)
def test_inflected_choices(
    text: str, choices: tuple[str, ...], language: Language, expected: str
) -> None:
    assert match_choice(text, choices, language) == expected


def test_multi_word_choice_beats_its_own_prefix() -> None:
    choices = ("carta", "carta di credito", "contanti")

    assert match_choice("con la carta di credito", choices, IT) == "carta di credito"
    assert match_choice("carta", choices, IT) == "carta"


def test_accents_do_not_matter() -> None:
    assert match_choice("citta", ("città", "campagna"), IT) == "città"
    assert match_choice("CITTÀ", ("citta", "campagna"), IT) == "citta"
    assert match_choice("Strasse", ("Straße", "Platz"), DE) == "Straße"
    assert match_choice("grossen", ("Größen", "Farben"), DE) == "Größen"
    assert match_choice("coeur", ("cœur", "tête"), FR) == "cœur"
    assert match_choice("nino", ("niño", "adulto"), ES) == "niño"


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
