"""Survey responses as rows (one per interview, one column per question) for JSON and CSV.

A contact who made an appointment before any interview started (the usual "not now" at the
consent prompt) is a row too, after the interviews: `row_type` "appointment", the call that booked
it, the time asked for in `callback_at`, and no answer (every question `not_asked`).

Rows are streamed from a server-side cursor, so exporting 100k responses holds a batch in memory,
not the campaign.

Every CSV cell, header included, goes through `csv_cell`: whoever wrote a text (a contact list's
external id, a respondent, the survey's author), a spreadsheet shows it and never runs it.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, TextIO

from sqlalchemy import RowMapping, TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.calls.models import Outcome
from app.db.base import sql_literal
from app.dialogue.survey import Question
from app.reports.dispositions import attempt_disposition
from app.reports.service import survey_questions

# The `<question>_skipped` value of a question the call never reached.
NOT_ASKED = "not_asked"
ROWS_PER_BATCH = 500
# A text starting with one of these is a formula to a spreadsheet (CSV injection): OWASP's
# list, and NUL from OWASP's ASVS (some spreadsheets skip it, then read what follows).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")

# What `row_type` says of a row: an interview (a survey response), or an appointment made by a
# contact with no interview yet.
INTERVIEW = "interview"
APPOINTMENT = "appointment"

# Contacts of the campaign with an appointment and no interview, each with the call that booked
# it: its latest attempt that did. The appointment is still pending (`appointment_at`), or that
# call is the contact's latest. Read from ix_call_attempts_appointments (the attempts that booked
# one), so its cost follows the campaign's appointments, not its contacts.
_APPOINTMENTS = f"""
SELECT b.*, c.external_id, c.phone_number
FROM (SELECT DISTINCT ON (a.contact_id)
             a.contact_id, a.attempt_number, a.started_at, a.answered_at, a.ended_at, a.outcome,
             a.language, a.callback_at
      FROM call_attempts AS a
      WHERE a.campaign_id = :campaign_id AND a.callback_at IS NOT NULL
        AND a.outcome = {sql_literal(Outcome.CALLBACK_REQUESTED)}
      ORDER BY a.contact_id, a.attempt_number DESC) AS b
JOIN contacts AS c ON c.id = b.contact_id
WHERE NOT EXISTS (SELECT 1 FROM survey_responses AS r
                  WHERE r.contact_id = b.contact_id AND NOT r.superseded)
  AND (c.appointment_at IS NOT NULL
       OR NOT EXISTS (SELECT 1 FROM call_attempts AS later
                      WHERE later.contact_id = b.contact_id
                        AND later.attempt_number > b.attempt_number))
"""

_INTERVIEW_ROWS = text("""
SELECT r.id AS response_id, r.contact_id, c.external_id, c.phone_number, a.attempt_number,
       a.started_at, a.answered_at, a.ended_at, a.outcome, r.completed, r.answers,
       r.language, r.screened_out_by, a.callback_at, r.resumed_from_id
FROM survey_responses AS r
JOIN call_attempts AS a ON a.id = r.call_attempt_id
JOIN contacts AS c ON c.id = r.contact_id
WHERE r.campaign_id = :campaign_id AND NOT r.superseded
ORDER BY r.id
LIMIT :limit OFFSET :offset
""").execution_options(yield_per=ROWS_PER_BATCH)

# The same columns as an interview's row, with no response. A statement of its own rather than a
# UNION ALL with the interviews: a union is sorted whole before its first row, and a page of a
# large campaign would sort the campaign instead of reading the page from the primary key.
_APPOINTMENT_ROWS = text(f"""
SELECT CAST(NULL AS bigint) AS response_id, p.contact_id, p.external_id, p.phone_number,
       p.attempt_number, p.started_at, p.answered_at, p.ended_at, p.outcome,
       false AS completed, CAST(NULL AS jsonb) AS answers, p.language,
       CAST(NULL AS text) AS screened_out_by, p.callback_at,
       CAST(NULL AS bigint) AS resumed_from_id
