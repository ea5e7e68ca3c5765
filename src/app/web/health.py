"""Liveness and readiness (open to anyone, and saying nothing about the data), and Prometheus
metrics (a token, or local clients only)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text

from app import metrics
from app.db.migrate import current_revision, head_revision
from app.logs import one_line
from app.web.deps import require_metrics_reader
from app.web.responses import errors

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "The database is unreachable or not at the latest migration"}},
)
async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the latest migration."""
    engine = request.app.state.engine
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        revision = await current_revision(engine)
    except Exception as exc:
        # The error's type only: its text may name hosts, users or databases.
        log.warning("Readiness probe: database unavailable: %s", one_line(exc))
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, 503)
    head = head_revision()
    if revision != head:
        body = {"status": "unavailable", "migrations": f"at {revision}, head is {head}"}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok", "migrations": revision})


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    dependencies=[Depends(require_metrics_reader)],
    responses=errors(401, 403),
)
def prometheus_metrics() -> Response:
    """Prometheus metrics in the text format; see app.metrics for several workers."""
    # A plain def: in multi-process mode the scrape reads files, off the event loop.
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
