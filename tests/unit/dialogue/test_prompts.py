"""How questions are spoken, the hint after a miss, and how the engine asks to listen."""

from __future__ import annotations

import pytest

from app.dialogue import Listen, ListenKind, Question, QuestionType, Say
from app.dialogue.phrases import spoken_list
from app.dialogue.prompts import FREE_TEXT_TIMEOUT_SECONDS, hint, listen_for, question_text
from app.dialogue.survey import Language

IT, EN, ES, FR, DE = Language.IT, Language.EN, Language.ES, Language.FR, Language.DE


def scale(text: str, low: int = 1, high: int = 10) -> Question:
    return Question("q", QuestionType.SCALE, text, min=low, max=high)


def choice(text: str, *choices: str) -> Question:
    return Question("q", QuestionType.CHOICE, text, choices=choices)


@pytest.mark.parametrize(
    ("question", "language", "spoken"),
    [
        (scale("Da 1 a 10, quanto è soddisfatto?"), IT, "Da 1 a 10, quanto è soddisfatto?"),
        (scale("Da uno a dieci, quanto?"), IT, "Da uno a dieci, quanto?"),
        (
            scale("Quanto è soddisfatto?"),
            IT,
            "Quanto è soddisfatto? Risponda con un numero da 1 a 10.",
        ),
        (
            scale("How satisfied are you?", 0, 5),
            EN,
            "How satisfied are you? Please answer with a number from 0 to 5.",
        ),
        (
            choice("Preferisce telefono, email o negozio?", "telefono", "email", "negozio"),
            IT,
            "Preferisce telefono, email o negozio?",
        ),
        (
            choice("Come preferisce essere contattato?", "telefono", "email", "negozio"),
            IT,
            "Come preferisce essere contattato? Le opzioni sono: telefono, email o negozio.",
        ),
        (
            choice("How should we reach you?", "phone", "email"),
            EN,
            "How should we reach you? The options are: phone or email.",
        ),
        (Question("q", QuestionType.YES_NO, "Ok?"), EN, "Ok?"),
        (
            scale("Del uno al diez, ¿cuán satisfecho está?"),
            ES,
            "Del uno al diez, ¿cuán satisfecho está?",
        ),
        (
            scale("¿Cuán satisfecho está?"),
            ES,
            "¿Cuán satisfecho está? Responda con un número del 1 al 10.",
        ),
        (
            choice("¿Cómo prefiere que le contactemos?", "teléfono", "correo", "tienda"),
            ES,
            "¿Cómo prefiere que le contactemos? Las opciones son: teléfono, correo o tienda.",
        ),
        (
            scale("Sur une échelle de un à dix, êtes-vous satisfait ?"),
            FR,
            "Sur une échelle de un à dix, êtes-vous satisfait ?",
        ),
        (
            scale("Êtes-vous satisfait ?", 0, 5),
            FR,
            "Êtes-vous satisfait ? Répondez par un nombre de 0 à 5.",
        ),
        (
            choice("Comment vous contacter ?", "téléphone", "e-mail"),
            FR,
            "Comment vous contacter ? Les options sont : téléphone ou e-mail.",
        ),
        (scale("Von eins bis zehn, wie zufrieden?"), DE, "Von eins bis zehn, wie zufrieden?"),
        (
            scale("Wie zufrieden sind Sie?"),
            DE,
            "Wie zufrieden sind Sie? Bitte antworten Sie mit einer Zahl von 1 bis 10.",
        ),
        (
            choice("Telefon, E-Mail oder Filiale?", "Telefon", "E-Mail", "Filiale"),
            DE,
            "Telefon, E-Mail oder Filiale?",
        ),
        (
            choice("Wie möchten Sie kontaktiert werden?", "Telefon", "E-Mail", "Filiale"),
            DE,
            "Wie möchten Sie kontaktiert werden? Zur Auswahl stehen: Telefon, E-Mail oder Filiale.",
        ),
    ],
)
def test_question_text(question: Question, language: Language, spoken: str) -> None:
    assert question_text(question, language) == spoken


