"""Results webhook API: where a campaign's deliveries stand."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from app.campaigns.errors import NotFound
from app.deliveries import service
from app.deliveries.schemas import DeliverySummary
from app.web.deps import SessionDep, SettingsDep, require_admin
from app.web.params import CampaignId
from app.web.responses import errors

router = APIRouter(
    prefix="/api",
    tags=["deliveries"],
    dependencies=[Depends(require_admin)],
    responses=errors(401, 403, 503),
)


@router.get(
    "/campaigns/{campaign_id}/deliveries", response_model=DeliverySummary, responses=errors(404)
)
async def campaign_deliveries(
    campaign_id: CampaignId, session: SessionDep, settings: SettingsDep
) -> DeliverySummary:
    """The campaign's results webhook deliveries: pending, failing and delivered interviews,
    the latest error, the time of the last delivery, and `held` when nothing is sent at all."""
    try:
        summary = await service.delivery_summary(session, campaign_id)
    except NotFound as exc:
        raise HTTPException(404, exc.message) from None
    return service.explained(summary, settings)
