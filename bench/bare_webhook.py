"""The bare webhook baseline: `uvicorn bare_webhook:app`, what any webhook costs at the least.

Not part of the product. One FastAPI route that does what every voice turn must do and nothing
more: read a Twilio-style form, one PostgreSQL round trip (UPDATE … RETURNING by primary key on
the project's own `call_attempts`, through an asyncpg pool of the service's size) and a small
TwiML answer. `turn_latency_bench.py` runs it under the same uvicorn, with the same workers and
the same clients as the service, and prints the service's throughput as a share of this one.

Reads BARE_DATABASE_URL (a postgresql:// URL) and BARE_POOL_SIZE (default 20: the service's
DB_POOL_SIZE 10 plus as many overflow connections).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

import asyncpg
from fastapi import FastAPI, Request, Response

_TOUCH = """
UPDATE call_attempts SET last_event_at = now() WHERE id = $1 RETURNING id, status
"""
_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="speech dtmf" '
    'action="{action}" language="it-IT"><Say voice="Polly.Bianca">{status}</Say></Gather>'
    "</Response>"
)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    size = int(os.environ.get("BARE_POOL_SIZE", "20"))
    pool = await asyncpg.create_pool(
        os.environ["BARE_DATABASE_URL"], min_size=1, max_size=size, statement_cache_size=100
    )
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


@app.post("/bare/voice")
async def voice(request: Request) -> Response:
    form = await request.form()
    attempt_id = int(request.query_params["attempt_id"])
    pool: asyncpg.Pool = request.app.state.pool
    row = await pool.fetchrow(_TOUCH, attempt_id)
    if row is None:
        return Response(status_code=404)
    action = f"/bare/voice?attempt_id={attempt_id}&amp;turn={len(form)}"
    body = _TWIML.format(action=action, status=row["status"])
    return Response(body, media_type="application/xml")


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ready"}
