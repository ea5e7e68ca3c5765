"""A results webhook receiver for the tests: a real HTTP server on 127.0.0.1 (uvicorn in a
thread) that answers as told and records every request it gets, headers and exact body."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.deliveries.signing import ATTEMPT_HEADER, DELIVERY_HEADER, SIGNATURE_HEADER, verify
from tests.support.twilio_emulator import serve

OK = "ok"  # 200
FAIL = "fail"  # 500
HANG = "hang"  # answer 200 only after `hang_seconds`, when the sender has given up
HOLD = "hold"  # answer only once the mode changes (or after a minute)


@dataclass(frozen=True)
class Received:
    key: str | None
    attempt: str | None
    signature: str | None
    content_type: str | None
    body: bytes
    behaviour: str  # how it was answered
    at: float  # time.monotonic() on arrival

    def verifies(self, secret: bytes) -> bool:
        return verify(secret, self.body, self.signature)


class Receiver:
    """Answers each request by the next behaviour of `script`, then by `mode`."""

    def __init__(self, script: Iterable[str] = (), mode: str = OK, hang_seconds: float = 2.0):
        self.mode = mode
        self.hang_seconds = hang_seconds
        self._script = deque(script)
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self.in_flight = 0

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def keys(self, *behaviours: str) -> set[str]:
        """Delivery keys of the requests answered with one of `behaviours` (any if none)."""
        return {
            r.key for r in self.requests if r.key and (not behaviours or r.behaviour in behaviours)
        }

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Serve until the block ends; yields the URL to give a campaign."""
        with serve(Starlette(routes=[Route("/results", self._hook, methods=["POST"])])) as base:
            yield f"{base}/results"

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            behaviour = self._script.popleft() if self._script else self.mode
            headers = request.headers
            self._requests.append(
                Received(
                    headers.get(DELIVERY_HEADER),
                    headers.get(ATTEMPT_HEADER),
                    headers.get(SIGNATURE_HEADER),
                    headers.get("content-type"),
                    body,
                    behaviour,
                    time.monotonic(),
                )
            )
        if behaviour == FAIL:
            return Response("receiver down", status_code=500)
        if behaviour in (HANG, HOLD):
            await self._wait(behaviour)
        return Response(status_code=200)

    async def _wait(self, behaviour: str) -> None:
        self.in_flight += 1
        try:
            deadline = time.monotonic() + (self.hang_seconds if behaviour == HANG else 60)
            while True:
                if time.monotonic() > deadline or (behaviour == HOLD and self.mode != HOLD):
                    return
                await asyncio.sleep(0.02)
        finally:
            self.in_flight -= 1