FROM ({_APPOINTMENTS}) AS p
ORDER BY p.contact_id
LIMIT :limit OFFSET :offset
""").execution_options(yield_per=ROWS_PER_BATCH)

_COUNT_INTERVIEWS = text(
    "SELECT count(*) FROM survey_responses WHERE campaign_id = :campaign_id AND NOT superseded"
)
_COUNT = text(f"""
SELECT ({_COUNT_INTERVIEWS.text}) + (SELECT count(*) FROM ({_APPOINTMENTS}) AS p)
""")


@dataclass(frozen=True)
class QuestionColumns:
    question: Question
    value: str
    skipped: str


@dataclass(frozen=True)
class ResponseLayout:
    """The columns of a campaign's response rows, and how to fill them from a stored response."""

    questions: tuple[QuestionColumns, ...]
    include_phone: bool = False

    @classmethod
    def build(cls, questions: Iterable[Question], *, include_phone: bool = False) -> ResponseLayout:
        """Name each question's columns after its id, unless a name is already taken."""
        taken = set(_fixed_columns(include_phone=True))
        columns = []
        for question in questions:
            value = _free_name(question.id, taken)
            skipped = _free_name(f"{value}_skipped", taken)
            columns.append(QuestionColumns(question, value, skipped))
        return cls(tuple(columns), include_phone)

    @cached_property
    def columns(self) -> tuple[str, ...]:
        per_question = (name for q in self.questions for name in (q.value, q.skipped))
        return (*_fixed_columns(include_phone=self.include_phone), *per_question)

    def row(self, record: Mapping[Any, Any]) -> dict[str, Any]:
        """One response as a flat dict in column order; timestamps in ISO 8601."""
        answers: Mapping[str, Any] = record["answers"] or {}
        interview = record["response_id"] is not None
        disposition = attempt_disposition(
            record["outcome"],
            # No response: no consent, so no interview to have broken off.
            answered=count_answered(answers) if interview else None,
            questions=len(self.questions),
        )
        row: dict[str, Any] = {
            "response_id": record["response_id"],
            "contact_id": record["contact_id"],
            "external_id": record["external_id"],
            "phone_number_masked": mask_number(record["phone_number"]),
        }
        if self.include_phone:
            row["phone_number"] = record["phone_number"]
        row |= {
            "attempt_number": record["attempt_number"],
            "call_started_at": _iso(record["started_at"]),
            "call_answered_at": _iso(record["answered_at"]),
            "call_ended_at": _iso(record["ended_at"]),
            "completed": record["completed"],
            "disposition": None if disposition is None else disposition.code,
            "language": record["language"],
            "screened_out_by": record["screened_out_by"],
            "callback_at": _iso(record["callback_at"]),
            "resumed_from_response_id": record["resumed_from_id"],
            "answer_attempt_ids": _answer_attempts(answers),
            "row_type": INTERVIEW if interview else APPOINTMENT,
        }
        for q in self.questions:
            row[q.value], row[q.skipped] = _answer(answers.get(q.question.id))
        return row

    def csv_header(self) -> list[str]:
        """The column names as CSV cells (a question's id is the survey author's text)."""
        return [csv_cell(name) for name in self.columns]

    def csv_cells(self, row: Mapping[str, Any]) -> list[str]:
        """A row as CSV cells, every column alike (see `csv_cell`)."""
        return [csv_cell(row[name]) for name in self.columns]


async def response_layout(
    *, session: AsyncSession, campaign_id: int, include_phone: bool = False
) -> ResponseLayout:
    """The layout of the campaign's response rows; raise NotFound for an unknown campaign."""
    questions = await survey_questions(session=session, campaign_id=campaign_id)
    return ResponseLayout.build(questions, include_phone=include_phone)


