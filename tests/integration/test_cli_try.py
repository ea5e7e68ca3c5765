"""`voicesurvey try FILE`: replies from a file or from stdin, the transcript printed; bad input
is one line. No database: nobody is called and nothing is stored."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import cli
from tests.integration.test_cli import assert_one_line_error
from tests.support.cli import Result
from tests.support.factories import OMIT, campaign_document

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
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
        "text": {"en-US": "Which brand [make]?", "it-IT": "Quale marca?"},
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


def write_document(path: Path, **overrides: Any) -> Path:
    document = campaign_document(
        **{
            "language": OMIT,
            "languages": ["en-US", "it-IT"],
            "script": SCRIPT,
            "questions": QUESTIONS,
            "quotas": [{"name": "young", "when": {"age": {"lt": 35}}, "target": 2}],
            "confirm_below": 0.5,
            **overrides,
        }
    )
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def survey_file(tmp_path: Path) -> Path:
    return write_document(tmp_path / "survey.yaml")


def voicesurvey(*args: str, stdin: str = "") -> Result:
    # Wide enough that no line is wrapped; CliRunner's stdin is not a terminal.
    result = CliRunner().invoke(cli, list(args), input=stdin, env={"COLUMNS": "200"})
    return Result(result.exit_code, result.stdout, result.stderr)


def test_replies_from_a_file_print_the_whole_run(survey_file: Path, tmp_path: Path) -> None:
    replies = tmp_path / "replies.txt"
    replies.write_text("yes\nno\nthirty @0.3\nyes\n\n1\nignored\n", encoding="utf-8")

    result = voicesurvey(
        "try", str(survey_file), "--replies", str(replies), "--contact", "name=Anna"
    )

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "agent: Hello Anna.",
        "agent: Do you have two minutes?",
        "  (listening: consent: yes, no)",
    ]
    assert "  ↷ brand: not applicable, its ask_if does not hold" in lines
    assert "respondent: thirty (confidence 0.3)" in lines
    assert '  ? age: confirming, heard "thirty" with confidence 0.3: said back' in lines
    assert "respondent: (silence)" in lines and "respondent: keys 1" in lines
    assert "(the dialogue is over: replies after line 6 were not used)" in lines
    assert "outcome: completed" in lines
    assert "counts towards quotas: young" in lines
    assert "│ age      │ 30     │ thirty │ confirmed" in result.stdout


def test_replies_piped_on_stdin_are_played(survey_file: Path) -> None:
    result = voicesurvey("try", str(survey_file), "--language", "it-IT", stdin="sì\nsì\n")

    assert result.exit_code == 0, result.stderr
    assert "agent: Buongiorno ." in result.stdout
    assert "agent: Quale marca? Le opzioni sono: fiat o other." in result.stdout
    assert "waiting for the next reply at brand: Quale marca?" in result.stdout


def test_brackets_in_the_document_are_printed_as_written(survey_file: Path) -> None:
    result = voicesurvey("try", str(survey_file), stdin="yes\nyes\n")

    assert "agent: Which brand [make]? The options are: fiat or other." in result.stdout


def test_a_full_quota_shows_the_screen_out(survey_file: Path) -> None:
    result = voicesurvey("try", str(survey_file), "--full-quota", "young", stdin="yes\nno\n30\n")

    assert result.exit_code == 0, result.stderr
    assert "  ✗ age: screened out, quota 'young' is full" in result.stdout
    assert "outcome: screened_out (quota:young)" in result.stdout


def test_an_example_campaign_can_be_tried() -> None:
    result = voicesurvey("try", str(EXAMPLES / "campaign-en.yaml"), stdin="yes\n")

    assert result.exit_code == 0, result.stderr
    assert "waiting for the next reply at " in result.stdout


def test_a_json_document_can_be_tried(tmp_path: Path) -> None:
    path = tmp_path / "survey.json"
    path.write_text(json.dumps(campaign_document()), encoding="utf-8")

    result = voicesurvey("try", str(path), stdin="no\n")

    assert result.exit_code == 0, result.stderr
    assert "outcome: refused" in result.stdout


def test_a_survey_the_dialogue_cannot_read_is_one_line(tmp_path: Path) -> None:
    questions = [{**QUESTIONS[0], "ask_if": {"age": 1}}, QUESTIONS[2]]
    path = write_document(tmp_path / "bad.yaml", questions=questions)

    assert_one_line_error(voicesurvey("try", str(path)), "bad.yaml", "questions.0.ask_if.age")


def test_a_document_the_schema_refuses_is_one_line(tmp_path: Path) -> None:
    path = write_document(tmp_path / "bad.yaml", timezone="Mars/Olympus")

    assert_one_line_error(voicesurvey("try", str(path)), "bad.yaml", "timezone")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--full-quota", "old"), ("--full-quota", "'old'")),
        (("--contact", "Anna"), ("--contact Anna", "KEY=VALUE")),
        (("--replies", "missing.txt"), ("missing.txt", "No such file")),
    ],
)
def test_bad_options_are_one_line(
    survey_file: Path, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    assert_one_line_error(voicesurvey("try", str(survey_file), *args), *fragments)


def test_a_missing_document_is_one_line(tmp_path: Path) -> None:
    assert_one_line_error(voicesurvey("try", str(tmp_path / "nope.yaml")), "No such file")


def test_at_a_terminal_it_asks_for_each_reply_until_end_of_input(survey_file: Path) -> None:
    main, terminal = pty.openpty()
    command = [sys.executable, "-m", "app.cli", "try", str(survey_file)]
    env = {**os.environ, "COLUMNS": "200", "TERM": "dumb"}
    with subprocess.Popen(
        command, stdin=terminal, stdout=terminal, stderr=terminal, env=env
    ) as process:
        os.close(terminal)
        os.write(main, b"yes\n")
        os.write(main, b"\x04")  # Ctrl-D at the next prompt: end of input
        shown = _read_all(main)
        assert process.wait(timeout=30) == 0, shown
    os.close(main)

    assert "respondent" in shown and "agent: Own a car?" in shown
    assert "waiting for the next reply at owns_car: Own a car?" in shown
    assert "Traceback" not in shown


def test_ctrl_c_at_the_prompt_ends_cleanly_with_the_answers_so_far(survey_file: Path) -> None:
    main, terminal = pty.openpty()
    command = [sys.executable, "-m", "app.cli", "try", str(survey_file)]
    env = {**os.environ, "COLUMNS": "200", "TERM": "dumb"}
    with subprocess.Popen(
        command, stdin=terminal, stdout=terminal, stderr=terminal, env=env
    ) as process:
        os.close(terminal)
        os.write(main, b"yes\nno\n")
        # The third prompt: the age question, after the consent and the car questions.
        shown = _read_all(main, until=lambda shown: shown.count("respondent") == 3)
        process.send_signal(signal.SIGINT)
        shown += _read_all(main)
        assert process.wait(timeout=30) == 130, shown
    os.close(main)

    assert "│ owns_car │ false" in shown and "stopped" in shown
    assert "waiting for the next reply at age: How old are you?" in shown
    assert "Traceback" not in shown


def _read_all(fd: int, until: Callable[[str], bool] | None = None, timeout: float = 30) -> str:
    """What the terminal shows until `until` holds of it, or the process closes it."""
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        if until is not None and until(b"".join(chunks).decode(errors="replace")):
            break
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_replies_that_are_not_utf8_are_one_line(survey_file: Path) -> None:
    result = CliRunner().invoke(cli, ["try", str(survey_file)], input=b"yes\n\xff\xfe\n")

    assert_one_line_error(Result(result.exit_code, result.stdout, result.stderr), "line 2")


def test_brackets_in_a_bad_option_are_printed_as_written(survey_file: Path) -> None:
    result = voicesurvey("try", str(survey_file), "--contact", "[/bold]")

    assert_one_line_error(result, "--contact [/bold]: expected KEY=VALUE")
