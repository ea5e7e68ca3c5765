"""Request bodies are capped as they stream in: 413 naming the limit, before any is parsed.

A declared Content-Length above the limit is refused before a byte is read; a body that grows
past it (chunked, or lying about its length) is cut off the moment it does. Either way the
application never holds more than the limit, whoever sent the request and whatever it claims
to be — webhooks are capped before their signature can even be checked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Twilio's webhooks are a few kilobytes; so is every other request without a limit of its own.
DEFAULT_MAX_BYTES = 64 << 10


@dataclass(frozen=True)
class BodyLimit:
    method: str
    path: re.Pattern[str]
    max_bytes: int


def route_limit(method: str, path: str, max_bytes: int) -> BodyLimit:
    """A limit for one route; `{name}` in the path stands for one path segment."""
    pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path))
    return BodyLimit(method, re.compile(f"^{pattern}$"), max_bytes)


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, limits: Sequence[BodyLimit] = (), default: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.app = app
        self.limits = tuple(limits)
        self.default = default

    def limit_for(self, method: str, path: str) -> int:
        for limit in self.limits:
            if limit.method == method and limit.path.match(path):
                return limit.max_bytes
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared == -1:
            await _refuse(scope, receive, send, 400, "Content-Length: not a whole number of bytes")
            return
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, 413, _too_large(limit))
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the application: its exception handling answers 413.
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, limited, send)


def _too_large(limit: int) -> str:
    return f"request body too large: at most {limit} bytes are accepted here"


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when absent, -1 when it is not a number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else -1
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    # Close the connection: the client may still be sending a body nobody will read.
    response = JSONResponse({"detail": detail}, status, headers={"connection": "close"})
    await response(scope, receive, send)
