"""How failures are answered: a database outage with 503 and one log line, not a traceback per
request; invalid input with 422 naming each field, without echoing the input back."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from app.db.raw import NOT_GONE, SERVER_GONE, StrayTransaction
from app.logs import one_line

log = logging.getLogger(__name__)

# What says the server connection is gone (app.db.raw: shutdowns, a connection ended while it
# sat in the pool...), what says the server cannot be reached, and a pool whose connections each
# had a stray transaction (each was discarded: the next try gets a clean one). A client-side
# DataError is a bug, not an outage: checked first, wherever it is in the chain.
_UNAVAILABLE = (*SERVER_GONE, ConnectionError, TimeoutError, StrayTransaction)
_NOT_UNAVAILABLE = NOT_GONE


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) says the database cannot be reached right now."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _NOT_UNAVAILABLE):
            return False
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


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": [_plain(error) for error in exc.errors()]}, status_code=422)


def _plain(error: Any) -> dict[str, Any]:
    """An error as type, location and message only.

    FastAPI's default answer echoes the offending input: that can be megabytes, nested past any
    encoder's depth, or NaN, which JSON cannot carry, and the 422 would become a 500.
    """
    loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
    return {"type": str(error.get("type", "value_error")), "loc": loc, "msg": str(error["msg"])}


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(OSError, _database_error)
    # The webhooks' hot path (app.calls.hotpath) talks to asyncpg without SQLAlchemy.
    app.add_exception_handler(asyncpg.PostgresError, _database_error)
    app.add_exception_handler(asyncpg.InterfaceError, _database_error)
    app.add_exception_handler(asyncpg.InternalClientError, _database_error)
    app.add_exception_handler(StrayTransaction, _database_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
