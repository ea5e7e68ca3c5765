"""Follow-up calls through the webhooks' short path (app.calls.hotpath) and through the full
one: what they store must be the same."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.voice import VoiceReply
from app.telephony import router as webhooks
from tests.integration.test_followups import (
    ask_to_be_called_later_three_times,
    resume_after_a_silence,
)
from tests.integration.test_webhook_hot_path import _stored, again_on_the_full_path

Sessions = async_sessionmaker[AsyncSession]


async def test_call_me_later_with_no_attempt_left_is_stored_alike_by_both_paths(
    client: httpx.AsyncClient, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick_turn = webhooks.quick_turn
    short_replies: list[VoiceReply] = []

    async def counted_turn(*args: Any) -> Any:
        reply = await quick_turn(*args)
        if reply is not None:
            short_replies.append(reply)
        return reply

    monkeypatch.setattr(webhooks, "quick_turn", counted_turn)
    short_goodbyes = await ask_to_be_called_later_three_times(client, sessions)
    # The goodbye that books nothing has nothing the short path leaves to the full one.
    assert any(r.says and "non potremo" in r.says[-1] for r in short_replies)
    short = await _stored(sessions)

    await again_on_the_full_path(sessions, monkeypatch)
    full_goodbyes = await ask_to_be_called_later_three_times(client, sessions)
    full = await _stored(sessions)

    assert short_goodbyes == full_goodbyes
    assert short == full
    assert [a["outcome"] for a in short["attempts"]] == ["callback_requested"] * 3
    assert short["contacts"] == [("not_reached", 3)]


async def test_a_resumed_interview_with_a_question_to_ask_again_is_stored_alike_by_both_paths(
    client: httpx.AsyncClient, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    short_asked = await resume_after_a_silence(client, sessions)
    short = await _stored(sessions)

    await again_on_the_full_path(sessions, monkeypatch)
    full_asked = await resume_after_a_silence(client, sessions)
    full = await _stored(sessions)

    assert short_asked == full_asked
    assert short == full
    assert [r["superseded"] for r in short["responses"]] == [True, False]
