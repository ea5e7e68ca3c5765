"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text

from app import metrics
from app.db.migrate import current_revision, head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the latest migration."""
    engine = request.app.state.engine
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        revision = await current_revision(engine)
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "database": str(exc)}, status_code=503)
    head = head_revision()
    if revision != head:
        body = {"status": "unavailable", "migrations": f"at {revision}, head is {head}"}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok", "migrations": revision})


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus_metrics() -> Response:
    """Prometheus metrics in the text format; see app.metrics for several workers."""
    # A plain def: in multi-process mode the scrape reads files, off the event loop.
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
