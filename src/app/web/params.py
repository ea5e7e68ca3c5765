"""Path and query parameters every route reads the same way, bounded to what the database holds."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from app.db.base import BIGINT_MAX

CampaignId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="A campaign's id")]
Offset = Annotated[int, Query(ge=0, le=BIGINT_MAX, description="Rows to skip")]
