"""FastAPI dependencies: the session, the provider, the settings, the admin guard."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.telephony.base import TelephonyProvider
from app.web.peers import is_local


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_provider(request: Request) -> TelephonyProvider:
    provider: TelephonyProvider = request.app.state.provider
    return provider


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ProviderDep = Annotated[TelephonyProvider, Depends(get_provider)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


def require_admin(request: Request, settings: SettingsDep) -> None:
    """Bearer ADMIN_API_TOKEN when one is set; otherwise local clients only (see peers.py)."""
    _require(request, [settings.admin_api_token], "admin API: set ADMIN_API_TOKEN")


def require_metrics_reader(request: Request, settings: SettingsDep) -> None:
    """METRICS_TOKEN or ADMIN_API_TOKEN when either is set; otherwise local clients only."""
    tokens = [settings.metrics_token, settings.admin_api_token]
    _require(request, tokens, "metrics: set METRICS_TOKEN or ADMIN_API_TOKEN")


def _require(request: Request, tokens: list[SecretStr | None], remedy: str) -> None:
    accepted = [t.get_secret_value().encode() for t in tokens if t is not None]
    if accepted:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        # compare_digest against every token, so the time taken says nothing about which.
        matches = [hmac.compare_digest(given.encode(), token) for token in accepted]
        if scheme.lower() != "bearer" or not any(matches):
            raise HTTPException(
                401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"}
            )
        return
    if not is_local(request):
        raise HTTPException(
            403, f"{remedy} to allow clients that are not on this machine or come via a proxy"
        )