async def iter_response_rows(
    *,
    session: AsyncSession,
    campaign_id: int,
    include_phone: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> AsyncIterator[dict[str, Any]]:
    """Yield the campaign's interviews as rows, oldest first, then its appointments made before
    any interview; streamed from the database."""
    layout = await response_layout(
        session=session, campaign_id=campaign_id, include_phone=include_phone
    )
    written = 0
    params = {"campaign_id": campaign_id, "limit": limit, "offset": offset}
    async for record in _records(session, _INTERVIEW_ROWS, params):
        written += 1
        yield layout.row(record)
    if limit is not None and written >= limit:
        return
    # The appointments come after the interviews: `offset` counts the interviews first.
    skip = 0
    if offset and not written:
        counted = await session.execute(_COUNT_INTERVIEWS, {"campaign_id": campaign_id})
        skip = max(0, offset - counted.scalar_one())
    rest = None if limit is None else limit - written
    params = {"campaign_id": campaign_id, "limit": rest, "offset": skip}
    async for record in _records(session, _APPOINTMENT_ROWS, params):
        yield layout.row(record)


async def _records(
    session: AsyncSession, statement: TextClause, params: Mapping[str, Any]
) -> AsyncIterator[RowMapping]:
    result = await session.stream(statement, params)
    # A batch per await: stepping the cursor row by row costs a greenlet switch per row.
    async for batch in result.mappings().partitions():
        for record in batch:
            yield record


async def count_responses(*, session: AsyncSession, campaign_id: int) -> int:
    """How many rows the campaign's export has: its interviews, and its appointments made
    before any interview."""
    total: int = (await session.execute(_COUNT, {"campaign_id": campaign_id})).scalar_one()
    return total


async def write_csv(
    rows: AsyncIterable[Mapping[str, Any]],
    stream: TextIO,
    *,
    layout: ResponseLayout,
    bom: bool = True,
) -> int:
    """Write a header and the rows as CSV to a text stream; return the number of rows."""
    if bom:
        stream.write("\ufeff")  # Excel reads the file as UTF-8 only with it
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(layout.csv_header())
    written = 0
    async for row in rows:
        writer.writerow(layout.csv_cells(row))
        written += 1
    return written


async def csv_chunks(
    rows: AsyncIterable[Mapping[str, Any]], *, layout: ResponseLayout
) -> AsyncIterator[bytes]:
    """UTF-8 CSV in chunks of a batch of rows, starting with a BOM so Excel reads it as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(layout.csv_header())
    pending = 0
    yield codecs.BOM_UTF8 + _drain(buffer)
    async for row in rows:
        writer.writerow(layout.csv_cells(row))
        pending += 1
        if pending == ROWS_PER_BATCH:
            yield _drain(buffer)
            pending = 0
    if pending:
        yield _drain(buffer)


def mask_number(number: str | None) -> str | None:
    """Hide all but the last three digits: enough to tell calls apart, not to dial."""
    if not number:
        return number
    digits = number.lstrip("+")
    shown = digits[-3:] if len(digits) > 3 else ""
    # No leading "+": a spreadsheet would read "+***" as a formula.
    return "*" * (len(digits) - len(shown)) + shown


def count_answered(answers: Mapping[str, Any]) -> int:
    """The questions answered (not skipped) in a stored response."""
    return sum(1 for record in answers.values() if record.get("skipped") is None)


def _answer_attempts(answers: Mapping[str, Any]) -> str | None:
    """{question id: the attempt that collected its answer}, as JSON text; None when every
    answer came from this response's own call (nothing was resumed)."""
    ids = {qid: rec.get("attempt_id") for qid, rec in answers.items() if isinstance(rec, dict)}
    if len({i for i in ids.values() if i is not None}) <= 1:
        return None
    return json.dumps(ids, separators=(",", ":"), sort_keys=True)


def _answer(record: Mapping[str, Any] | None) -> tuple[Any, str | None]:
    if record is None:
        return None, NOT_ASKED
    skipped = record.get("skipped")
    return (record.get("value") if skipped is None else None), skipped


def _fixed_columns(*, include_phone: bool) -> tuple[str, ...]:
    phone = ("phone_number_masked", "phone_number") if include_phone else ("phone_number_masked",)
    return (
        "response_id",
        "contact_id",
        "external_id",
        *phone,
        "attempt_number",
        "call_started_at",
        "call_answered_at",
        "call_ended_at",
        "completed",
        "disposition",
        "language",  # the language the interview was held in
        "screened_out_by",  # question:ID or quota:NAME, when the respondent was screened out
        "callback_at",  # the appointment the respondent asked for in this call
        # A resumed interview: the response it continued, and which call collected each answer.
        "resumed_from_response_id",
        "answer_attempt_ids",
        "row_type",  # interview, or appointment (made before any interview: no response)
    )


def _free_name(name: str, taken: set[str]) -> str:
    while name in taken:
        name = f"q.{name}"
    taken.add(name)
    return name


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def csv_cell(value: Any) -> str:
    """One value as a CSV cell that a spreadsheet shows as written and never runs as a formula.

    Nothing is an empty cell, a boolean true/false, and a number (int or float: ours, from the
    database or a numeric answer) is written as it is, a negative one too: "-3" is a number to a
    spreadsheet and reaches nothing. Any other value is text, whatever its column: one starting
    with a formula character gets a leading "'", which spreadsheets take as "this is text" and
    do not show. That includes text that only looks like a negative number ("-5", "-2+3") and a
    full phone number ("+39...", which Excel would otherwise turn into a plain number).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    cell = str(value)
    return f"'{cell}" if cell.startswith(FORMULA_PREFIXES) else cell


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data
