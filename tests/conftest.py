"""Shared fixtures: a real PostgreSQL database per test, the app, an HTTP client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.engine import make_engine, make_sessionmaker
from app.main import create_app
from tests.support.postgres import PgServer, start_test_server


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> PgServer:
    return start_test_server(tmp_path_factory.mktemp("postgres"))


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> Iterator[str]:
    name = asyncio.run(pg_server.create_template())
    yield name
    asyncio.run(pg_server.drop_database(name))


@pytest.fixture
def database_url(pg_server: PgServer, pg_template: str) -> Iterator[str]:
    """A fresh, migrated database for this test only."""
    name = asyncio.run(pg_server.create_database(pg_template))
    yield pg_server.database_url(name)
    asyncio.run(pg_server.drop_database(name))


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "scheduler_enabled": False,
            "telephony_provider": "mock",
            "mock_call_log": tmp_path / "mock-calls.jsonl",
            "public_base_url": "http://127.0.0.1:8880",
            "_env_file": None,
        }
        values.update(overrides)
        return Settings(**values)

    return factory


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8880") as c:
        yield c
