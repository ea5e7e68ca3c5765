"""A reverse proxy for the tests: each request goes to the next host in turn, as a load
balancer in front of several service hosts would send it; a host that is down is skipped."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Sequence

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

# Hop-by-hop headers, and the host: the proxy speaks to each backend on its own connection.
_DROPPED = {"host", "connection", "keep-alive", "transfer-encoding", "content-length"}


class RoundRobinProxy:
    """An ASGI app relaying every request to one of `backends` (base URLs), in turn."""

    def __init__(self, backends: Sequence[str]) -> None:
        self.backends = list(backends)
        self.served: Counter[str] = Counter()  # requests each backend answered
        self._turns = itertools.count()
        self._lock = threading.Lock()
        # A new connection per request: a host that dies leaves no pooled connection behind.
        self._client = httpx.AsyncClient(
            timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _DROPPED]
        response = await self._relay(request, headers, body)
        await response(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _relay(
        self, request: Request, headers: list[tuple[str, str]], body: bytes
    ) -> Response:
        with self._lock:
            start = next(self._turns) % len(self.backends)
        order = self.backends[start:] + self.backends[:start]
        for backend in order:
            url = (
                backend + request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
            try:
                answer = await self._client.request(
                    request.method, url, headers=headers, content=body
                )
            except httpx.TransportError:
                continue  # that host is down: the next one takes the request
            self.served[backend] += 1
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _DROPPED}
            return Response(answer.content, answer.status_code, kept)
        return Response("no backend is up", 502)
