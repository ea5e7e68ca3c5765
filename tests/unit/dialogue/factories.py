"""Small survey documents in both languages, and a driver that plays a conversation."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from app.dialogue import Action, DialogueState, Event, Survey, transition

IT_DOCUMENT: dict[str, Any] = {
    "name": "Soddisfazione clienti Q4",
    "language": "it-IT",
    "script": {
        "intro": "Buongiorno, sono l'assistente automatico di ACME.",
        "consent": "Ha due minuti per tre brevi domande? Risponda sì o no.",
        "refused": "Nessun problema. Grazie e buona giornata.",
        "closing": "Grazie per il suo tempo. Arrivederci.",
    },
    "questions": [
        {"id": "satisfaction", "type": "scale", "text": "Da 1 a 10, quanto è soddisfatto?",
         "min": 1, "max": 10},
        {"id": "recommend", "type": "yes_no", "text": "Ci consiglierebbe a un amico?"},
        {"id": "channel", "type": "choice", "text": "Preferisce telefono, email o negozio?",
         "choices": ["telefono", "email", "negozio"]},
        {"id": "visits", "type": "number", "text": "Quante volte ci ha visitato quest'anno?"},
        {"id": "comment", "type": "free_text", "text": "Cosa potremmo migliorare?",
         "required": False},
    ],
}  # fmt: skip

EN_DOCUMENT: dict[str, Any] = {
    "name": "Customer satisfaction Q4",
    "language": "en-US",
    "script": {
        "intro": "Hello, this is the automated assistant of ACME.",
        "consent": "Do you have two minutes for a few short questions? Please say yes or no.",
        "refused": "No problem. Thank you and have a nice day.",
        "closing": "Thank you for your time. Goodbye.",
    },
    "questions": [
        {"id": "satisfaction", "type": "scale", "text": "From 1 to 10, how satisfied are you?",
         "min": 1, "max": 10},
        {"id": "recommend", "type": "yes_no", "text": "Would you recommend us to a friend?"},
        {"id": "channel", "type": "choice", "text": "Do you prefer phone, email or store?",
         "choices": ["phone", "email", "store"]},
        {"id": "visits", "type": "number", "text": "How many times did you visit us this year?"},
        {"id": "comment", "type": "free_text", "text": "What could we improve?",
         "required": False},
    ],
}  # fmt: skip

DOCUMENTS = {"it-IT": IT_DOCUMENT, "en-US": EN_DOCUMENT}


def document(base: str = "it-IT", **overrides: Any) -> dict[str, Any]:
    """Return a deep copy of the sample document in language `base`, with top-level overrides."""
    copy: dict[str, Any] = json.loads(json.dumps(DOCUMENTS[base]))
    copy.update(overrides)
    return copy


def survey(language: str = "it-IT", questions: list[dict[str, Any]] | None = None) -> Survey:
    """Return the sample survey, optionally with other questions."""
    if questions is None:
        return Survey.from_definition(document(language))
    return Survey.from_definition(document(language, questions=questions))


def play(
    survey: Survey, events: Iterable[Event], state: DialogueState | None = None
) -> tuple[DialogueState, list[Action]]:
    """Feed `events` in order, persisting the state as JSON between turns like the webhooks do."""
    state = DialogueState.initial() if state is None else state
    actions: list[Action] = []
    for event in events:
        state, step = transition(state, event, survey=survey)
        actions.extend(step)
        state = DialogueState.from_dict(json.loads(json.dumps(state.to_dict())))
    return state, actions
