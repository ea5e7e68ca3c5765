"""Do-not-call and erasure API: parse the request, call a service, map its errors to HTTP."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from app.campaigns.errors import CampaignError
from app.campaigns.router import error_response
from app.campaigns.uploads import CSV_TYPES, JSON_TYPES
from app.suppression import erasure, service
from app.suppression.numbers import MAX_NUMBER_CHARS
from app.suppression.schemas import (
    DEFAULT_REASON,
    DoNotCallPage,
    DoNotCallReport,
    DoNotCallUpload,
    ErasureReport,
    Reason,
    Region,
    Source,
)
from app.web.bodies import media_type
from app.web.deps import SessionDep, require_admin
from app.web.responses import ErrorMessage, errors

# Ten million numbers of a national register are about 150 MB as a plain list; the body is read
# as it arrives, so memory does not grow with it.
IMPORT_MAX_BYTES = 256 << 20
# A JSON body is parsed whole, into objects several times its size: a large list goes as CSV.
JSON_MAX_BYTES = 16 << 20
LIST_TYPES = CSV_TYPES | {"text/plain"}

Number = Annotated[
    str, Path(max_length=MAX_NUMBER_CHARS, description="A phone number, international format")
]
Cursor = Annotated[
    str | None,
    Query(max_length=80, pattern=r"^[^\x00]*$", description="`next` of the previous page"),
]
Search = Annotated[
    str | None,
    Query(max_length=80, description="A number (+39021234567) or its first digits (+3902)"),
]


class SuppressionRoute(APIRoute):
    """A route that answers the services' errors with their status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except CampaignError as exc:
                return error_response(exc)

        return route


def _why(code: int, description: str) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorMessage, "description": description}}


router = APIRouter(
    prefix="/api",
    tags=["do-not-call"],
    dependencies=[Depends(require_admin)],
    route_class=SuppressionRoute,
    responses=errors(401, 403, 503),
)

_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DoNotCallUpload.model_json_schema()},
            # Any text: each line is checked on its own, and one that is not a number is
            # rejected with its row number while the rest are listed.
            **{
                kind: {
                    "schema": {
                        "description": "One number per line, or CSV whose header names a "
                        "phone_number column; rows that are not numbers are reported alone",
                    }
                }
                for kind in sorted(LIST_TYPES)
            },
        },
    }
}


@router.post(
    "/do-not-call",
    responses=errors(400, 413, 415),
    max_body_size=IMPORT_MAX_BYTES,
    openapi_extra=_UPLOAD_DOC,
)
async def import_do_not_call(
    request: Request,
    session: SessionDep,
    source: Annotated[Source, Query(description="Where the list comes from")] = "api",
    reason: Annotated[Reason, Query(description="Why these numbers are listed")] = DEFAULT_REASON,
    region: Annotated[
        Region | None, Query(description="Region for numbers written without +country")
    ] = None,
) -> DoNotCallReport:
    """List numbers (a plain list or CSV, read as it arrives; or JSON) in one transaction."""
    kind = media_type(request)
    if kind in JSON_TYPES:
        upload = _upload(await _capped(request, JSON_MAX_BYTES))
        return await service.import_numbers(
            session=session,
            numbers=upload.numbers,
            source=upload.source or source,
            reason=upload.reason or reason,
            region=upload.region or region,
        )
    if kind not in LIST_TYPES:
        raise HTTPException(415, "send the numbers as text/csv, text/plain or application/json")
    try:
        return await service.import_list(
            session=session, body=request.stream(), source=source, reason=reason, region=region
        )
    except ClientDisconnect:
        # Nothing was committed. The client is gone: this answer only keeps the log quiet.
        raise HTTPException(400, "the upload stopped before the body was complete") from None


async def _capped(request: Request, cap: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise HTTPException(
                413,
                f"request body too large: at most {cap} bytes of JSON are accepted here "
                "(send a large list as text/csv)",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _upload(raw: bytes) -> DoNotCallUpload:
    try:
        return DoNotCallUpload.model_validate_json(raw)
    except ValidationError as exc:
        problems = [
            {"type": e["type"], "loc": ("body", *e["loc"]), "msg": e["msg"]} for e in exc.errors()
        ]
        raise RequestValidationError(problems) from None


@router.get("/do-not-call")
async def list_do_not_call(
    session: SessionDep,
    search: Search = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Cursor = None,
) -> DoNotCallPage:
    """The list in number order, a page at a time; `search` finds a number or a prefix."""
    return await service.list_entries(session=session, search=search, limit=limit, after=after)


@router.delete(
    "/do-not-call/{number}",
    status_code=204,
    responses={
        **_why(404, "The number is not on the list"),
        **_why(409, "The person asked to be forgotten: the number stays listed, as a hash"),
    },
)
async def remove_do_not_call(number: Number, session: SessionDep) -> Response:
    """Take a number off the do-not-call list."""
    await service.remove(session=session, number=number)
    return Response(status_code=204)


@router.delete(
    "/contacts/by-phone/{number}",
    responses={
        **_why(409, "A call to this number is in progress; try again once it has ended"),
    },
)
async def forget_contact(number: Number, session: SessionDep) -> ErasureReport:
    """Erase a person from every campaign; their number stays suppressed, as a hash only."""
    return await erasure.forget(session=session, number=number)
