"""The dialogue state as stored in JSONB between webhook turns."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.dialogue import AnswerRecord, DialogueState, Phase, SkipReason, SurveyOutcome


def _busy_state() -> DialogueState:
    return DialogueState(
        phase=Phase.QUESTION,
        index=3,
        attempts=1,
        repeats=2,
        answers=(
            ("satisfaction", AnswerRecord(8, "otto", 0.91)),
            ("recommend", AnswerRecord(True, "sì", None)),
            ("channel", AnswerRecord(None, "blu", None, SkipReason.INVALID)),
            ("visits", AnswerRecord(2.5, "2,5", 0.4)),
        ),
        consent_given=True,
        outcome=None,
        turn=9,
    )


@pytest.mark.parametrize(
    "state",
    [
        DialogueState.initial(),
        _busy_state(),
        DialogueState(phase=Phase.DONE, outcome=SurveyOutcome.OPTED_OUT, turn=4),
        DialogueState(phase=Phase.DONE, outcome=None, turn=2),
    ],
)
def test_round_trip_through_json(state: DialogueState) -> None:
    stored = json.loads(json.dumps(state.to_dict()))

    assert DialogueState.from_dict(stored) == state


def test_answers_are_stored_as_an_ordered_list() -> None:
    stored = _busy_state().to_dict()

    assert [a["question_id"] for a in stored["answers"]] == [
        "satisfaction",
        "recommend",
        "channel",
        "visits",
    ]
    assert stored["answers"][2] == {
        "question_id": "channel",
        "value": None,
        "raw": "blu",
        "confidence": None,
        "skipped": "invalid",
    }


def test_answer_map_keeps_question_order() -> None:
    answers = _busy_state().answer_map

    assert list(answers) == ["satisfaction", "recommend", "channel", "visits"]
    assert answers["recommend"].value is True


def test_initial_state() -> None:
    state = DialogueState.initial()

    assert (state.phase, state.turn, state.answers, state.outcome) == (Phase.NEW, 0, (), None)
    assert state.consent_given is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 99}, "unsupported version"),
        ({"phase": "lost"}, "'lost' is not a valid Phase"),
        ({"turn": -1}, "turn must be a non-negative integer"),
        ({"index": "2"}, "index must be a non-negative integer"),
        ({"answers": None}, "malformed"),
        ({"outcome": "great"}, "'great' is not a valid SurveyOutcome"),
    ],
)
def test_rejects_a_state_it_did_not_write(change: dict[str, Any], message: str) -> None:
    stored = {**_busy_state().to_dict(), **change}

    with pytest.raises(ValueError, match=message):
        DialogueState.from_dict(stored)


def test_missing_key_is_reported() -> None:
    stored = _busy_state().to_dict()
    del stored["phase"]

    with pytest.raises(ValueError, match="malformed"):
        DialogueState.from_dict(stored)
