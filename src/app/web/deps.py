"""FastAPI dependencies: the session, the provider, the settings, the admin guard."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.telephony.base import TelephonyProvider


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
    """Bearer ADMIN_API_TOKEN when one is set; otherwise loopback clients only."""
    token = settings.admin_api_token
    if token is not None:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.encode(), token.get_secret_value().encode()
        ):
            raise HTTPException(
                401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"}
            )
        return
    if not _is_loopback(request.client.host if request.client else None):
        raise HTTPException(403, "admin API: set ADMIN_API_TOKEN to allow non-local clients")


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host in {"localhost", "testclient"}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
