"""Conditions on earlier answers: every operator, missing values, any_of, and the errors that
name the path of a bad condition."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.dialogue import InvalidSurvey
from app.dialogue.conditions import holds, parse_condition
from app.dialogue.survey import Survey

# A small survey whose questions the conditions below look at.
QUESTIONS = [
    {"id": "owns_car", "type": "yes_no", "text": "Ha un'auto?"},
    {"id": "age", "type": "number", "text": "Quanti anni ha?"},
    {"id": "brand", "type": "choice", "text": "Quale marca?", "choices": ["fiat", "toyota"]},
    {"id": "nps", "type": "scale", "text": "Da 0 a 10?", "min": 0, "max": 10},
    {"id": "comment", "type": "free_text", "text": "Altro?"},
]


def survey_with(condition: Any, key: str = "ask_if") -> Survey:
    last = {"id": "target", "type": "yes_no", "text": "Ok?", key: condition}
    return Survey.from_definition(
        {
            "language": "it-IT",
            "script": {"intro": "a", "consent": "b", "refused": "c", "closing": "d"},
            "questions": [*QUESTIONS, last],
        }
    )


def condition(raw: Any) -> Any:
    ask_if = survey_with(raw).items[-1].ask_if
    assert ask_if is not None
    return ask_if


ANSWERS = {"owns_car": True, "age": 34, "brand": "fiat", "nps": 9, "comment": "bene"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"owns_car": True}, True),
        ({"owns_car": False}, False),
        ({"brand": "fiat"}, True),
        ({"age": {"eq": 34}}, True),
        ({"age": {"ne": 34}}, False),
        ({"age": {"lt": 35}}, True),
        ({"age": {"lt": 34}}, False),
        ({"age": {"le": 34}}, True),
        ({"age": {"gt": 34}}, False),
        ({"age": {"ge": 34}}, True),
        ({"nps": {"ge": 9.5}}, False),
        ({"brand": {"in": ["fiat", "toyota"]}}, True),
        ({"brand": {"not_in": ["fiat"]}}, False),
        ({"nps": {"in": [9, 10]}}, True),
        ({"comment": {"answered": True}}, True),
        ({"comment": {"answered": False}}, False),
        ({"comment": "bene"}, True),
        # Every entry must hold.
        ({"owns_car": True, "age": {"lt": 30}}, False),
        ({"owns_car": True, "age": {"lt": 40}}, True),
        # any_of: at least one.
        ({"any_of": [{"age": {"lt": 18}}, {"brand": "fiat"}]}, True),
        ({"any_of": [{"age": {"lt": 18}}, {"brand": "toyota"}]}, False),
        ({"owns_car": True, "any_of": [{"nps": {"lt": 7}}, {"nps": {"gt": 8}}]}, True),
    ],
)
def test_every_operator(raw: dict[str, Any], expected: bool) -> None:
    assert holds(condition(raw), ANSWERS) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"age": {"lt": 18}}, False),
        ({"age": {"ne": 18}}, False),  # no value is not "a value other than 18"
        ({"brand": {"not_in": ["fiat"]}}, False),
        ({"age": {"answered": False}}, True),
        ({"age": {"answered": True}}, False),
    ],
)
def test_a_skipped_or_unasked_question_has_no_value(raw: dict[str, Any], expected: bool) -> None:
    assert holds(condition(raw), {**ANSWERS, "age": None}) is expected
    assert holds(condition(raw), {k: v for k, v in ANSWERS.items() if k != "age"}) is expected


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"color": "red"}, "questions.5.ask_if.color: no earlier question"),
        ({"target": True}, "questions.5.ask_if.target: no earlier question"),
        ({"owns_car": "yes"}, "questions.5.ask_if.owns_car: expected true or false"),
        ({"age": "old"}, "questions.5.ask_if.age: expected a number"),
        ({"age": True}, "questions.5.ask_if.age: expected a number"),
        ({"brand": "opel"}, "questions.5.ask_if.brand: expected one of the choices"),
        ({"brand": {"lt": "fiat"}}, "questions.5.ask_if.brand.lt: only numbers"),
        ({"age": {"between": [1, 2]}}, "questions.5.ask_if.age.between: unknown operator"),
        ({"age": {"lt": 18, "gt": 5}}, "questions.5.ask_if.age: one operator per question"),
        ({"brand": {"in": "fiat"}}, "questions.5.ask_if.brand.in: expected a non-empty list"),
        ({"brand": {"in": ["fiat", "opel"]}}, "questions.5.ask_if.brand.in.1: expected one"),
        ({"comment": {"answered": "yes"}}, "questions.5.ask_if.comment.answered: expected true"),
        ({"any_of": []}, "questions.5.ask_if.any_of: a non-empty list"),
        ({"any_of": [{"age": "x"}]}, "questions.5.ask_if.any_of.0.age: expected a number"),
        ({}, "questions.5.ask_if: a condition is a non-empty map"),
        ("age < 18", "questions.5.ask_if: a condition is a non-empty map"),
    ],
)
def test_a_bad_condition_names_its_path(raw: Any, path: str) -> None:
    with pytest.raises(InvalidSurvey, match="^" + re.escape(path)):
        survey_with(raw)


def test_a_forward_reference_is_refused() -> None:
    document = {
        "language": "en-US",
        "script": {"intro": "a", "consent": "b", "refused": "c", "closing": "d"},
        "questions": [
            {"id": "first", "type": "yes_no", "text": "A?", "ask_if": {"second": True}},
            {"id": "second", "type": "yes_no", "text": "B?"},
        ],
    }

    with pytest.raises(InvalidSurvey, match=r"^questions\.0\.ask_if\.second: no earlier"):
        Survey.from_definition(document)


def test_a_screen_out_may_judge_its_own_question() -> None:
    screen = survey_with({"target": False}, key="screen_out_if").items[-1].screen_out_if

    assert screen is not None and holds(screen, {"target": False})


def test_parse_condition_checks_values_with_the_given_checks() -> None:
    checks = {"n": ((lambda v: isinstance(v, int)), "a number", True)}

    parsed = parse_condition({"n": {"gt": 3}}, "where", checks)

    assert holds(parsed, {"n": 4}) and not holds(parsed, {"n": 3})
