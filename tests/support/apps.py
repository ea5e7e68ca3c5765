"""The application started in the test's own event loop, seen from a client of one's choosing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx

from app.config import Settings
from app.main import create_app


@contextlib.asynccontextmanager
async def app_client(settings: Settings, client_host: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client on a freshly started app, whose socket peer is `client_host`."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=(client_host, 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield client
