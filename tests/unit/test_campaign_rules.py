"""The campaign's contact rules in its document: retry_rules, dates, blackout dates, partials.

Checked as the API and the CLI read a document (JSON, or YAML with its unquoted dates), and the
scheduler's pure reading of the end of a campaign's dates.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.calls.policy import RULE_NAMES
from app.campaigns.schemas import CampaignDocument
from app.scheduler.ending import last_date_over
from app.web.bodies import load_yaml
from tests.support.factories import OMIT, call_window, campaign_document

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

RULES = {"busy": 15, "no_answer": [60, 240], "machine": 120, "partial": [30]}

YAML_RULES = """
retry_rules: {busy: 15, no_answer: [60, 240], machine: 120, partial: [30]}
not_before: 2026-10-01
not_after: 2026-12-31
resume_partials: false
call_window:
  start: "09:00"
  end: "20:00"
  days: [mon, tue, wed, thu, fri]
  blackout_dates: [2026-11-01, 2026-12-08, 2026-12-25, 2026-12-26]
"""


def validate(**overrides: Any) -> CampaignDocument:
    return CampaignDocument.model_validate(campaign_document(**overrides))


def refused_at(**overrides: Any) -> list[tuple[str | int, ...]]:
    with pytest.raises(ValidationError) as info:
        validate(**overrides)
    return [tuple(error["loc"]) for error in info.value.errors()]


def test_rules_are_read_and_stored_as_written() -> None:
    document = validate(
        retry_rules=RULES,
        not_before="2026-10-01",
        not_after="2026-12-31",
        resume_partials=False,
        call_window=call_window(blackout_dates=["2026-12-25", "2026-12-26"]),
    )

    assert document.retry_rules == RULES
    assert (document.not_before, document.not_after) == (date(2026, 10, 1), date(2026, 12, 31))
    assert document.resume_partials is False
    assert document.call_window.blackout_dates == [date(2026, 12, 25), date(2026, 12, 26)]
    stored = document.definition()
    assert stored["retry_rules"] == RULES
    assert (stored["not_before"], stored["not_after"]) == ("2026-10-01", "2026-12-31")
    assert stored["resume_partials"] is False
    assert stored["call_window"]["blackout_dates"] == ["2026-12-25", "2026-12-26"]
    assert json.loads(json.dumps(stored)) == stored


def test_every_outcome_a_rule_may_name_is_accepted() -> None:
    rules = {name: [minutes, 0] for minutes, name in enumerate(RULE_NAMES)}

    assert validate(retry_rules=rules).retry_rules == rules
    assert set(RULE_NAMES) >= {"busy", "no_answer", "machine", "failed", "provider_error"}
    assert "partial" in RULE_NAMES


def test_a_document_without_the_new_keys_is_stored_exactly_as_before() -> None:
    document = validate()

    assert document.retry_rules is None
    assert (document.not_before, document.not_after) == (None, None)
    assert document.resume_partials is True  # the default
    stored = document.definition()
    assert not {"retry_rules", "not_before", "not_after", "resume_partials"} & stored.keys()
    assert "blackout_dates" not in stored["call_window"]


@pytest.mark.parametrize("name", ["it", "en", "bilingual"])
def test_the_example_campaigns_are_still_valid(name: str) -> None:
    raw = load_yaml((EXAMPLES / f"campaign-{name}.yaml").read_text("utf-8"))

    assert CampaignDocument.model_validate(raw).resume_partials is True


@pytest.mark.parametrize("through", ["api", "cli"])
def test_yaml_dates_may_be_left_unquoted(through: str) -> None:
    base = campaign_document(call_window=OMIT)
    raw = load_yaml(YAML_RULES)
    if through == "api":
        # The API carries a YAML body on as JSON: its dates become strings.
        raw = json.loads(json.dumps(raw, default=str))

    document = CampaignDocument.model_validate({**base, **raw})

    assert document.retry_rules == RULES
    assert (document.not_before, document.not_after) == (date(2026, 10, 1), date(2026, 12, 31))
    assert document.resume_partials is False
    assert document.call_window.blackout_dates is not None
    assert date(2026, 12, 25) in document.call_window.blackout_dates
    assert document.definition()["call_window"]["blackout_dates"][0] == "2026-11-01"


BAD: list[tuple[str, dict[str, Any], tuple[str | int, ...]]] = [
    ("unknown outcome", {"retry_rules": {"busy": 5, "bored": 5}},
     ("retry_rules", "bored", "[key]")),
    ("final outcome", {"retry_rules": {"completed": 5}}, ("retry_rules", "completed", "[key]")),
    ("negative", {"retry_rules": {"busy": -1}}, ("retry_rules", "busy")),
    ("over 30 days", {"retry_rules": {"busy": 43_201}}, ("retry_rules", "busy")),
    ("text", {"retry_rules": {"busy": "15"}}, ("retry_rules", "busy")),
    ("a fraction", {"retry_rules": {"busy": 1.5}}, ("retry_rules", "busy")),
    ("a boolean", {"retry_rules": {"machine": True}}, ("retry_rules", "machine")),
    ("empty list", {"retry_rules": {"no_answer": []}}, ("retry_rules", "no_answer")),
    ("bad item", {"retry_rules": {"no_answer": [60, -5]}}, ("retry_rules", "no_answer")),
    ("21 delays", {"retry_rules": {"no_answer": [1] * 21}}, ("retry_rules", "no_answer")),
    ("not a map", {"retry_rules": [15]}, ("retry_rules",)),
    ("dates reversed", {"not_before": "2026-12-31", "not_after": "2026-10-01"}, ("not_after",)),
    ("not a date", {"not_after": "31/12/2026"}, ("not_after",)),
    ("no such date", {"not_before": "2026-02-30"}, ("not_before",)),
    ("a moment", {"not_before": "2026-10-01T09:00:00"}, ("not_before",)),
    ("a number", {"not_after": 20261231}, ("not_after",)),
    ("partials maybe", {"resume_partials": "maybe"}, ("resume_partials",)),
    ("blackout not a list", {"call_window": call_window(blackout_dates="2026-12-25")},
     ("call_window", "blackout_dates")),
    ("blackout bad date", {"call_window": call_window(blackout_dates=["2026-12-25", "Xmas"])},
     ("call_window", "blackout_dates", 1)),
    ("blackout too many", {"call_window": call_window(blackout_dates=["2026-12-25"] * 367)},
     ("call_window", "blackout_dates")),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "loc"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_rule_is_refused_at_its_path(
    overrides: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    assert loc in refused_at(**overrides)


def test_the_error_says_which_outcomes_rules_apply_to() -> None:
    with pytest.raises(ValidationError) as info:
        validate(retry_rules={"bored": 5})

    assert "busy, canceled, failed" in info.value.errors()[0]["msg"]


def test_one_day_campaign_is_valid() -> None:
    document = validate(not_before="2026-10-01", not_after="2026-10-01")

    assert document.not_before == document.not_after == date(2026, 10, 1)


# --- the end of a campaign's dates ----------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 2027-01-01 11:59 UTC is still 2026-12-31 23:59 at UTC-12: the 30th is the last over.
        (datetime(2027, 1, 1, 11, 59, 59, tzinfo=UTC), date(2026, 12, 30)),
        (datetime(2027, 1, 1, 12, 0, tzinfo=UTC), date(2026, 12, 31)),
        (datetime(2027, 1, 2, 11, 59, tzinfo=UTC), date(2026, 12, 31)),
        (datetime(2027, 1, 2, 12, 0, tzinfo=UTC), date(2027, 1, 1)),
        # The instant matters, not the offset it is written in.
        (datetime.fromisoformat("2027-01-01T13:00:00+01:00"), date(2026, 12, 31)),
        (datetime.fromisoformat("2027-01-01T12:59:00+01:00"), date(2026, 12, 30)),
    ],
)
def test_a_date_is_over_once_it_is_over_at_utc_minus_12(now: datetime, expected: date) -> None:
    assert last_date_over(now) == expected


def test_last_date_over_rejects_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        last_date_over(datetime(2027, 1, 1, 12, 0))
