"""A database outage answers 503 with one log line, not a traceback per request."""

from __future__ import annotations

import logging

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from app.logs import one_line

log = logging.getLogger(__name__)

_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
    TimeoutError,
)


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the database cannot be reached right now."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _UNAVAILABLE):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):
        # Twilio retries or falls back; the scheduler recovers what this request could not do.
        log.warning(
            "Database unavailable during %s %s: %s", request.method, request.url.path, one_line(exc)
        )
        return JSONResponse({"detail": "database unavailable, try again"}, status_code=503)
    log.error("Database error during %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(OSError, _database_error)
