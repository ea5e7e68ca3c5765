"""What the voice turn no longer redoes on every request: reading the survey, pinging the pool."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import DisconnectionError

from app.calls import voice
from app.campaigns.models import Campaign
from app.db.engine import _replace_if_closed
from app.dialogue import InvalidSurvey


def document(intro: str = "Buongiorno.") -> dict[str, Any]:
    return {
        "language": "it-IT",
        "script": {"intro": intro, "consent": "Ha due minuti?", "refused": "No.", "closing": "Ok."},
        "questions": [{"id": "q1", "type": "yes_no", "text": "Ci consiglierebbe?"}],
    }


def test_a_campaigns_survey_is_read_once_while_its_document_is_the_same() -> None:
    campaign = Campaign(id=987_001, definition=document())

    first = voice.survey_of(campaign)

    assert voice.survey_of(Campaign(id=987_001, definition=document())) is first


def test_a_document_changed_in_the_database_is_read_anew() -> None:
    before = voice.survey_of(Campaign(id=987_002, definition=document()))

    after = voice.survey_of(Campaign(id=987_002, definition=document(intro="Salve.")))

    assert after is not before and after != before


def test_an_unusable_document_is_not_kept() -> None:
    with pytest.raises(InvalidSurvey):
        voice.survey_of(Campaign(id=987_003, definition={}))

    assert 987_003 not in voice._SURVEYS


class _Driver:
    def __init__(self, closed: bool) -> None:
        self.closed = closed

    def is_closed(self) -> bool:
        return self.closed


class _Adapted:
    def __init__(self, closed: bool) -> None:
        self.driver_connection = _Driver(closed)


def test_a_pooled_connection_the_server_closed_is_not_handed_out() -> None:
    _replace_if_closed(_Adapted(closed=False), None, None)  # type: ignore[arg-type]

    with pytest.raises(DisconnectionError):
        _replace_if_closed(_Adapted(closed=True), None, None)  # type: ignore[arg-type]