@pytest.mark.parametrize(
    ("question", "language", "expected"),
    [
        (None, IT, "Risponda sì o no, oppure prema 1 per sì e 2 per no."),
        (None, EN, "Please answer yes or no, or press 1 for yes and 2 for no."),
        (scale("x"), IT, "Risponda con un numero da 1 a 10."),
        (scale("x"), EN, "Please answer with a number from 1 to 10."),
        (Question("q", QuestionType.NUMBER, "x"), EN, "Please answer with a number."),
        (Question("q", QuestionType.NUMBER, "x", min=0), IT, "Risponda con un numero, almeno 0."),
        (
            Question("q", QuestionType.NUMBER, "x", max=9),
            EN,
            "Please answer with a number, at most 9.",
        ),
        (
            choice("x", "telefono", "email", "negozio"),
            IT,
            "Risponda con una di queste opzioni: telefono, email o negozio. "
            "Oppure prema un tasto da 1 a 3.",
        ),
        (
            Question("q", QuestionType.FREE_TEXT, "x"),
            EN,
            "Please tell me your answer in your own words.",
        ),
        (None, ES, "Responda sí o no, o pulse 1 para sí y 2 para no."),
        (scale("x", 0, 10), ES, "Responda con un número del 0 al 10."),
        (
            Question("q", QuestionType.NUMBER, "x", min=18),
            ES,
            "Responda con un número, como mínimo 18.",
        ),
        (
            choice("x", "siete", "ocho"),
            ES,
            "Responda con una de estas opciones: siete u ocho. O pulse una tecla del 1 al 2.",
        ),
        (None, FR, "Répondez oui ou non, ou appuyez sur 1 pour oui et sur 2 pour non."),
        (scale("x"), FR, "Répondez par un nombre de 1 à 10."),
        (Question("q", QuestionType.NUMBER, "x", max=9), FR, "Répondez par un nombre, au plus 9."),
        (
            choice("x", "téléphone", "e-mail", "magasin"),
            FR,
            "Répondez par l'une de ces options : téléphone, e-mail ou magasin. "
            "Ou appuyez sur une touche de 1 à 3.",
        ),
        (
            None,
            DE,
            "Bitte antworten Sie mit Ja oder Nein, "
            "oder drücken Sie die 1 für Ja und die 2 für Nein.",
        ),
        (scale("x"), DE, "Bitte antworten Sie mit einer Zahl von 1 bis 10."),
        (Question("q", QuestionType.NUMBER, "x"), DE, "Bitte antworten Sie mit einer Zahl."),
        (
            Question("q", QuestionType.FREE_TEXT, "x"),
            DE,
            "Sagen Sie mir Ihre Antwort bitte in Ihren eigenen Worten.",
        ),
    ],
)
def test_hint(question: Question | None, language: Language, expected: str) -> None:
    assert hint(question, language) == expected


def test_many_choices_are_not_offered_on_the_keypad() -> None:
    many = choice("x", *(f"opzione {n}" for n in range(1, 13)))

    assert "prema" not in hint(many, IT)
    assert listen_for(many, IT).num_digits == 2


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (None, Listen(ListenKind.CONSENT, ("sì", "no"), 1, 5)),
        (Question("q", QuestionType.YES_NO, "x"), Listen(ListenKind.YES_NO, ("sì", "no"), 1, 5)),
        (scale("x", 1, 5), Listen(ListenKind.SCALE, ("1", "2", "3", "4", "5"), 1, 5)),
        (scale("x", 0, 100), Listen(ListenKind.SCALE, (), 3, 5)),
        (choice("x", "a", "b"), Listen(ListenKind.CHOICE, ("a", "b"), 1, 5)),
        (Question("q", QuestionType.NUMBER, "x"), Listen(ListenKind.NUMBER, (), None, 5)),
        (
            Question("q", QuestionType.FREE_TEXT, "x"),
            Listen(ListenKind.FREE_TEXT, (), None, FREE_TEXT_TIMEOUT_SECONDS),
        ),
    ],
)
def test_listen_for(question: Question | None, expected: Listen) -> None:
    assert listen_for(question, IT) == expected


@pytest.mark.parametrize(
    ("language", "words"),
    [(ES, ("sí", "no")), (FR, ("oui", "non")), (DE, ("ja", "nein"))],
)
def test_yes_no_is_listened_for_in_the_language(language: Language, words: tuple[str, ...]) -> None:
    assert listen_for(None, language) == Listen(ListenKind.CONSENT, words, 1, 5)
    assert listen_for(Question("q", QuestionType.YES_NO, "x"), language).hints == words


def test_scale_keypad_entry_ends_at_the_longest_answer() -> None:
    # 1..10: "1" then "0" completes at once; "8" alone completes on the keypad timeout.
    assert listen_for(scale("x", 1, 10), EN).num_digits == 2


@pytest.mark.parametrize(
    ("items", "language", "expected"),
    [
        (("a",), IT, "a"),
        (("a", "b"), IT, "a o b"),
        (("a", "b", "c"), EN, "a, b or c"),
        (("teléfono", "correo", "tienda"), ES, "teléfono, correo o tienda"),
        (("siete", "ocho"), ES, "siete u ocho"),  # "o" before an "o" sound becomes "u"
        (("mujer", "hombre"), ES, "mujer u hombre"),
        (("téléphone", "e-mail", "magasin"), FR, "téléphone, e-mail ou magasin"),
        (("Telefon", "E-Mail", "Filiale"), DE, "Telefon, E-Mail oder Filiale"),
        (("Telefon", "Ort"), DE, "Telefon oder Ort"),
    ],
)
def test_spoken_list(items: tuple[str, ...], language: Language, expected: str) -> None:
    assert spoken_list(items, language) == expected


def test_say_is_plain_text() -> None:
    assert Say("Ciao") == Say(text="Ciao")
