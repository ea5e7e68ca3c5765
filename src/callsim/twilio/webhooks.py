"""Signed HTTP requests from the emulator to the application, as Twilio makes them.

`X-Twilio-Signature` is computed by `RequestValidator.compute_signature` itself: base64
HMAC-SHA1 keyed with the auth token over the full URL plus the POST parameters sorted by name.
For a GET the parameters ride in the query string and only the URL is signed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

USER_AGENT = "TwilioProxy/1.1"


@dataclass
class Delivery:
    """One HTTP request made and what came back; `status_code` None means no response."""

    url: str
    method: str
    params: dict[str, str]
    status_code: int | None = None
    body: str = ""
    error: str | None = None
    attempt: int = 1
    kind: str = "voice"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "url": self.url,
            "method": self.method,
            "params": self.params,
            "status_code": self.status_code,
            "error": self.error,
            "attempt": self.attempt,
            **self.extra,
        }


class WebhookSender:
    def __init__(self, auth_token: str, http: httpx.AsyncClient, timeout: float) -> None:
        self._validator = RequestValidator(auth_token)
        self._http = http
        self._timeout = timeout

    def sign(self, url: str, params: dict[str, str]) -> str:
        return str(self._validator.compute_signature(url, params))

    async def send(
        self, url: str, method: str, params: dict[str, str], *, times: int = 1, kind: str = "voice"
    ) -> list[Delivery]:
        """Make the request `times` times, identically (a retry carries the same token)."""
        token = uuid.uuid4().hex
        return [await self._once(url, method, params, token, n + 1, kind) for n in range(times)]

    async def _once(
        self, url: str, method: str, params: dict[str, str], token: str, attempt: int, kind: str
    ) -> Delivery:
        method = method.upper()
        delivery = Delivery(url, method, dict(params), attempt=attempt, kind=kind)
        headers = {"User-Agent": USER_AGENT, "I-Twilio-Idempotency-Token": token}
        try:
            if method == "GET":
                full = url + ("&" if "?" in url else "?") + urlencode(params)
                headers["X-Twilio-Signature"] = self.sign(full, {})
                response = await self._http.get(full, headers=headers, timeout=self._timeout)
            else:
                headers["X-Twilio-Signature"] = self.sign(url, params)
                response = await self._http.post(
                    url, data=params, headers=headers, timeout=self._timeout
                )
        except httpx.HTTPError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
            return delivery
        delivery.status_code = response.status_code
        delivery.body = response.text
        return delivery
