"""Results API: AAPOR dispositions and rates, answers per question, responses as JSON and CSV."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.dialogue.survey import Question, QuestionType
from app.reports.export import ResponseLayout, iter_response_rows, response_layout, write_csv
from app.reports.service import campaign_report
from tests.integration.test_campaigns_api import app_client
from tests.integration.test_voice_flow import end_call, start_call
from tests.support.factories import create_campaign, csv_body, import_csv
from tests.support.seed import execute, fetch_all

Sessions = async_sessionmaker[AsyncSession]

QUESTION_COLUMNS = [
    "satisfaction",
    "satisfaction_skipped",
    "recommend",
    "recommend_skipped",
    "channel",
    "channel_skipped",
    "comment",
    "comment_skipped",
]
FIXED_COLUMNS = [
    "response_id",
    "contact_id",
    "external_id",
    "phone_number_masked",
    "attempt_number",
    "call_started_at",
    "call_answered_at",
    "call_ended_at",
    "completed",
    "disposition",
    "language",
    "screened_out_by",
    "callback_at",
    "resumed_from_response_id",
    "answer_attempt_ids",
    "row_type",
]


def answer(value: Any) -> dict[str, Any]:
    return {"value": value, "raw": str(value), "confidence": 0.9, "skipped": None}


def skipped(reason: str) -> dict[str, Any]:
    return {"value": None, "raw": "", "confidence": None, "skipped": reason}


# Ten contacts of the four-question survey (satisfaction 1-10, recommend yes/no, channel,
# free-text comment): external id -> final state, and its attempts as (outcome, answers or None).
TEN_CONTACTS: dict[str, tuple[str, list[tuple[str, dict[str, Any] | None]]]] = {
    "C01": (
        "completed",
        [
            (
                "completed",
                {
                    "satisfaction": answer(8),
                    "recommend": answer(True),
                    "channel": answer("email"),
                    "comment": answer("più personale nei negozi"),
                },
            )
        ],
    ),
    "C02": (
        "completed",
        [
            ("no_answer", None),
            (
                "completed",
                {
                    "satisfaction": answer(10),
                    "recommend": skipped("skipped_by_respondent"),
                    "channel": answer("telefono"),
                    "comment": answer("=1+1, però"),
                },
            ),
        ],
    ),
    "C03": (
        "completed",
        [
            ("hangup", None),
            (
                "completed",
                {
                    "satisfaction": answer(6),
                    "recommend": answer(False),
                    "channel": answer("email"),
                    "comment": skipped("no_input"),
                },
            ),
        ],
    ),
    # Hung up after two of four questions: 50% answered, a partial.
    "C04": ("partial", [("partial", {"satisfaction": answer(3), "recommend": answer(True)})]),
    "C05": ("refused", [("refused", None)]),
    "C06": ("do_not_call", [("opted_out", None)]),
    "C07": ("not_reached", [("no_answer", None)] * 3),
    "C08": ("not_reached", [("no_answer", None), ("busy", None), ("no_answer", None)]),
    "C09": ("not_reached", [("busy", None)] * 3),
    "C10": ("failed", [("invalid_number", None)]),
}

_STATUS = {"no_answer": "no-answer", "busy": "busy", "invalid_number": "failed"}

_INSERT_ATTEMPT = """
INSERT INTO call_attempts (contact_id, campaign_id, attempt_number, status, outcome, started_at,
                           answered_at, ended_at, last_event_at)
SELECT c.id, c.campaign_id, :n, :status, :outcome, s.t,
       CASE WHEN :answered THEN s.t + interval '4 seconds' END,
       s.t + interval '90 seconds', s.t + interval '90 seconds'
