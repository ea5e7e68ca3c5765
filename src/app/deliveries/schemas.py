"""What GET /api/campaigns/{id}/deliveries answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class DeliverySummary(BaseModel):
    """Where the campaign's results webhook stands. Every contact whose interview is over has
    one delivery: `pending` (not tried yet, or in flight), `failing` (its last try failed; it
    will be tried again) or `delivered` (the receiver answered 2xx)."""

    campaign_id: int
    results_webhook_url: str | None = Field(
        description="The campaign's results_webhook_url; null: nothing is sent"
    )
    pending: int
    failing: int
    delivered: int
    last_error: str | None = Field(description="The most recent failure, delivered since or not")
    last_error_at: datetime | None
    last_delivered_at: datetime | None
    held: str | None = Field(
        default=None, description="Why nothing is being sent at all, when something stops it"
    )
