"""A short whole conversation in Spanish, French and German through the pure engine."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from app.dialogue import (
    Action,
    CallAnswered,
    DialogueState,
    Event,
    Finish,
    HangUp,
    Language,
    Listen,
    ListenKind,
    MarkSkipped,
    RecordAnswer,
    Say,
    SkipReason,
    Speech,
    Survey,
    SurveyOutcome,
    transition,
)
from app.dialogue.phrases import PHRASES


@dataclass(frozen=True)
class Conversation:
    """A survey in one language and what a respondent says to it."""

    language: Language
    script: dict[str, str]
    scale: str  # the question of a 0-100 scale, without its bounds' hint
    choice: str  # a choice question that does not name its choices
    choices: tuple[str, str, str]
    yes_no: str
    said: dict[str, str]  # consent, scale (in words), choice (by position), skip
    spoken: dict[str, str]  # the questions as the engine says them, hint and options added
    expected_scale: int
    expected_choice: str


CONVERSATIONS = [
    Conversation(
        language=Language.ES,
        script={
            "intro": "Buenos días, le llamamos de parte de ACME.",
            "consent": "¿Tiene dos minutos para tres preguntas breves?",
            "refused": "No hay problema. Gracias y que tenga un buen día.",
            "closing": "Gracias por su tiempo. Adiós.",
        },
        scale="¿Con qué probabilidad nos recomendaría?",
        choice="¿Cómo prefiere que le contactemos?",
        choices=("teléfono", "correo electrónico", "tienda"),
        yes_no="¿Volvería a comprar con nosotros?",
        said={
            "consent": "Eh, sí, claro.",
            "scale": "Pues, setenta y cinco.",
            "choice": "La segunda.",
            "skip": "Prefiero no responder a eso.",
        },
        spoken={
            "scale": "¿Con qué probabilidad nos recomendaría? Responda con un número del 0 al 100.",
            "choice": "¿Cómo prefiere que le contactemos? "
            "Las opciones son: teléfono, correo electrónico o tienda.",
        },
        expected_scale=75,
        expected_choice="correo electrónico",
    ),
    Conversation(
        language=Language.FR,
        script={
            "intro": "Bonjour, ici l'assistant automatique d'ACME.",
            "consent": "Avez-vous deux minutes pour trois courtes questions ?",
            "refused": "Pas de problème. Merci et bonne journée.",
            "closing": "Merci pour votre temps. Au revoir.",
        },
        scale="Quelle est la probabilité que vous nous recommandiez ?",
        choice="Comment préférez-vous être contacté ?",
        choices=("téléphone", "e-mail", "magasin"),
        yes_no="Achèteriez-vous de nouveau chez nous ?",
        said={
            "consent": "Euh, oui, d'accord.",
            "scale": "Je dirais quatre-vingt-quinze.",
            "choice": "La deuxième.",
            "skip": "Je préfère ne pas répondre.",
        },
        spoken={
            "scale": "Quelle est la probabilité que vous nous recommandiez ? "
            "Répondez par un nombre de 0 à 100.",
            "choice": "Comment préférez-vous être contacté ? "
            "Les options sont : téléphone, e-mail ou magasin.",
        },
        expected_scale=95,
        expected_choice="e-mail",
    ),
    Conversation(
        language=Language.DE,
        script={
            "intro": "Guten Tag, hier ist der automatische Assistent von ACME.",
            "consent": "Haben Sie zwei Minuten für drei kurze Fragen?",
            "refused": "Kein Problem. Vielen Dank und einen schönen Tag.",
            "closing": "Vielen Dank für Ihre Zeit. Auf Wiederhören.",
        },
        scale="Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen?",
        choice="Wie möchten Sie kontaktiert werden?",
        choices=("Telefon", "E-Mail", "Filiale"),
        yes_no="Würden Sie wieder bei uns kaufen?",
        said={
            "consent": "Ähm, ja, gerne.",
            "scale": "Fünfundsiebzig.",
            "choice": "Die zweite, bitte.",
            "skip": "Das möchte ich nicht beantworten.",
        },
        spoken={
            "scale": "Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen? "
            "Bitte antworten Sie mit einer Zahl von 0 bis 100.",
            "choice": "Wie möchten Sie kontaktiert werden? "
            "Zur Auswahl stehen: Telefon, E-Mail oder Filiale.",
        },
        expected_scale=75,
        expected_choice="E-Mail",
    ),
]


def document(c: Conversation) -> dict[str, Any]:
    return {
        "name": "ACME",
        "language": c.language.value,
        "script": c.script,
        "questions": [
            {"id": "nps", "type": "scale", "text": c.scale, "min": 0, "max": 100},
            {"id": "channel", "type": "choice", "text": c.choice, "choices": list(c.choices)},
            {"id": "again", "type": "yes_no", "text": c.yes_no},
        ],
    }


def play(survey: Survey, events: Iterable[Event]) -> tuple[DialogueState, list[Action]]:
    """Feed `events` in order, persisting the state as JSON between turns like the webhooks."""
    state = DialogueState.initial()
    actions: list[Action] = []
    for event in events:
        state, step = transition(state, event, survey=survey)
        actions.extend(step)
        state = DialogueState.from_dict(json.loads(json.dumps(state.to_dict())))
    return state, actions


def said(c: Conversation, what: str) -> Speech:
    return Speech(c.said[what], 0.9)


@pytest.mark.parametrize("c", CONVERSATIONS, ids=lambda c: c.language.value)
def test_a_whole_conversation(c: Conversation) -> None:
    survey = Survey.from_definition(document(c))
    say = PHRASES[c.language]
    events = [CallAnswered(), *(said(c, k) for k in ("consent", "scale", "choice", "skip"))]

    _, actions = play(survey, events)

    spoken = [a.text for a in actions if isinstance(a, Say)]
    assert spoken == [
        c.script["intro"],
        c.script["consent"],
        say.thanks,
        c.spoken["scale"],
        c.spoken["choice"],
        c.yes_no,
        say.skipped,
        c.script["closing"],
    ]
    listens = [a for a in actions if isinstance(a, Listen)]
    assert listens[0] == Listen(ListenKind.CONSENT, say.yes_no_words, 1, 5)
    assert listens[-1] == Listen(ListenKind.YES_NO, say.yes_no_words, 1, 5)
    recorded = [(a.question_id, a.value, a.raw) for a in actions if isinstance(a, RecordAnswer)]
    assert recorded == [
        ("nps", c.expected_scale, c.said["scale"]),
        ("channel", c.expected_choice, c.said["choice"]),
    ]
    skipped = [a for a in actions if isinstance(a, MarkSkipped)]
    assert skipped == [MarkSkipped("again", SkipReason.SKIPPED_BY_RESPONDENT, c.said["skip"])]
    assert Finish(SurveyOutcome.COMPLETED) in actions and actions[-1] == HangUp()


@pytest.mark.parametrize(
    ("language", "refusal"),
    [
        (Language.ES, "No, gracias, ahora no tengo tiempo."),
        (Language.FR, "Non merci, je n'ai pas le temps."),
        (Language.DE, "Nein danke, ich habe keine Zeit."),
    ],
)
def test_consent_no_is_a_polite_refusal(language: Language, refusal: str) -> None:
    c = next(c for c in CONVERSATIONS if c.language is language)
    survey = Survey.from_definition(document(c))

    state, actions = play(survey, [CallAnswered(), Speech(refusal, 0.9)])

    assert state.outcome is SurveyOutcome.REFUSED
    assert Say(c.script["refused"]) in actions and actions[-1] == HangUp()


@pytest.mark.parametrize(
    ("language", "opt_out"),
    [
        (Language.ES, "Ocho. Y por favor no me vuelvan a llamar."),
        (Language.FR, "Huit, et ne m'appelez plus jamais."),
        (Language.DE, "Acht. Und rufen Sie mich nie wieder an!"),
    ],
)
def test_opt_out_mid_survey_says_goodbye_in_the_language(language: Language, opt_out: str) -> None:
    c = next(c for c in CONVERSATIONS if c.language is language)
    survey = Survey.from_definition(document(c))

    state, actions = play(survey, [CallAnswered(), said(c, "consent"), Speech(opt_out, 0.9)])

    assert state.outcome is SurveyOutcome.OPTED_OUT
    assert Say(PHRASES[language].opt_out_goodbye) in actions
    assert not [a for a in actions if isinstance(a, RecordAnswer)]
