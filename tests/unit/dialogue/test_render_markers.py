"""A text for a reader with no respondent: what is piped, never a value or a default."""

from __future__ import annotations

import pytest

from app.dialogue.texts import render_markers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Quale marca, {contact.name|}?", "Quale marca, [contact.name]?"),
        ("How is our store in {contact.city|your area}?", "How is our store in [contact.city]?"),
        ("Ci ha dato {answer.nps}. Perché?", "Ci ha dato [answer.nps]. Perché?"),
        ("{answer.owns_car} e {contact.plan.tier|base}", "[answer.owns_car] e [contact.plan.tier]"),
        (
            "Nothing piped, {other.thing} and {contact} stay",
            "Nothing piped, {other.thing} and {contact} stay",
        ),
    ],
)
def test_each_placeholder_shows_what_it_pipes(text: str, expected: str) -> None:
    assert render_markers(text) == expected
