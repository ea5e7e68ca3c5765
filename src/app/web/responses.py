"""The error answers each route documents in the OpenAPI schema, in one place.

Every refusal is `{"detail": "…"}` naming the field or the limit, except 422 for a request that
does not match its schema, which lists each problem as `{"type", "loc", "msg"}` (FastAPI's own
shape, documented by FastAPI itself).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorMessage(BaseModel):
    detail: str


_WHY = {
    400: "The request is malformed (a body that cannot be parsed, a bad Content-Length)",
    401: "Missing or wrong bearer token (a token is configured)",
    403: "Not allowed: no token is configured and the client is not on this machine, or a "
    "webhook failed authentication",
    404: "No such campaign",
    409: "Not allowed in the campaign's current status",
    413: "The request body is larger than this route accepts",
    415: "The body's content type is not one this route takes",
    422: "A field is invalid; the message names it",
    503: "The database is unavailable; try again",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: these codes, each with `{"detail": "…"}`."""
    return {code: {"model": ErrorMessage, "description": _WHY[code]} for code in codes}
