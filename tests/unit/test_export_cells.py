"""CSV cells a spreadsheet shows as written: no text of any column runs as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from app.dialogue.survey import Question, QuestionType
from app.reports.export import FORMULA_PREFIXES, ResponseLayout, csv_cell

# (value, cell): text starting with a formula character gets a leading "'"; numbers,
# booleans and nothing are written as values; any other text as it is.
CELLS: list[tuple[Any, str]] = [
    ('=HYPERLINK("http://evil.test","open")', '\'=HYPERLINK("http://evil.test","open")'),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("+SUM(1,2)", "'+SUM(1,2)"),
    ("-2+3", "'-2+3"),
    ("@SUM(1,2)", "'@SUM(1,2)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("\0=1+1", "'\0=1+1"),
    # Text that only looks like a number is still text: we cannot tell "-5" from "-5+A1".
    ("-5", "'-5"),
    ("+390212345678", "'+390212345678"),
    # Numbers we write as numbers: a spreadsheet reads them as values, a negative one too.
    (-5, "-5"),
    (-2.5, "-2.5"),
    (0, "0"),
    (8, "8"),
    (3.25, "3.25"),
    (True, "true"),
    (False, "false"),
    (None, ""),
    ("", ""),
    ("più personale nei negozi", "più personale nei negozi"),
    ("a=b", "a=b"),
    ("1+1", "1+1"),
    ("'=already quoted", "'=already quoted"),
    (" =1+1", " =1+1"),
    ("*********678", "*********678"),
    ("2025-03-04T09:00:04+00:00", "2025-03-04T09:00:04+00:00"),
    ("1.1", "1.1"),
]


@pytest.mark.parametrize(("value", "cell"), CELLS)
def test_csv_cell(value: Any, cell: str) -> None:
    assert csv_cell(value) == cell


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_every_formula_prefix_is_defused(prefix: str) -> None:
    assert csv_cell(f"{prefix}1+1") == f"'{prefix}1+1"


def layout() -> ResponseLayout:
    questions = [
        Question("=cmd|' /C calc'!A0", QuestionType.FREE_TEXT, "Formula as an id"),
        Question("channel", QuestionType.CHOICE, "Canale?", choices=("-telefono", "email")),
        Question("rating", QuestionType.NUMBER, "Quanto?"),
    ]
    return ResponseLayout.build(questions, include_phone=True)


def record(**answers: Any) -> dict[str, Any]:
    moment = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
    return {
        "response_id": 1,
        "contact_id": 2,
        "external_id": '=HYPERLINK("http://evil.test")',
        "phone_number": "+390212345678",
        "attempt_number": 1,
        "started_at": moment,
        "answered_at": moment,
        "ended_at": moment,
        "outcome": "completed",
        "completed": True,
        "language": "it-IT",
        "screened_out_by": None,
        "callback_at": None,
        "resumed_from_id": None,
        "answers": {
            key: {"value": value, "raw": str(value), "confidence": 0.9, "skipped": None}
            for key, value in answers.items()
        },
    }


def written(layout: ResponseLayout, row: dict[str, Any]) -> list[list[str]]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(layout.csv_header())
    writer.writerow(layout.csv_cells(row))
    return list(csv.reader(io.StringIO(buffer.getvalue())))


def test_every_column_and_the_header_are_defused() -> None:
    shape = layout()
    row = shape.row(record(**{"=cmd|' /C calc'!A0": "@SUM(1)", "channel": "-telefono"}))
    row["rating"] = -3

    header, cells = written(shape, row)

    assert header[shape.columns.index("=cmd|' /C calc'!A0")] == "'=cmd|' /C calc'!A0"
    by_column = dict(zip(shape.columns, cells, strict=True))
    assert by_column["external_id"] == '\'=HYPERLINK("http://evil.test")'
    assert by_column["phone_number"] == "'+390212345678"
    assert by_column["phone_number_masked"] == "*********678"
    assert by_column["=cmd|' /C calc'!A0"] == "'@SUM(1)"
    assert by_column["channel"] == "'-telefono"
    assert by_column["rating"] == "-3"
    assert by_column["completed"] == "true"
    # The one cell left starting with "-" is the number the survey got, written as a number.
    assert [cell for cell in header + cells if cell.startswith(FORMULA_PREFIXES)] == ["-3"]


def test_the_json_row_keeps_the_text_as_written() -> None:
    row = layout().row(record(channel="-telefono"))

    assert row["external_id"] == '=HYPERLINK("http://evil.test")'
    assert row["channel"] == "-telefono"
    assert row["phone_number"] == "+390212345678"
