"""Results API: a campaign's survey responses as JSON pages or one streamed CSV file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.campaigns.errors import NotFound
from app.reports.export import (
    ResponseLayout,
    count_responses,
    csv_chunks,
    iter_response_rows,
    response_layout,
)
from app.reports.schemas import QuestionColumn, ResponsePage
from app.web.deps import SessionDep, require_admin
from app.web.params import CampaignId, Offset
from app.web.responses import errors

DEFAULT_PAGE = 100


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
    """Survey responses, one row per call that got consent; `?format=csv` for a spreadsheet.

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
        rows = _stream_rows(request.app.state.sessions, campaign_id, layout, limit, offset)
        return StreamingResponse(
            csv_chunks(rows, layout=layout),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="campaign-{campaign_id}-responses.csv"'
                )
            },
        )
    return await _page(session, campaign_id, layout, limit or DEFAULT_PAGE, offset)


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
                text=q.question.text,
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
