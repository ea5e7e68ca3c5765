"""Campaign and contact admin API: parse the request, call a service, map its errors to HTTP."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect

from app.campaigns import service
from app.campaigns.errors import CampaignError, Conflict, InvalidInput, NotFound
from app.campaigns.models import Campaign, CampaignStatus
from app.campaigns.schemas import (
    CampaignDetail,
    CampaignDocument,
    CampaignSummary,
    ImportReport,
)
from app.campaigns.uploads import CSV_TYPES, JSON_TYPES
from app.reports.schemas import CampaignReport
from app.reports.service import campaign_report
from app.web.bodies import YAML_TYPES, media_type, yaml_as_json
from app.web.deps import SessionDep, require_admin
from app.web.params import CampaignId, Offset
from app.web.responses import errors

DOCUMENT_MAX_BYTES = 1 << 20
# About two million contacts of a few columns each. Imports read the body as it arrives, so
# their memory does not grow with it (YAML bodies excepted: they are parsed whole).
IMPORT_MAX_BYTES = 128 << 20

ERROR_STATUS: dict[type[CampaignError], int] = {NotFound: 404, Conflict: 409, InvalidInput: 422}


class CampaignsRoute(APIRoute):
    """A route that also takes YAML bodies and answers campaign errors with their status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(await yaml_as_json(request))
            except CampaignError as exc:
                return error_response(exc)

        return route


def error_response(exc: CampaignError) -> JSONResponse:
    """The HTTP answer to a refused request; a 422 has the same shape as FastAPI's own."""
    status = next(code for kind, code in ERROR_STATUS.items() if isinstance(exc, kind))
    if isinstance(exc, InvalidInput):
        loc = list(exc.loc) or ["body"]
        return JSONResponse(
            {"detail": [{"type": "value_error", "loc": loc, "msg": exc.message}]}, status
        )
    return JSONResponse({"detail": exc.message}, status)


router = APIRouter(
    prefix="/api",
    tags=["campaigns"],
    dependencies=[Depends(require_admin)],
    route_class=CampaignsRoute,
    responses=errors(401, 403, 503),
)


def _body_doc(schema: dict[str, Any], *media_types: str) -> dict[str, Any]:
    content = {kind: {"schema": schema} for kind in media_types}
    return {"requestBody": {"required": True, "content": content}}


_DOCUMENT_SCHEMA = {"$ref": "#/components/schemas/CampaignDocument"}
# A list of anything: each row is checked on its own, and one that is not a contact (not an
# object, no phone_number, a field that is not text) is rejected with its row number while the
# rest are imported. Only a body that is not a list is refused whole.
_CONTACTS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "description": "A contact: phone_number (required), external_id, timezone, name; any "
        "other field is kept as an attribute. A row that is not a contact is rejected alone.",
        "properties": {
            name: {"description": f"{name} (text)"}
            for name in ("phone_number", "external_id", "timezone", "name")
        },
    },
}


@router.post(
    "/campaigns",
    status_code=201,
    responses=errors(400, 413),
    max_body_size=DOCUMENT_MAX_BYTES,
    openapi_extra=_body_doc(_DOCUMENT_SCHEMA, *sorted(YAML_TYPES)),
)
async def create_campaign(document: CampaignDocument, session: SessionDep) -> CampaignDetail:
    """Create a draft campaign from a campaign document (JSON or YAML)."""
    campaign = await service.create_campaign(session=session, document=document)
    return _detail(campaign, contacts_total=0)


@router.get("/campaigns")
async def list_campaigns(
    session: SessionDep,
    status: CampaignStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[CampaignSummary]:
    """List campaigns, newest first, with their number of contacts."""
    rows = await service.list_campaigns(session=session, status=status, limit=limit, offset=offset)
    return [_summary(campaign, contacts_total=total) for campaign, total in rows]


@router.get("/campaigns/{campaign_id}", responses=errors(404))
async def get_campaign(campaign_id: CampaignId, session: SessionDep) -> CampaignDetail:
    """Read one campaign, its full document included."""
    campaign, total = await service.get_campaign(session=session, campaign_id=campaign_id)
    return _detail(campaign, contacts_total=total)


@router.post(
    "/campaigns/{campaign_id}/contacts",
    responses=errors(400, 404, 409, 413, 415),
    max_body_size=IMPORT_MAX_BYTES,
    openapi_extra=_body_doc(_CONTACTS_SCHEMA, "application/json", "text/csv", *sorted(YAML_TYPES)),
)
async def import_contacts(
    campaign_id: CampaignId, request: Request, session: SessionDep
) -> ImportReport:
    """Import contacts (CSV with a header, or a JSON list) in one transaction, as they arrive."""
    kind = media_type(request)
    if kind not in CSV_TYPES | JSON_TYPES:
        raise HTTPException(415, "send the contacts as text/csv or application/json")
    try:
        return await service.import_contacts(
            session=session, campaign_id=campaign_id, body=request.stream(), media_type=kind
        )
    except ClientDisconnect:
        # Nothing was committed. The client is gone: this answer only keeps the log quiet.
        raise HTTPException(400, "the upload stopped before the body was complete") from None


async def _change_status(session: SessionDep, campaign_id: int, action: str) -> CampaignDetail:
    await service.change_status(session=session, campaign_id=campaign_id, action=action)
    campaign, total = await service.get_campaign(session=session, campaign_id=campaign_id)
    return _detail(campaign, contacts_total=total)


@router.post("/campaigns/{campaign_id}/start", responses=errors(404, 409))
async def start_campaign(campaign_id: CampaignId, session: SessionDep) -> CampaignDetail:
    """Start a draft campaign that has contacts: the scheduler begins calling."""
    return await _change_status(session, campaign_id, "start")


@router.post("/campaigns/{campaign_id}/pause", responses=errors(404, 409))
async def pause_campaign(campaign_id: CampaignId, session: SessionDep) -> CampaignDetail:
    """Pause a running campaign: no new calls; calls in progress finish."""
    return await _change_status(session, campaign_id, "pause")


@router.post("/campaigns/{campaign_id}/resume", responses=errors(404, 409))
async def resume_campaign(campaign_id: CampaignId, session: SessionDep) -> CampaignDetail:
    """Resume a paused campaign."""
    return await _change_status(session, campaign_id, "resume")


@router.post("/campaigns/{campaign_id}/cancel", responses=errors(404, 409))
async def cancel_campaign(campaign_id: CampaignId, session: SessionDep) -> CampaignDetail:
    """Cancel a campaign for good: no further calls are placed."""
    return await _change_status(session, campaign_id, "cancel")


@router.get("/campaigns/{campaign_id}/stats", responses=errors(404))
async def get_stats(campaign_id: CampaignId, session: SessionDep) -> CampaignReport:
    """Contacts by state, attempts by outcome, AAPOR dispositions and rates, answer statistics."""
    return await campaign_report(session=session, campaign_id=campaign_id)


def _summary(campaign: Campaign, *, contacts_total: int) -> CampaignSummary:
    summary = CampaignSummary.model_validate(campaign)
    summary.contacts_total = contacts_total
    return summary


def _detail(campaign: Campaign, *, contacts_total: int) -> CampaignDetail:
    detail = CampaignDetail.model_validate(campaign)
    detail.contacts_total = contacts_total
    return detail
