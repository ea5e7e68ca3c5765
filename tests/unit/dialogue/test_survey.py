"""The typed survey read from the campaign document, and the errors that name the field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.dialogue import InvalidSurvey, Language, Question, QuestionType, Survey
from tests.unit.dialogue.factories import document


def test_reads_the_sample_document() -> None:
    survey = Survey.from_definition(document("it-IT"))

    assert survey.language is Language.IT
    assert survey.script.consent.startswith("Ha due minuti")
    assert [q.id for q in survey.questions] == [
        "satisfaction",
        "recommend",
        "channel",
        "visits",
        "comment",
    ]
    assert survey.questions[0] == Question(
        "satisfaction", QuestionType.SCALE, "Da 1 a 10, quanto è soddisfatto?", True, 1, 10
    )
    assert survey.questions[2].choices == ("telefono", "email", "negozio")
    assert survey.questions[4].required is False


def test_accepts_explicit_nulls_as_dumped_by_the_api() -> None:
    questions = [
        {
            "id": "q",
            "type": "yes_no",
            "text": "Ok?",
            "required": True,
            "min": None,
            "max": None,
            "choices": None,
        }
    ]

    survey = Survey.from_definition(document("en-US", questions=questions))

    assert survey.questions == (Question("q", QuestionType.YES_NO, "Ok?"),)


def _question(**fields: Any) -> dict[str, Any]:
    return {"id": "q", "type": "yes_no", "text": "Ok?", **fields}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"language": "fr-FR"}, "language: unsupported"),
        ({"language": None}, "language: required"),
        ({"script": {"intro": "Hi", "consent": "Ok?", "refused": "Bye"}}, "script.closing"),
        ({"script": "hello"}, "script: expected"),
        ({"questions": []}, "questions: a non-empty list"),
        ({"questions": [_question(type="rating")]}, "questions.0.type: unknown"),
        ({"questions": [_question(text="  ")]}, "questions.0.text: must not be empty"),
        ({"questions": [_question(), _question()]}, "questions.1.id: 'q' is used twice"),
        ({"questions": [_question(type="scale", min=1)]}, "questions.0.min/max"),
        ({"questions": [_question(type="scale", min=5, max=5)]}, "questions.0.max"),
        ({"questions": [_question(type="scale", min=True, max=5)]}, "questions.0.min: expected"),
        ({"questions": [_question(type="choice")]}, "questions.0.choices"),
        ({"questions": [_question(type="choice", choices="ab")]}, "questions.0.choices"),
        ({"questions": [_question(type="choice", choices=["a", ""])]}, "questions.0.choices"),
        ({"questions": [_question(required="yes")]}, "questions.0.required: expected"),
        ({"questions": ["q"]}, "questions.0: must be an object"),
    ],
)
def test_rejects_a_broken_document(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSurvey, match=re.escape(message)):
        Survey.from_definition(document("it-IT", **overrides))
