"""The emulator's ASGI application: Twilio's call REST API plus the `/_emulator` control API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from callsim.twilio.control import router as control_router
from callsim.twilio.rest import router as rest_router
from callsim.twilio.state import Emulator, EmulatorOptions


def create_app(
    auth_token: str, account_sid: str | None = None, options: EmulatorOptions | None = None
) -> FastAPI:
    """An emulator accepting `auth_token` (and only `account_sid`, when given)."""
    emulator = Emulator(auth_token, account_sid, options)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await emulator.start()
        try:
            yield
        finally:
            await emulator.stop()

    app = FastAPI(title="Twilio emulator", lifespan=lifespan, openapi_url=None)
    app.state.emulator = emulator
    app.include_router(rest_router)
    app.include_router(control_router)
    return app
