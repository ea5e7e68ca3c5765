"""Drive the voice webhook the way a provider does, in the mock provider's JSON dialect: each
answer goes to the URL the last reply said to listen at."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.telephony.callbacks import CallUrls


@dataclass
class Turn:
    body: str  # the reply as the service sent it

    @property
    def reply(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def says(self) -> list[str]:
        return [str(text) for text in self.reply["say"]]

    @property
    def text(self) -> str:
        return " ".join(self.says)

    @property
    def action(self) -> str | None:
        listen = self.reply["listen"]
        return None if listen is None else str(listen["next"])

    @property
    def hangs_up(self) -> bool:
        return self.reply["listen"] is None


@dataclass
class Conversation:
    """One respondent on one attempt; every answer goes to the last prompt's action URL."""

    client: httpx.AsyncClient
    attempt_id: int
    turns: list[Turn] = field(default_factory=list)

    async def answer_call(self, answered_by: str | None = None) -> Turn:
        url = CallUrls("http://127.0.0.1:8880").voice(self.attempt_id)
        return await self._post(url, {"answered_by": answered_by} if answered_by else {})

    async def say(self, text: str, confidence: float = 0.9) -> Turn:
        return await self._post(self._action(), {"speech": text, "confidence": confidence})

    async def press(self, digits: str) -> Turn:
        return await self._post(self._action(), {"digits": digits})

    async def silence(self) -> Turn:
        return await self._post(self._action(), {})

    async def replay_last(self) -> Turn:
        """Send the previous request again, as a provider retry would."""
        url, body = self._last_request
        return await self._post(url, body)

    def _action(self) -> str:
        action = self.turns[-1].action
        assert action is not None, f"the last turn does not listen: {self.turns[-1].body}"
        return action

    async def _post(self, url: str, body: dict[str, Any]) -> Turn:
        parts = urlsplit(url)
        self._last_request = (url, body)
        response = await self.client.post(f"{parts.path}?{parts.query}", json=body)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        turn = Turn(response.text)
        self.turns.append(turn)
        return turn
