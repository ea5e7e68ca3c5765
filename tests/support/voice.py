"""Drive the voice webhook the way a provider does: follow each Gather's action URL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from app.scheduler.dispatch import CallUrls


@dataclass
class Turn:
    twiml: str

    @property
    def root(self) -> ET.Element:
        return ET.fromstring(self.twiml)

    @property
    def says(self) -> list[str]:
        return [e.text or "" for e in self.root.iter("Say")]

    @property
    def text(self) -> str:
        return " ".join(self.says)

    @property
    def action(self) -> str | None:
        gather = self.root.find("Gather")
        return None if gather is None else gather.get("action")

    @property
    def hangs_up(self) -> bool:
        return self.root.find("Hangup") is not None


@dataclass
class Conversation:
    """One respondent on one attempt; every answer goes to the last prompt's action URL."""

    client: httpx.AsyncClient
    attempt_id: int
    turns: list[Turn] = field(default_factory=list)

    async def answer_call(self, **params: str) -> Turn:
        url = CallUrls("http://127.0.0.1:8880").voice(self.attempt_id)
        return await self._post(url, params)

    async def say(self, text: str, confidence: str = "0.9") -> Turn:
        return await self._post(self._action(), {"SpeechResult": text, "Confidence": confidence})

    async def press(self, digits: str) -> Turn:
        return await self._post(self._action(), {"Digits": digits})

    async def silence(self) -> Turn:
        return await self._post(self._action(), {})

    async def replay_last(self) -> Turn:
        """Send the previous request again, as a provider retry would."""
        url, params = self._last_request
        return await self._post(url, params)

    def _action(self) -> str:
        action = self.turns[-1].action
        assert action is not None, f"the last turn does not listen: {self.turns[-1].twiml}"
        return action

    async def _post(self, url: str, params: dict[str, str]) -> Turn:
        parts = urlsplit(url)
        self._last_request = (url, params)
        response = await self.client.post(f"{parts.path}?{parts.query}", data=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        turn = Turn(response.text)
        self.turns.append(turn)
        return turn
