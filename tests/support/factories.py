"""Small factories of API inputs, valid by default; keyword arguments override one part."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import httpx

OMIT: Any = object()  # pass as an override to leave a key out of the document

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat"]


def question(**overrides: Any) -> dict[str, Any]:
    """A yes/no question unless overridden."""
    return _merge({"id": "recommend", "type": "yes_no", "text": "Ci consiglierebbe?"}, overrides)


def script(**overrides: Any) -> dict[str, Any]:
    base = {
        "intro": "Buongiorno, sono l'assistente automatico di ACME.",
        "consent": "Ha due minuti per tre brevi domande? Risponda sì o no.",
        "refused": "Nessun problema. Grazie e buona giornata.",
        "closing": "Grazie per il suo tempo. Arrivederci.",
    }
    return _merge(base, overrides)


def call_window(**overrides: Any) -> dict[str, Any]:
    return _merge({"start": "09:00", "end": "20:00", "days": WEEKDAYS}, overrides)


def campaign_document(**overrides: Any) -> dict[str, Any]:
    """The SPEC's example campaign document as a dict."""
    base = {
        "name": "Soddisfazione clienti Q4",
        "language": "it-IT",
        "caller_id": "+390212345678",
        "timezone": "Europe/Rome",
        "call_window": call_window(),
        "max_attempts": 3,
        "retry_after_minutes": [60, 240],
        "max_concurrent_calls": 10,
        "script": script(),
        "questions": [
            question(
                id="satisfaction",
                type="scale",
                text="Da 1 a 10, quanto è soddisfatto?",
                min=1,
                max=10,
            ),
            question(),
            question(
                id="channel",
                type="choice",
                text="Preferisce telefono, email o negozio?",
                choices=["telefono", "email", "negozio"],
            ),
            question(
                id="comment", type="free_text", text="Cosa potremmo migliorare?", required=False
            ),
        ],
    }
    return _merge(base, overrides)


def csv_body(columns: Sequence[str], *rows: Sequence[str]) -> str:
    """CSV text with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


async def create_campaign(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    """Create a campaign through the API; return its JSON."""
    response = await client.post("/api/campaigns", json=campaign_document(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def import_csv(client: httpx.AsyncClient, campaign_id: int, text: str) -> httpx.Response:
    return await client.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=text.encode(),
        headers={"content-type": "text/csv"},
    )


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **overrides}
    return {key: value for key, value in merged.items() if value is not OMIT}