FROM contacts AS c, (SELECT timestamptz '2025-03-03 09:00:00+00' + :n * interval '1 day') AS s(t)
WHERE c.campaign_id = :cid AND c.external_id = :ext
"""

_INSERT_RESPONSE = """
INSERT INTO survey_responses (call_attempt_id, contact_id, campaign_id, answers, completed)
SELECT a.id, a.contact_id, a.campaign_id, CAST(:answers AS jsonb), :completed
FROM call_attempts AS a JOIN contacts AS c ON c.id = a.contact_id
WHERE c.campaign_id = :cid AND c.external_id = :ext AND a.attempt_number = :n
"""


async def seed_ten(client: httpx.AsyncClient, sessions: Sessions) -> int:
    """A campaign with TEN_CONTACTS' calls and answers written straight into the database."""
    campaign_id: int = (await create_campaign(client))["id"]
    rows = [[f"+3902123456{i + 10}", ext] for i, ext in enumerate(TEN_CONTACTS)]
    imported = await import_csv(
        client, campaign_id, csv_body(["phone_number", "external_id"], *rows)
    )
    assert imported.json()["imported"] == 10
    for ext, (state, attempts) in TEN_CONTACTS.items():
        for n, (outcome, answers) in enumerate(attempts, start=1):
            await add_attempt(sessions, campaign_id, ext, n, outcome, answers)
        await execute(
            sessions,
            "UPDATE contacts SET state = :state, attempts_count = :n"
            " WHERE campaign_id = :cid AND external_id = :ext",
            state=state,
            n=len(attempts),
            cid=campaign_id,
            ext=ext,
        )
    return campaign_id


async def add_attempt(
    sessions: Sessions,
    campaign_id: int,
    ext: str,
    n: int,
    outcome: str,
    answers: dict[str, Any] | None,
) -> None:
    params = {"cid": campaign_id, "ext": ext, "n": n}
    answered = outcome not in _STATUS
    status = _STATUS.get(outcome, "completed")
    await execute(
        sessions, _INSERT_ATTEMPT, status=status, outcome=outcome, answered=answered, **params
    )
    if answers is not None:
        completed = outcome == "completed"
        await execute(
            sessions, _INSERT_RESPONSE, answers=json.dumps(answers), completed=completed, **params
        )


