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
    assert survey.script.consent.get(Language.IT).startswith("Ha due minuti")
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
        ({"language": "pt-BR"}, "language: unsupported"),
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


# --- several languages, choices with labels, quotas, piping -------------------------------------

BILINGUAL_SCRIPT = {
    key: {"it-IT": f"{key} it", "en-US": f"{key} en"}
    for key in ("intro", "consent", "refused", "closing")
}


def bilingual(**overrides: Any) -> dict[str, Any]:
    return {
        "languages": ["it-IT", "en-US"],
        "script": BILINGUAL_SCRIPT,
        "questions": [{"id": "q", "type": "yes_no", "text": {"it-IT": "Sì?", "en-US": "Yes?"}}],
        **overrides,
    }


def test_a_bilingual_survey_speaks_each_language() -> None:
    choice = {
        "id": "c",
        "type": "choice",
        "text": "Brand?",
        "choices": ["fiat", {"value": "other", "text": {"it-IT": "altra", "en-US": "other one"}}],
    }
    survey = Survey.from_definition(bilingual(questions=[choice]))

    assert survey.languages == (Language.IT, Language.EN)
    assert survey.script.intro.get("en-US") == "intro en"
    assert survey.items[0].spoken("en-US").choices == ("fiat", "other one")
    assert survey.items[0].spoken("it-IT").choices == ("fiat", "altra")
    assert survey.questions[0].choices == ("fiat", "other")  # reports see the stored values
    assert survey.items[0].value_of("altra", "it-IT") == "other"
    assert survey.speaks("en-US") is Language.EN and survey.speaks("de-DE") is Language.IT
    assert survey.speaks(None) is Language.IT


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"script": {**BILINGUAL_SCRIPT, "intro": {"it-IT": "Ciao"}}},
            "script.intro.en-US: required (a text in every language)",
        ),
        (
            {"questions": [{"id": "q", "type": "yes_no", "text": {"it-IT": "Sì?"}}]},
            "questions.0.text.en-US: required",
        ),
        (
            {"questions": [{"id": "q", "type": "yes_no", "text": {"it-IT": "a", "en-US": "b",
                                                                     "fr-FR": "c"}}]},
            "questions.0.text.fr-FR: not one of the survey's languages",
        ),
        ({"languages": ["it-IT", "it-IT"]}, "languages: each language once"),
        ({"languages": ["it-IT", "pt-BR"]}, "languages.1: unsupported language"),
        ({"language": "en-US"}, "language: must be the first of languages"),
        (
            {"questions": [{"id": "q", "type": "choice", "text": "?", "choices": [
                "a", {"value": "a", "text": "b"}]}]},
            "questions.0.choices: choice values must be distinct",
        ),
        (
            {"questions": [{"id": "q", "type": "choice", "text": "?", "choices": [
                {"value": "a", "text": {"it-IT": "uno", "en-US": "same"}},
                {"value": "b", "text": {"it-IT": "due", "en-US": "same"}}]}]},
            "questions.0.choices: choices must be distinct in en-US",
        ),
        (
            {"questions": [{"id": "q", "type": "yes_no", "text": "Ciao {answer.q}?"}]},
            "questions.0.text: {answer.q} names no earlier question",
        ),
        (
            {"script": {**BILINGUAL_SCRIPT, "intro": "Ciao {answer.q}"}},
            "script.intro: {answer.q} names no earlier question",
        ),
        (
            {"script": {**BILINGUAL_SCRIPT, "closing": "Grazie {answer.nope}"}},
            "script.closing: {answer.nope} names no earlier question",
        ),
        ({"quotas": [{"name": "x", "when": {"nope": 1}, "target": 5}]}, "quotas.0.when.nope"),
        ({"quotas": [{"name": "x", "when": {"q": True}, "target": 0}]}, "quotas.0.target"),
        (
            {"quotas": [{"name": "x", "when": {"q": True}, "target": 1},
                        {"name": "x", "when": {"q": False}, "target": 1}]},
            "quotas.1.name: 'x' is used twice",
        ),
        ({"confirm_below": 1.5}, "confirm_below: a confidence from 0 to 1"),
        (
            {"questions": [{"id": "any_of", "type": "yes_no", "text": "?"}]},
            "questions.0.id: any_of is a word of conditions",
        ),
    ],
)  # fmt: skip
def test_a_broken_v2_document_names_the_path(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidSurvey, match=re.escape(message)) as info:
        Survey.from_definition(bilingual(**overrides))

    assert ".".join(map(str, info.value.path)) == message.split(": ", 1)[0]


def test_answers_piped_into_the_closing_may_name_any_question() -> None:
    script = {**BILINGUAL_SCRIPT, "closing": "Grazie per {answer.q|tutto}"}

    assert Survey.from_definition(bilingual(script=script)).script.closing.get("it-IT")
