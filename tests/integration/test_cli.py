"""The `voicesurvey` command line against a real database: happy paths and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Invoke, Result

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def assert_one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_create_import_and_steer_a_campaign(voicesurvey: Invoke) -> None:
    created = voicesurvey("campaign", "create", str(EXAMPLES / "campaign-it.yaml"))
    assert created.exit_code == 0, created.stderr
    assert "created campaign 1" in created.stdout

    imported = voicesurvey("contacts", "import", "1", str(EXAMPLES / "contacts-it.csv"))
    assert imported.exit_code == 0, imported.stderr
    assert "imported 50 contacts" in imported.stdout and "rejected 0" in imported.stdout

    for action, word in (("start", "started"), ("pause", "paused"), ("resume", "resumed")):
        changed = voicesurvey("campaign", action, "1")
        assert changed.exit_code == 0 and f"campaign 1 {word}" in changed.stdout

    listed = voicesurvey("campaign", "list")
    assert "Soddisfazione clienti Q4" in listed.stdout and "running" in listed.stdout
    shown = voicesurvey("campaign", "show", "1")
    assert "Europe/Rome" in shown.stdout and "09:00-20:00" in shown.stdout
    assert voicesurvey("campaign", "cancel", "1").exit_code == 0


def test_import_reports_each_bad_row(voicesurvey: Invoke, tmp_path: Path) -> None:
    voicesurvey("campaign", "create", str(EXAMPLES / "campaign-it.yaml"))
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "phone_number,name\n+390212345000,Ada\nnot a number,Bob\n+390212345000,Ada\n"
    )

    result = voicesurvey("contacts", "import", "1", str(contacts))

    assert result.exit_code == 0
    assert "imported 1 contacts" in result.stdout
    assert "row 2:" in result.stdout and "row 3: duplicate of row 1" in result.stdout


def test_missing_file_is_one_line(voicesurvey: Invoke, tmp_path: Path) -> None:
    result = voicesurvey("campaign", "create", str(tmp_path / "nope.yaml"))

    assert_one_line_error(result, "nope.yaml", "No such file")


def test_invalid_document_names_the_field(voicesurvey: Invoke, tmp_path: Path) -> None:
    document = (EXAMPLES / "campaign-it.yaml").read_text().replace("type: scale", "type: slider")
    path = tmp_path / "bad.yaml"
    path.write_text(document)

    assert_one_line_error(voicesurvey("campaign", "create", str(path)), "questions.0")


def test_csv_without_phone_numbers_is_one_line_and_imports_nothing(
    voicesurvey: Invoke, tmp_path: Path
) -> None:
    voicesurvey("campaign", "create", str(EXAMPLES / "campaign-it.yaml"))
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("name,city\nAda,Roma\n")

    assert_one_line_error(voicesurvey("contacts", "import", "1", str(contacts)), "phone_number")
    shown = voicesurvey("campaign", "show", "1")
    assert "│ contacts" in shown.stdout and "│ 0" in shown.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("campaign", "show", "999"),
        ("campaign", "start", "999"),
        ("contacts", "import", "999", str(EXAMPLES / "contacts-it.csv")),
    ],
)
def test_unknown_campaign_is_one_line(voicesurvey: Invoke, args: tuple[str, ...]) -> None:
    assert_one_line_error(voicesurvey(*args), "campaign 999 not found")


def test_starting_twice_is_refused_in_one_line(voicesurvey: Invoke) -> None:
    voicesurvey("campaign", "create", str(EXAMPLES / "campaign-it.yaml"))
    voicesurvey("contacts", "import", "1", str(EXAMPLES / "contacts-it.csv"))
    voicesurvey("campaign", "start", "1")

    assert_one_line_error(voicesurvey("campaign", "start", "1"), "running")
