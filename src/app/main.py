"""The ASGI application `app.main:app`: web API, webhooks, and the scheduler in every worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Message, Receive, Scope, Send

from app.campaigns.router import DOCUMENT_MAX_BYTES, IMPORT_MAX_BYTES
from app.campaigns.router import router as campaigns_router
from app.config import Settings, SettingsError, get_settings
from app.console.errors import install as install_console_errors
from app.console.rendering import STATIC_DIR as CONSOLE_STATIC_DIR
from app.console.router import FORM_LIMITS as CONSOLE_FORM_LIMITS
from app.console.router import public as console_public_router
from app.console.router import router as console_router
from app.db.embedded import leave_embedded
from app.db.engine import Databases, asyncpg_dsn, make_engine, make_sessionmaker, resolve_databases
from app.db.migrate import migrate
from app.deliveries.router import router as deliveries_router
from app.logs import configure_logging
from app.reports.router import router as reports_router
from app.scheduler.leader import LeaderElection
from app.scheduler.runner import SchedulerLoop
from app.scheduler.tick import TickContext
from app.suppression.router import IMPORT_MAX_BYTES as DNC_IMPORT_MAX_BYTES
from app.suppression.router import router as suppression_router
from app.surveys.router import TRY_MAX_BYTES
from app.surveys.router import router as surveys_router
from app.telephony.base import TelephonyProvider
from app.telephony.factory import create_provider
from app.telephony.router import router as telephony_router
from app.web.docs import router as docs_router
from app.web.errors import install as install_error_handlers
from app.web.health import router as health_router
from app.web.limits import BodyLimitMiddleware, route_limit

log = logging.getLogger("app.main")


class StartupError(Exception):
    """Start-up cannot go on; the message is the one line an operator needs."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; settings are read when it starts, not when it is imported."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_service(app, settings):
            yield

    # The schema and its page are served by app.web.docs, behind the admin guard.
    app = FastAPI(
        title="VoiceSurveyAgent",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        limits=[
            route_limit("POST", "/api/campaigns", DOCUMENT_MAX_BYTES),
            route_limit("POST", "/api/campaigns/{campaign_id}/contacts", IMPORT_MAX_BYTES),
            route_limit("POST", "/api/surveys/try", TRY_MAX_BYTES),
            route_limit("POST", "/api/do-not-call", DNC_IMPORT_MAX_BYTES),
            *(route_limit("POST", path, size) for path, size in CONSOLE_FORM_LIMITS.items()),
        ],
    )
    # The webhooks first: most requests are theirs, and routes are matched in order.
    app.include_router(telephony_router)
    app.include_router(health_router)
    app.include_router(docs_router)
    app.include_router(campaigns_router)
    app.include_router(reports_router)
    app.include_router(surveys_router)
    app.include_router(suppression_router)
    app.include_router(deliveries_router)
    install_console_errors(app)
    app.include_router(console_public_router)
    app.include_router(console_router)
    app.mount("/console/static", StaticFiles(directory=CONSOLE_STATIC_DIR), name="console-static")
    app.add_api_route("/", _to_console, include_in_schema=False)
    return app


async def _to_console() -> RedirectResponse:
    return RedirectResponse("/console", status_code=307)


@contextlib.asynccontextmanager
async def running_service(app: FastAPI, settings: Settings | None) -> AsyncIterator[None]:
    """Start the database, the provider and the scheduler; stop them in reverse order."""
    try:
        settings = settings or get_settings()
    except SettingsError as exc:
        configure_logging()
        log.error("Configuration error: %s", exc)
        raise StartupError(str(exc)) from None
    configure_logging(settings.log_level, settings.log_format)
    log.info("Application starting")
    databases = await _databases(settings)
    engine = make_engine(
        databases.pool_url, pool_size=settings.db_pool_size, pooler=databases.pooled
    )
    try:
        await _migrate(engine, databases)
        app.state.settings = settings
        app.state.databases = databases
        app.state.engine = engine
        app.state.sessions = make_sessionmaker(engine)
        app.state.provider = _provider(settings)
        async with _scheduler(app, settings):
            yield
        await app.state.provider.aclose()
    finally:
        await engine.dispose()
        if settings.database_url is None:
            await asyncio.to_thread(leave_embedded)
        log.info("Application stopped")


async def _databases(settings: Settings) -> Databases:
    if settings.database_url is None:
        log.info("DATABASE_URL is not set: using the embedded PostgreSQL")
    elif settings.leader_database_url is not None:
        log.info("DATABASE_URL goes through a pooler; leader lock and migrations go direct")
    try:
        return await asyncio.to_thread(resolve_databases, settings)
    except Exception as exc:
        log.error("Database start-up failed: %s", exc)
        raise StartupError(str(exc)) from None


def _provider(settings: Settings) -> TelephonyProvider:
    try:
        return create_provider(settings)
    except SettingsError as exc:
        log.error("Configuration error: %s", exc)
        raise StartupError(str(exc)) from None


async def _migrate(engine: AsyncEngine, databases: Databases) -> None:
    try:
        await migrate(engine, databases)
    except Exception as exc:
        log.error("Database unreachable or migration failed: %s: %s", type(exc).__name__, exc)
        raise StartupError(str(exc)) from None


@contextlib.asynccontextmanager
async def _scheduler(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    if not settings.scheduler_enabled:
        log.info("Scheduler disabled (SCHEDULER_ENABLED=false)")
        yield
        return
    ctx = TickContext.from_settings(settings, app.state.sessions, app.state.provider)
    loop = SchedulerLoop(
        ctx,
        LeaderElection(asyncpg_dsn(app.state.databases.direct_url)),
        interval=settings.scheduler_interval_seconds,
        election_interval=settings.election_interval,
    )
    app.state.scheduler = loop
    task = asyncio.create_task(loop.run(), name="scheduler")
    try:
        yield
    finally:
        loop.stop()
        await task


class QuietStartupFailures:
    """Report a StartupError as the one line already logged, not as a traceback."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def guarded_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed" and "StartupError" in str(
                message.get("message", "")
            ):
                message = {"type": "lifespan.startup.failed", "message": ""}
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except StartupError:
            return


fastapi_app = create_app()
app = QuietStartupFailures(fastapi_app)
