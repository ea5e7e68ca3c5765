"""A tiny ASGI app for `uvicorn tests.support.log_raising_app:app`: every request fails.

The request's query string (phone numbers, in the tests) ends up in the messages of a chain of
exceptions that escape the app, so uvicorn logs "Exception in ASGI application" with a
traceback holding them. Logging is set up at start-up by the product's own configure_logging
from LOG_LEVEL and LOG_FORMAT, as app.main does: the traceback must come out masked.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from app.config import get_settings
from app.logs import configure_logging


class LookupFailed(Exception):
    """What the app raises: its message echoes the request."""


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    echoed = unquote_plus(scope["query_string"].decode("ascii"))
    try:
        raise KeyError(f"no contact with {echoed}")
    except KeyError as exc:
        raise LookupFailed(f"cannot call {echoed}") from exc


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            settings = get_settings()
            configure_logging(settings.log_level, settings.log_format)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
