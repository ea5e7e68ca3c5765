"""Shared fixtures: a real PostgreSQL database per test, the app, an HTTP client.

The run fails if a PostgreSQL server it started is still running at its end.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.embedded import leave_embedded
from app.db.engine import make_engine, make_sessionmaker
from app.main import create_app
from tests.support.pg_leaks import RunMarker, report
from tests.support.pgbouncer import NOT_INSTALLED, Bouncer, pgbouncer_binary, running_pgbouncer
from tests.support.postgres import PgServer, start_test_server

# tests/acceptance/test_leaked_servers.py runs a pytest session of its own.
pytest_plugins = ["pytester"]

_RUN = pytest.StashKey[RunMarker]()
_TEMP_DIR = pytest.StashKey[Path]()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.stash[_RUN] = RunMarker.begin()


@pytest.fixture(scope="session", autouse=True)
def _run_temp_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Remember where this run's temporary directories, and so its servers' data, live."""
    request.session.stash[_TEMP_DIR] = tmp_path_factory.getbasetemp()


@pytest.hookimpl(trylast=True)  # after the runner has torn down what fixtures were left
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run if a PostgreSQL server it started is still running, and say which."""
    run = session.stash.get(_RUN, None)
    if run is None:
        return
    temp_dir = session.stash.get(_TEMP_DIR, None)
    leaked = run.leaked([temp_dir] if temp_dir is not None else [])
    if not leaked:
        return
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        sys.stderr.write(report(leaked) + "\n")
        return
    reporter.ensure_newline()
    reporter.write_sep("=", "leaked PostgreSQL servers", red=True)
    reporter.write_line(report(leaked))


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    yield start_test_server(tmp_path_factory.mktemp("postgres"))
    # The library would stop the embedded server only at interpreter exit: after the check
    # above, and never if the interpreter is killed. (With DATABASE_URL this does nothing.)
    leave_embedded()


@pytest.fixture
def bouncer(pg_server: PgServer) -> Iterator[Bouncer]:
    """A Debian PgBouncer in transaction mode in front of the test server; skipped, with the
    reason in the summary, where the package cannot be had."""
    if pgbouncer_binary() is None:
        pytest.skip(NOT_INSTALLED)
    with running_pgbouncer(pg_server.database_url("postgres")) as running:
        yield running


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