def read_csv(response: httpx.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


# --- stats --------------------------------------------------------------------------------------


async def test_stats_report_dispositions_and_rates(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    cid = await seed_ten(client, sessions)

    response = await client.get(f"/api/campaigns/{cid}/stats")

    assert response.status_code == 200
    stats = response.json()
    assert stats["contacts"]["completed"] == 3 and stats["attempts"]["total"] == 18
    counts = {code: d["count"] for code, d in stats["dispositions"].items() if d["count"]}
    assert counts == {"1.1": 3, "1.2": 1, "2.11": 2, "3.13": 2, "3.12": 1, "4.31": 1}
    assert stats["dispositions"]["2.22"] == {
        "label": "Telephone answering device",
        "category": "NC",
        "count": 0,
    }
    assert list(stats["dispositions"]) == sorted(stats["dispositions"])
    assert sum(d["count"] for d in stats["dispositions"].values()) == 10
    totals = stats["disposition_totals"]
    assert totals == {"I": 3, "P": 1, "R": 2, "NC": 0, "O": 0, "UH": 3, "UO": 0, "NE": 1}
    # RR1 = I/((I+P)+(R+NC+O)+(UH+UO)) = 3/9; COOP1 = I/((I+P)+R+O) = 3/6;
    # REF1 = R/(...) = 2/9; CON1 = ((I+P)+R+O)/(...) = 6/9.
    assert stats["rates"] == pytest.approx(
        {"RR1": 3 / 9, "COOP1": 3 / 6, "REF1": 2 / 9, "CON1": 6 / 9}
    )
    assert stats["responses"] == {"total": 4, "completed": 3}


async def test_stats_report_each_question(client: httpx.AsyncClient, sessions: Sessions) -> None:
    cid = await seed_ten(client, sessions)

    questions = (await client.get(f"/api/campaigns/{cid}/stats")).json()["questions"]

    assert list(questions) == ["satisfaction", "recommend", "channel", "comment"]
    scale = questions["satisfaction"]
    assert (scale["type"], scale["answered"], scale["skipped"], scale["skip_rate"]) == (
        "scale",
        4,
        0,
        0.0,
    )
    assert scale["mean"] == pytest.approx((8 + 10 + 6 + 3) / 4)
    assert (scale["min"], scale["max"]) == (3, 10)
    assert scale["histogram"] == {str(v): int(v in (3, 6, 8, 10)) for v in range(1, 11)}
    assert scale["counts"] is None and scale["shares"] is None

    yes_no = questions["recommend"]
    assert (yes_no["asked"], yes_no["answered"], yes_no["skipped"]) == (4, 3, 1)
    assert yes_no["skip_rate"] == pytest.approx(1 / 4)
    assert yes_no["skipped_by_reason"] == {"skipped_by_respondent": 1}
    assert yes_no["counts"] == {"yes": 2, "no": 1}
    assert yes_no["shares"] == pytest.approx({"yes": 2 / 3, "no": 1 / 3})

    choice = questions["channel"]
    assert (choice["asked"], choice["answered"]) == (3, 3)  # the partial never reached it
    assert choice["counts"] == {"telefono": 1, "email": 2, "negozio": 0}
    assert choice["shares"] == pytest.approx({"telefono": 1 / 3, "email": 2 / 3, "negozio": 0})

    free = questions["comment"]
    assert (free["answered"], free["skipped"], free["skipped_by_reason"]) == (2, 1, {"no_input": 1})
    assert free["histogram"] is None and free["counts"] is None and free["mean"] is None


async def test_stats_of_a_campaign_without_calls(client: httpx.AsyncClient) -> None:
    cid = (await create_campaign(client))["id"]
    await import_csv(client, cid, csv_body(["phone_number"], ["+390212345600"]))

    stats = (await client.get(f"/api/campaigns/{cid}/stats")).json()

    assert stats["dispositions"]["3.11"]["count"] == 1
    assert stats["rates"] == {"RR1": 0.0, "COOP1": None, "REF1": 0.0, "CON1": 0.0}
    assert stats["questions"]["satisfaction"]["mean"] is None
    assert stats["questions"]["satisfaction"]["skip_rate"] is None


# --- responses: JSON ----------------------------------------------------------------------------


async def test_responses_json_masks_numbers_and_follows_the_survey(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    cid = await seed_ten(client, sessions)

    response = await client.get(f"/api/campaigns/{cid}/responses")

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (4, 100, 0)
    assert [q["column"] for q in body["questions"]] == QUESTION_COLUMNS[::2]
    items = body["items"]
    assert [item["external_id"] for item in items] == ["C01", "C02", "C03", "C04"]
    assert list(items[0]) == FIXED_COLUMNS + QUESTION_COLUMNS
    assert "+3902" not in response.text and "0212345" not in response.text
    first, second, _, partial = items
    assert first["phone_number_masked"] == "*********610"
    assert (first["satisfaction"], first["recommend"], first["channel"]) == (8, True, "email")
    assert first["comment"] == "più personale nei negozi"
    assert (first["completed"], first["disposition"], first["attempt_number"]) == (True, "1.1", 1)
    assert datetime.fromisoformat(first["call_started_at"]) == datetime.fromisoformat(
        "2025-03-04T09:00:00+00:00"
    )
    assert (second["attempt_number"], second["recommend"]) == (2, None)
    assert second["recommend_skipped"] == "skipped_by_respondent"
    assert (partial["completed"], partial["disposition"]) == (False, "1.2")
    assert (partial["channel"], partial["channel_skipped"]) == (None, "not_asked")


async def test_responses_json_pages_and_full_numbers_on_request(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    cid = await seed_ten(client, sessions)

    page = (await client.get(f"/api/campaigns/{cid}/responses?limit=2&offset=1")).json()
    full = (await client.get(f"/api/campaigns/{cid}/responses?include_phone=true")).json()

    assert [i["external_id"] for i in page["items"]] == ["C02", "C03"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert full["items"][0]["phone_number"] == "+390212345610"
    assert full["items"][0]["phone_number_masked"] == "*********610"
    db = await fetch_all(
        sessions,
        "SELECT c.phone_number FROM survey_responses r JOIN contacts c ON c.id = r.contact_id"
        " ORDER BY r.id",
    )
    assert [i["phone_number"] for i in full["items"]] == [r.phone_number for r in db]


# --- responses: CSV -----------------------------------------------------------------------------


async def test_responses_csv_opens_in_excel_and_matches_the_database(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    cid = await seed_ten(client, sessions)

    response = await client.get(f"/api/campaigns/{cid}/responses?format=csv")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert f"campaign-{cid}-responses.csv" in response.headers["content-disposition"]
    assert response.content.startswith(codecs.BOM_UTF8)
    assert "più personale nei negozi".encode() in response.content
    rows = read_csv(response)
    assert list(rows[0]) == FIXED_COLUMNS + QUESTION_COLUMNS
    db = await fetch_all(
        sessions,
        """
        SELECT r.id, c.external_id, c.phone_number, a.attempt_number, r.completed, r.answers
        FROM survey_responses r JOIN contacts c ON c.id = r.contact_id
        JOIN call_attempts a ON a.id = r.call_attempt_id
        WHERE r.campaign_id = :cid ORDER BY r.id
        """,
        cid=cid,
    )
    assert len(rows) == len(db) == 4
    for row, record in zip(rows, db, strict=True):
        assert (row["response_id"], row["external_id"]) == (str(record.id), record.external_id)
        assert row["attempt_number"] == str(record.attempt_number)
        assert row["completed"] == ("true" if record.completed else "false")
        assert row["satisfaction"] == str(record.answers["satisfaction"]["value"])
        # Twelve digits: nine hidden, the last three of this contact's number shown, no "+".
        assert row["phone_number_masked"] == "*" * 9 + record.phone_number[-3:]
    first, second, third, partial = rows
    assert first["comment"] == "più personale nei negozi"
    assert (first["recommend"], third["recommend"]) == ("true", "false")
    assert (second["recommend"], second["recommend_skipped"]) == ("", "skipped_by_respondent")
    assert second["comment"] == "'=1+1, però"  # a formula to a spreadsheet: defused
    assert (third["comment"], third["comment_skipped"]) == ("", "no_input")
    assert (partial["disposition"], partial["channel_skipped"]) == ("1.2", "not_asked")
    assert first["call_answered_at"] == "2025-03-04T09:00:04+00:00"
    assert "phone_number" not in first


async def test_responses_csv_streams_every_row_of_a_large_campaign(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    cid = (await create_campaign(client))["id"]
    await execute(
        sessions,
        """
        WITH c AS (
            INSERT INTO contacts (campaign_id, phone_number, timezone, state, attempts_count)
            SELECT :cid, '+3902' || (10000000 + g), 'Europe/Rome', 'completed', 1
            FROM generate_series(1, 1234) AS g RETURNING id
        ), a AS (
            INSERT INTO call_attempts (contact_id, campaign_id, attempt_number, status, outcome,
                                       started_at, answered_at, ended_at, last_event_at)
            SELECT id, :cid, 1, 'completed', 'completed', now(), now(), now(), now() FROM c
            RETURNING id, contact_id
        )
        INSERT INTO survey_responses (call_attempt_id, contact_id, campaign_id, answers, completed)
        SELECT id, contact_id, :cid, jsonb_build_object(
            'satisfaction', jsonb_build_object('value', 1 + id % 10, 'skipped', null),
            'recommend', jsonb_build_object('value', id % 2 = 0, 'skipped', null)
        ), true FROM a
        """,
        cid=cid,
    )

    response = await client.get(f"/api/campaigns/{cid}/responses?format=csv")
    stats = (await client.get(f"/api/campaigns/{cid}/stats")).json()

    rows = read_csv(response)
    ids = [int(row["response_id"]) for row in rows]
    assert len(ids) == 1234 and ids == sorted(set(ids))
    satisfaction = [int(row["satisfaction"]) for row in rows]
    assert stats["questions"]["satisfaction"]["answered"] == 1234
    assert stats["questions"]["satisfaction"]["mean"] == pytest.approx(
        sum(satisfaction) / len(satisfaction)
    )
    histogram = stats["questions"]["satisfaction"]["histogram"]
    assert histogram == {str(v): satisfaction.count(v) for v in range(1, 11)}
    assert stats["questions"]["recommend"]["counts"]["yes"] == sum(
        row["recommend"] == "true" for row in rows
    )
    assert stats["dispositions"]["1.1"]["count"] == 1234 and stats["rates"]["RR1"] == 1.0


async def test_responses_csv_of_a_campaign_without_answers_has_a_header(
    client: httpx.AsyncClient,
) -> None:
    cid = (await create_campaign(client))["id"]

    response = await client.get(f"/api/campaigns/{cid}/responses?format=csv")

    assert response.content.decode("utf-8-sig").splitlines() == [
        ",".join(FIXED_COLUMNS + QUESTION_COLUMNS)
    ]


# --- errors and auth ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/campaigns/999/stats",
        "/api/campaigns/999/responses",
        "/api/campaigns/999/responses?format=csv",
    ],
)
async def test_unknown_campaign_is_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 404
    assert "campaign 999 not found" in response.json()["detail"]


@pytest.mark.parametrize(
    ("query", "field"), [("format=xlsx", "format"), ("limit=0", "limit"), ("offset=-1", "offset")]
)
async def test_bad_query_is_422_naming_the_field(
    client: httpx.AsyncClient, query: str, field: str
) -> None:
    cid = (await create_campaign(client))["id"]

    response = await client.get(f"/api/campaigns/{cid}/responses?{query}")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


async def test_responses_need_the_admin_token(make_settings: Callable[..., Settings]) -> None:
    async with app_client(make_settings(admin_api_token="s3cret"), "10.1.2.3") as client:
        missing = await client.get("/api/campaigns/1/responses?format=csv")

    assert missing.status_code == 401


# --- a real call, and the functions the CLI uses ------------------------------------------------


async def test_a_real_call_shows_up_in_stats_and_responses(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    conv = await start_call(client, sessions)
    await conv.answer_call()
    await conv.say("sì")
    await conv.say("nove")
    await conv.say("sì")
    await conv.say("telefono")
    await conv.say("più cortesia")
    await end_call(client, conv)
    cid = (await fetch_all(sessions, "SELECT id FROM campaigns"))[0].id

    stats = (await client.get(f"/api/campaigns/{cid}/stats")).json()
    rows = read_csv(await client.get(f"/api/campaigns/{cid}/responses?format=csv"))

    assert stats["dispositions"]["1.1"]["count"] == 1 and stats["rates"]["RR1"] == 1.0
    assert stats["questions"]["satisfaction"]["histogram"]["9"] == 1
    assert stats["questions"]["channel"]["counts"]["telefono"] == 1
    [row] = rows
    assert (row["satisfaction"], row["recommend"], row["channel"]) == ("9", "true", "telefono")
    assert (row["comment"], row["disposition"], row["completed"]) == ("più cortesia", "1.1", "true")
    assert row["call_answered_at"] and row["call_ended_at"]


async def test_service_functions_give_what_the_api_gives(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    cid = await seed_ten(client, sessions)
    api_csv = (await client.get(f"/api/campaigns/{cid}/responses?format=csv")).content

    async with sessions() as session:
        report = await campaign_report(session=session, campaign_id=cid)
        layout = await response_layout(session=session, campaign_id=cid)
        out = io.StringIO()
        written = await write_csv(
            iter_response_rows(session=session, campaign_id=cid), out, layout=layout
        )

    expected = {"RR1": 3 / 9, "COOP1": 3 / 6, "REF1": 2 / 9, "CON1": 6 / 9}
    assert report.model_dump()["rates"] == pytest.approx(expected)
    assert report.dispositions["1.1"].count == 3
    assert written == 4
    assert out.getvalue().encode() == api_csv


def test_question_columns_never_collide_with_fixed_ones() -> None:
    questions = [
        Question("completed", QuestionType.YES_NO, "Ha completato l'acquisto?"),
        Question("a", QuestionType.NUMBER, "Quanti?"),
        Question("a_skipped", QuestionType.FREE_TEXT, "Perché?"),
    ]

    layout = ResponseLayout.build(questions)

    assert layout.columns[len(FIXED_COLUMNS) :] == (
        "q.completed",
        "q.completed_skipped",
        "a",
        "a_skipped",
        "q.a_skipped",
        "q.a_skipped_skipped",
    )
    assert len(set(layout.columns)) == len(layout.columns)
