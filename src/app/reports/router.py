"""Results API: a campaign's survey responses and its audit trail, as JSON or streamed CSV."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.campaigns.errors import NotFound
from app.db.base import BIGINT_MAX
from app.dialogue.texts import render_markers
from app.reports.audit import COLUMNS as AUDIT_COLUMNS
from app.reports.audit import audit_rows, check_campaign, csv_detail
from app.reports.export import (
    ResponseLayout,
    count_responses,
    csv_cell,
    csv_chunks,
    iter_response_rows,
    response_layout,
)
from app.reports.schemas import AuditPage, QuestionColumn, ResponsePage
from app.web.deps import SessionDep, require_admin
from app.web.params import CampaignId, Offset
from app.web.responses import errors

DEFAULT_PAGE = 100
AUDIT_JSON_ROWS = 10_000
CSV_CHUNK_BYTES = 64 * 1024


class ResponseFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


router = APIRouter(
    prefix="/api",
    tags=["reports"],
    dependencies=[Depends(require_admin)],
    responses=errors(401, 403, 503),
)


@router.get(
    "/campaigns/{campaign_id}/responses",
    response_model=ResponsePage,
    responses={200: {"content": {"text/csv": {}}}, **errors(404)},
)
async def list_responses(
    campaign_id: CampaignId,
    request: Request,
    session: SessionDep,
    output: Annotated[ResponseFormat, Query(alias="format")] = ResponseFormat.JSON,
    include_phone: bool = False,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    offset: Offset = 0,
) -> ResponsePage | StreamingResponse:
    """Survey responses, one row per interview, and one per contact with an appointment but no
    interview yet; `?format=csv` for a spreadsheet.

    Phone numbers are masked (last three digits) unless `include_phone=true`. JSON is paged
    (`limit`, default 100); CSV holds every response unless `limit` is given.
    """
    try:
        layout = await response_layout(
            session=session, campaign_id=campaign_id, include_phone=include_phone
        )
    except NotFound as exc:
        raise HTTPException(404, exc.message) from None
    if output is ResponseFormat.CSV:
        await session.close()  # the stream reads on a session of its own
        return responses_csv(request.app.state.sessions, campaign_id, layout, limit, offset)
    return await _page(session, campaign_id, layout, limit or DEFAULT_PAGE, offset)


def responses_csv(
    sessions: async_sessionmaker[AsyncSession],
    campaign_id: int,
    layout: ResponseLayout,
    limit: int | None = None,
    offset: int = 0,
) -> StreamingResponse:
    """The campaign's responses as a CSV download, read as it is sent (the API's and the
    console's "Download CSV")."""
    rows = _stream_rows(sessions, campaign_id, layout, limit, offset)
    return StreamingResponse(
        csv_chunks(rows, layout=layout),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="campaign-{campaign_id}-responses.csv"'
        },
    )


async def _page(
    session: AsyncSession, campaign_id: int, layout: ResponseLayout, limit: int, offset: int
) -> ResponsePage:
    rows = iter_response_rows(
        session=session,
        campaign_id=campaign_id,
        include_phone=layout.include_phone,
        limit=limit,
        offset=offset,
    )
    return ResponsePage(
        items=[row async for row in rows],
        questions=[
            QuestionColumn(
                id=q.question.id,
                type=q.question.type,
                text=render_markers(q.question.text),
                column=q.value,
                skipped_column=q.skipped,
            )
            for q in layout.questions
        ],
        total=await count_responses(session=session, campaign_id=campaign_id),
        limit=limit,
        offset=offset,
    )


async def _stream_rows(
    sessions: async_sessionmaker[AsyncSession],
    campaign_id: int,
    layout: ResponseLayout,
    limit: int | None,
    offset: int,
) -> AsyncIterator[dict[str, object]]:
    # The request's session may be closed before the body is sent; this one lives with the stream.
    async with sessions() as session:
        rows = iter_response_rows(
            session=session,
            campaign_id=campaign_id,
            include_phone=layout.include_phone,
            limit=limit,
            offset=offset,
        )
        async for row in rows:
            yield row


@router.get(
    "/campaigns/{campaign_id}/audit",
    response_model=AuditPage,
    responses={200: {"content": {"text/csv": {}}}, **errors(404)},
)
async def campaign_audit(
    campaign_id: CampaignId,
    request: Request,
    session: SessionDep,
    contact_id: Annotated[int | None, Query(ge=1, le=BIGINT_MAX)] = None,
    output: Annotated[ResponseFormat, Query(alias="format")] = ResponseFormat.JSON,
) -> AuditPage | StreamingResponse:
    """The audit trail of the campaign's contacts (or one, `contact_id`): each dial with its local
    time per time zone, the window rule that allowed it and the do-not-call check; consent with
    the words heard and their confidence; opt-outs, appointments, voicemail, erasure.

    JSON holds at most 10,000 rows (`truncated` says when there are more: use `?format=csv`,
    which streams them all).
    """
    try:
        await check_campaign(session, campaign_id)
    except NotFound as exc:
        raise HTTPException(404, exc.message) from None
    if output is ResponseFormat.CSV:
        await session.close()  # the stream reads on a session of its own
        chunks = _audit_csv(request.app.state.sessions, campaign_id, contact_id)
        return StreamingResponse(
            chunks,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="campaign-{campaign_id}-audit.csv"'
            },
        )
    items: list[dict[str, Any]] = []
    async for row in audit_rows(session=session, campaign_id=campaign_id, contact_id=contact_id):
        if len(items) == AUDIT_JSON_ROWS:
            return AuditPage(items=items, truncated=True)
        items.append(row)
    return AuditPage(items=items, truncated=False)


async def _audit_csv(
    sessions: async_sessionmaker[AsyncSession], campaign_id: int, contact_id: int | None
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(AUDIT_COLUMNS)
    yield codecs.BOM_UTF8 + _take(buffer)
    async with sessions() as session:
        rows = audit_rows(session=session, campaign_id=campaign_id, contact_id=contact_id)
        async for row in rows:
            cells = [*(row[c] for c in AUDIT_COLUMNS[:-1]), csv_detail(row["detail"])]
            writer.writerow([csv_cell(cell) for cell in cells])
            if buffer.tell() > CSV_CHUNK_BYTES:
                yield _take(buffer)
    yield _take(buffer)


def _take(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data
