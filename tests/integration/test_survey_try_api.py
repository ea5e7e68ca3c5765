"""`POST /api/surveys/try`: a document and replies in, the transcript out; bad input is a 4xx."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.support.apps import app_client
from tests.support.factories import OMIT, campaign_document

URL = "/api/surveys/try"
SCRIPT = {
    "intro": {"en-US": "Hello {contact.name|there}.", "it-IT": "Buongiorno {contact.name|}."},
    "consent": {"en-US": "Do you have two minutes?", "it-IT": "Ha due minuti?"},
    "refused": {"en-US": "Thanks anyway.", "it-IT": "Grazie lo stesso."},
    "closing": {"en-US": "Thank you, goodbye.", "it-IT": "Grazie, arrivederci."},
}
QUESTIONS: list[dict[str, Any]] = [
    {"id": "owns_car", "type": "yes_no", "text": {"en-US": "Own a car?", "it-IT": "Ha un'auto?"}},
    {
        "id": "brand",
        "type": "choice",
        "text": {"en-US": "Which brand?", "it-IT": "Quale marca?"},
        "choices": ["fiat", "other"],
        "ask_if": {"owns_car": True},
    },
    {
        "id": "age",
        "type": "number",
        "text": {"en-US": "How old are you?", "it-IT": "Quanti anni ha?"},
        "screen_out_if": {"age": {"lt": 18}},
    },
    {"id": "happy", "type": "yes_no", "text": {"en-US": "Happy?", "it-IT": "Contento?"}},
]


def document(**overrides: Any) -> dict[str, Any]:
    base = {
        "language": OMIT,
        "languages": ["en-US", "it-IT"],
        "script": SCRIPT,
        "questions": QUESTIONS,
        "quotas": [{"name": "young", "when": {"age": {"lt": 35}}, "target": 2}],
        "confirm_below": 0.5,
    }
    return campaign_document(**{**base, **overrides})


def locs(response: httpx.Response) -> list[list[Any]]:
    return [error["loc"] for error in response.json()["detail"]]


def kinds(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["kind"], e["question_id"]) for turn in body["turns"] for e in turn["events"]]


async def test_a_whole_interview_comes_back_as_a_transcript(client: httpx.AsyncClient) -> None:
    replies = [
        "yes",
        "no",
        {"speech": "thirty", "confidence": 0.3},
        "yes",
        {"silence": True},
        {"digits": "1"},
        "one more",
    ]
    request = {"document": document(), "replies": replies, "contact": {"name": "Anna"}}

    response = await client.post(URL, json=request)

    assert response.status_code == 200, response.text
    body = response.json()
    first = body["turns"][0]
    assert first["reply"] is None
    assert first["said"] == ["Hello Anna.", "Do you have two minutes?"]
    assert first["listen"] == {"kind": "consent", "hints": ["yes", "no"]}
    assert body["turns"][3]["reply"] == {"kind": "speech", "text": "thirty", "confidence": 0.3}
    assert body["turns"][5]["reply"] == {"kind": "silence", "text": "", "confidence": None}
    assert kinds(body) == [
        ("answered", "owns_car"),
        ("not_applicable", "brand"),
        ("confirming", "age"),
        ("answered", "age"),
        ("answered", "happy"),
    ]
    assert body["finished"] is True and body["outcome"] == "completed"
    assert body["waiting"] is None and body["unused_replies"] == 1
    assert body["quotas"] == ["young"]
    assert body["answers"] == [
        {
            "question_id": "owns_car",
            "value": False,
            "raw": "no",
            "confidence": 1.0,
            "skipped": None,
            "confirmed": None,
            "corrected": False,
        },
        {
            "question_id": "brand",
            "value": None,
            "raw": "",
            "confidence": None,
            "skipped": "not_applicable",
            "confirmed": None,
            "corrected": False,
        },
        {
            "question_id": "age",
            "value": 30,
            "raw": "thirty",
            "confidence": 0.3,
            "skipped": None,
            "confirmed": True,
            "corrected": False,
        },
        {
            "question_id": "happy",
            "value": True,
            "raw": "1",
            "confidence": None,
            "skipped": None,
            "confirmed": None,
            "corrected": False,
        },
    ]


async def test_when_the_replies_run_out_it_says_what_it_waits_on(
    client: httpx.AsyncClient,
) -> None:
    request = {"document": document(), "replies": ["sì"], "language": "it-IT"}

    body = (await client.post(URL, json=request)).json()

    assert body["language"] == "it-IT"
    assert body["finished"] is False and body["outcome"] is None
    assert body["waiting"] == {
        "phase": "question",
        "question_id": "owns_car",
        "prompt": "Ha un'auto?",
        "listen": {"kind": "yes_no", "hints": ["sì", "no"]},
    }


async def test_a_full_quota_screens_out(client: httpx.AsyncClient) -> None:
    request = {"document": document(), "replies": ["yes", "no", "30"], "full_quotas": ["young"]}

    body = (await client.post(URL, json=request)).json()

    assert (body["outcome"], body["screened_by"]) == ("screened_out", "quota:young")
    assert kinds(body)[-1] == ("screened_out", "age")
    assert body["quotas"] == []


async def test_a_document_without_replies_or_options_is_enough(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(URL, json={"document": campaign_document()})

    assert response.status_code == 200, response.text
    assert response.json()["waiting"]["phase"] == "consent"


@pytest.mark.parametrize(
    ("request_overrides", "loc"),
    [
        # Refused by the schema of the document.
        ({"document": document(questions=[{"id": "a", "type": "slider", "text": "x"}])},
         ["body", "document", "questions", 0, "type"]),
        # Refused when read as a survey: a condition on a question not asked yet.
        ({"document": document(questions=[{**QUESTIONS[0], "ask_if": {"age": 1}}, QUESTIONS[2]])},
         ["body", "document", "questions", 0, "ask_if", "age"]),
        ({"full_quotas": ["young", "old"]}, ["body", "full_quotas", 1]),
        ({"document": OMIT}, ["body", "document"]),
    ],
)  # fmt: skip
async def test_a_bad_document_is_422_naming_the_path(
    client: httpx.AsyncClient, request_overrides: dict[str, Any], loc: list[Any]
) -> None:
    request = {"document": document(), "replies": ["yes"], **request_overrides}
    request = {key: value for key, value in request.items() if value is not OMIT}

    response = await client.post(URL, json=request)

    assert response.status_code == 422, response.text
    assert loc in locs(response)


@pytest.mark.parametrize(
    ("request_overrides", "loc"),
    [
        ({"replies": ["yes"] * 201}, ["body", "replies"]),
        ({"replies": ["x" * 1001]}, ["body", "replies", 0]),
        ({"replies": [{"speech": "x" * 1001}]}, ["body", "replies", 0]),
        ({"replies": ["a\x00b"]}, ["body", "replies"]),
        ({"replies": [{"speech": "yes", "confidence": 1.5}]}, ["body", "replies", 0]),
        ({"replies": [{"speech": "yes", "volume": 3}]}, ["body", "replies", 0]),
        ({"replies": [{"digits": "12a"}]}, ["body", "replies", 0]),
        ({"replies": [{"silence": False}]}, ["body", "replies", 0]),
        ({"replies": [None]}, ["body", "replies", 0]),
        ({"contact": {f"f{i}": "x" for i in range(51)}}, ["body", "contact"]),
        ({"contact": {"no spaces": "x"}}, ["body", "contact"]),
        ({"contact": {"name": "x" * 1001}}, ["body", "contact", "name"]),
        ({"language": "x" * 36}, ["body", "language"]),
        ({"full_quotas": ["young"] * 21}, ["body", "full_quotas"]),
        ({"extra": 1}, ["body", "extra"]),
    ],
)
async def test_oversized_or_malformed_requests_are_422(
    client: httpx.AsyncClient, request_overrides: dict[str, Any], loc: list[Any]
) -> None:
    request = {"document": document(), **request_overrides}

    response = await client.post(URL, json=request)

    assert response.status_code == 422, response.text
    assert any(found[: len(loc)] == loc for found in locs(response)), locs(response)


@pytest.mark.parametrize(
    "body",
    [
        '{"document": %s, "replies": [{"speech": "yes", "confidence": NaN}]}',
        '{"document": %s, "contact": {"name": "\\ud800"}}',
        '{"document": %s, "replies": ["\\udfff"]}',
        '{"document": %s, "replies": ',
    ],
)
async def test_what_json_cannot_carry_back_is_refused(client: httpx.AsyncClient, body: str) -> None:
    content = body.replace("%s", json.dumps(document()))

    response = await client.post(URL, content=content, headers={"content-type": "application/json"})

    assert response.status_code == 422, response.text


async def test_an_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post(URL, json={"document": document(name="x" * (4 << 20))})

    assert response.status_code == 413


async def test_the_admin_guard_applies(make_settings: Callable[..., Settings]) -> None:
    request = {"document": document()}
    async with app_client(make_settings(admin_api_token="s3cret"), "10.1.2.3") as client:
        missing = await client.post(URL, json=request)
        right = await client.post(URL, json=request, headers={"authorization": "Bearer s3cret"})
    async with app_client(make_settings(), "10.1.2.3") as client:
        remote = await client.post(URL, json=request)

    assert missing.status_code == 401
    assert right.status_code == 200
    assert remote.status_code == 403


async def test_the_schema_documents_the_operation(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()

    operation = schema["paths"][URL]["post"]
    assert {"200", "401", "403", "413", "422"} <= set(operation["responses"])
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    properties = schema["components"]["schemas"][answer.rsplit("/", 1)[1]]["properties"]
    assert {"turns", "answers", "outcome", "waiting", "quotas"} <= set(properties)
