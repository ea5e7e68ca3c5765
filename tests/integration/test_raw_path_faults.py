"""The webhooks' ORM-free path (app.db.raw, app.calls.hotpath) when its connection misbehaves.

A server ending the connection (pg_terminate_backend: 57P01) is an outage: 503 with one log line,
the connection discarded, the next request served. asyncpg's own data error is a bug, not an
outage, and leaves the connection in the pool. A connection that comes with a transaction open,
or that the hot path leaves with one, is discarded: writes never vanish into a transaction that
nobody commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from asyncpg.exceptions._base import DataError as ClientDataError
from fastapi import FastAPI
from sqlalchemy import Integer, bindparam, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.calls.hotpath import quick_status
from app.config import Settings
from app.db.raw import _CHECKOUTS
from app.main import create_app
from app.telephony import router as webhooks
from app.web.errors import database_unavailable
from tests.integration.test_followups import campaign_with, dial
from tests.support.pgbouncer import Bouncer
from tests.support.seed import fetch_all
from tests.support.voice import Conversation

Sessions = async_sessionmaker[AsyncSession]

UNAVAILABLE = "Database unavailable during POST"


async def _answered(client: httpx.AsyncClient, sessions: Sessions) -> Conversation:
    """A call past its consent question: the next turn is the first answer."""
    await campaign_with(client, ["+39 02 1234 5678"])
    (conv,) = await dial(client, sessions)
    await conv.answer_call()
    await conv.say("sì")
    return conv


def _events_url(conv: Conversation) -> str:
    return f"/webhooks/telephony/events?attempt_id={conv.attempt_id}"


def _turn_url(conv: Conversation) -> str:
    action = conv.turns[-1].action
    assert action is not None
    return action.removeprefix("http://127.0.0.1:8880")


async def _stored_statuses(sessions: Sessions) -> list[tuple[str, int]]:
    rows = await fetch_all(
        sessions, "SELECT status, sequence_number FROM telephony_events ORDER BY id"
    )
    return [(r.status, r.sequence_number) for r in rows]


async def _answers(sessions: Sessions) -> dict[str, Any]:
    rows = await fetch_all(sessions, "SELECT answers FROM survey_responses")
    return {} if not rows else dict(rows[0].answers)


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def _unavailable(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith(UNAVAILABLE)]


# --- a data error is a bug, not an outage -------------------------------------------------------


async def _unencodable(driver: asyncpg.Connection) -> None:
    # asyncpg refuses the argument before sending anything. asyncpg 0.32 raises its
    # `asyncpg.DataError` (a PostgresError, class 22) for it.
    await driver.fetchval("SELECT $1::integer", "eight")


async def _client_data_error(driver: asyncpg.Connection) -> None:
    # The `DataError` asyncpg declares for invalid query input, an InterfaceError.
    assert await driver.fetchval("SELECT 1") == 1
    raise ClientDataError("invalid input for query argument $1: 'eight'")


@pytest.mark.parametrize("fail", [_unencodable, _client_data_error])
async def test_a_data_error_on_the_raw_path_is_a_500_and_keeps_the_connection(
    client: httpx.AsyncClient,
    sessions: Sessions,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fail: Callable[[asyncpg.Connection], Awaitable[None]],
) -> None:
    conv = await _answered(client, sessions)
    used: list[asyncpg.Connection] = []

    async def failing(driver: asyncpg.Connection, *_args: Any, **_kwargs: Any) -> None:
        used.append(driver)
        await fail(driver)

    monkeypatch.setattr(webhooks, "quick_status", failing)
    with caplog.at_level(logging.WARNING):
        response = await client.post(_events_url(conv), json={"status": "ringing"})

    assert response.status_code == 500, response.text
    assert response.json() == {"detail": "internal error"}
    assert not _unavailable(caplog) and len(_errors(caplog)) == 1
    (driver,) = used
    assert not driver.is_closed()  # not invalidated: back in the pool, usable
    assert await driver.fetchval("SELECT 1") == 1

    monkeypatch.setattr(webhooks, "quick_status", quick_status)
    body = {"status": "ringing", "sequence_number": 1}
    assert (await client.post(_events_url(conv), json=body)).status_code == 204
    assert await _stored_statuses(sessions) == [("ringing", 1)]


async def test_a_data_error_through_sqlalchemy_is_not_an_outage(engine: AsyncEngine) -> None:
    """The full path's errors arrive wrapped: asyncpg's DataError is found under them."""
    statement = text("SELECT :n AS n").bindparams(bindparam("n", type_=Integer))
    async with engine.connect() as connection:
        with pytest.raises(DBAPIError) as caught:
            await connection.execute(statement, {"n": "eight"})
    assert not caught.value.connection_invalidated
    assert database_unavailable(caught.value) is False
    adapted = Exception("adapted")
    adapted.__cause__ = ClientDataError("invalid input")  # as SQLAlchemy's adapter chains it
    assert database_unavailable(DBAPIError("SELECT", {}, adapted)) is False
    assert database_unavailable(asyncpg.AdminShutdownError("terminating connection")) is True
    assert database_unavailable(asyncpg.CrashShutdownError("crash")) is True
    assert database_unavailable(asyncpg.QueryCanceledError("canceling statement")) is False


# --- the server ending the connection ------------------------------------------------------------


@contextlib.asynccontextmanager
async def _locked(engine: AsyncEngine, table: str) -> AsyncIterator[None]:
    """`table` locked against reads until the block ends."""
    async with engine.connect() as connection:
        await connection.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        yield
        await connection.rollback()


async def _terminate_the_waiting_backend(sessions: Sessions) -> None:
    """End the backend that waits for a lock in this database, as a server shutdown would."""
    for _ in range(500):
        rows = await fetch_all(
            sessions,
            "SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            " AND pid <> pg_backend_pid()",
        )
        if rows:
            assert [r.done for r in rows] == [True]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no request came to wait for the lock")


@pytest.mark.parametrize("webhook", ["voice", "events"])
async def test_a_connection_ended_mid_request_is_a_503_and_the_next_request_succeeds(
    client: httpx.AsyncClient,
    sessions: Sessions,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    webhook: str,
) -> None:
    conv = await _answered(client, sessions)
    url, body = (
        (_turn_url(conv), {"speech": "otto", "confidence": 0.9})
        if webhook == "voice"
        else (_events_url(conv), {"status": "in-progress", "sequence_number": 2})
    )

    with caplog.at_level(logging.WARNING):
        async with _locked(engine, "call_attempts"):
            request = asyncio.create_task(client.post(url, json=body))
            await _terminate_the_waiting_backend(sessions)
            response = await request

    assert response.status_code == 503, response.text
    assert response.json() == {"detail": "database unavailable, try again"}
    assert len(_unavailable(caplog)) == 1 and not _errors(caplog)
    assert "terminating connection" in _unavailable(caplog)[0].getMessage()

    # The provider's retry is served, on a connection that is not the one that was ended.
    retried = await client.post(url, json=body)
    assert retried.status_code == (200 if webhook == "voice" else 204), retried.text
    if webhook == "voice":
        assert (await _answers(sessions))["satisfaction"]["value"] == 8
    else:
        assert await _stored_statuses(sessions) == [("in-progress", 2)]


@pytest.mark.parametrize(
    ("sqlstate", "status"),
    [
        ("57P01", 503),  # admin_shutdown: pg_terminate_backend, a fast or smart shutdown
        ("57P02", 503),  # crash_shutdown: another backend crashed, the server restarts
        ("57P03", 503),  # cannot_connect_now: the server is starting up or shutting down
        ("57014", 500),  # query_canceled: the same class, but the connection is fine
    ],
)
async def test_a_server_shutdown_error_is_an_outage_but_a_cancelled_statement_is_not(
    client: httpx.AsyncClient,
    sessions: Sessions,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    sqlstate: str,
    status: int,
) -> None:
    """The server's own error, by its SQLSTATE: with a real shutdown asyncpg mostly reports
    the connection closed (above), but the code comes through when the message does."""
    conv = await _answered(client, sessions)
    used: list[asyncpg.Connection] = []

    async def failing(driver: asyncpg.Connection, *_args: Any, **_kwargs: Any) -> None:
        used.append(driver)
        await driver.execute(
            f"DO $$ BEGIN RAISE EXCEPTION 'as the server says it' USING ERRCODE = '{sqlstate}';"
            " END $$"
        )

    monkeypatch.setattr(webhooks, "quick_status", failing)
    with caplog.at_level(logging.WARNING):
        response = await client.post(_events_url(conv), json={"status": "ringing"})

    assert response.status_code == status, response.text
    (driver,) = used
    if status == 503:
        assert len(_unavailable(caplog)) == 1 and not _errors(caplog)
        assert driver.is_closed()  # invalidated: the pool will not hand it out again
    else:
        assert not _unavailable(caplog) and len(_errors(caplog)) == 1
        assert not driver.is_closed()

    monkeypatch.setattr(webhooks, "quick_status", quick_status)
    response = await client.post(
        _events_url(conv), json={"status": "ringing", "sequence_number": 1}
    )
    assert response.status_code == 204


async def test_connections_ended_between_requests_never_give_a_500(
    client: httpx.AsyncClient, sessions: Sessions, app: FastAPI
) -> None:
    conv = await _answered(client, sessions)
    for number in range(1, 11):
        # Every connection of the service's pool (and of this test's) to this database.
        await fetch_all(
            sessions,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'",
        )
        body = {"status": "ringing", "sequence_number": number}
        # Each dead connection the pool still holds may answer one 503 (it is then discarded),
        # as the provider's retry would find; never a 500, and soon a 204.
        answers = []
        for _ in range(6):
            response = await client.post(_events_url(conv), json=body)
            answers.append(response.status_code)
            if response.status_code != 503:
                break
        assert answers[-1] == 204 and set(answers) <= {204, 503}, answers
    assert [n for _, n in await _stored_statuses(sessions)] == list(range(1, 11))


# --- transactions left open ----------------------------------------------------------------------


async def _with_stray_transactions(app: FastAPI, at_least: int) -> list[asyncpg.Connection]:
    """The app's pool with every idle connection (`at_least` of them) given back with a
    transaction open under SQLAlchemy, which its reset on return does not end (as a cancelled
    request may leave one)."""
    engine: AsyncEngine = app.state.engine
    drivers: list[asyncpg.Connection] = []
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(max(at_least, engine.pool.checkedin())):  # type: ignore[attr-defined]
            connection = await stack.enter_async_context(engine.connect())
            driver = (await connection.get_raw_connection()).driver_connection
            assert isinstance(driver, asyncpg.Connection)
            await driver.execute("BEGIN")
            drivers.append(driver)
    assert all(d.is_in_transaction() and not d.is_closed() for d in drivers)
    return drivers


async def test_a_connection_with_a_stray_transaction_is_not_used(
    client: httpx.AsyncClient, sessions: Sessions, app: FastAPI
) -> None:
    conv = await _answered(client, sessions)
    stray = await _with_stray_transactions(app, at_least=1)
    assert len(stray) <= _CHECKOUTS  # so that the request gets a clean one in its tries

    turn = await conv.say("otto")
    body = {"status": "ringing", "sequence_number": 1}
    response = await client.post(_events_url(conv), json=body)

    assert "quanto" not in turn.text.lower()  # the next question, not the same one again
    assert response.status_code == 204
    # Committed, as seen from another connection: not waiting in a transaction nobody ends.
    assert (await _answers(sessions))["satisfaction"]["value"] == 8
    assert await _stored_statuses(sessions) == [("ringing", 1)]
    assert all(d.is_closed() for d in stray)  # each was discarded when handed out


async def test_more_stray_transactions_than_tries_give_a_503_then_a_clean_connection(
    client: httpx.AsyncClient,
    sessions: Sessions,
    app: FastAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    conv = await _answered(client, sessions)
    stray = await _with_stray_transactions(app, at_least=_CHECKOUTS + 1)
    body = {"status": "ringing", "sequence_number": 1}

    with caplog.at_level(logging.WARNING):
        response = await client.post(_events_url(conv), json=body)

    assert response.status_code == 503, response.text
    assert len(_unavailable(caplog)) == 1 and not _errors(caplog)
    assert sum(d.is_closed() for d in stray) == _CHECKOUTS
    retried = await client.post(_events_url(conv), json=body)
    assert retried.status_code == 204
    assert await _stored_statuses(sessions) == [("ringing", 1)]


@pytest.fixture
async def pooled_app(
    make_settings: Callable[..., Settings], database_url: str, bouncer: Bouncer
) -> AsyncIterator[FastAPI]:
    """The service behind a transaction pooler: the hot path runs in a transaction of its own."""
    database = make_url(database_url).database
    assert database is not None
    settings = make_settings(database_url=bouncer.url(database), leader_database_url=database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_through_a_pooler_a_connection_with_a_stray_transaction_is_not_used(
    pooled_app: FastAPI, sessions: Sessions
) -> None:
    transport = httpx.ASGITransport(app=pooled_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8880") as client:
        conv = await _answered(client, sessions)
        stray = await _with_stray_transactions(pooled_app, at_least=1)
        assert len(stray) <= _CHECKOUTS

        # asyncpg would refuse to nest the hot path's transaction in it (a 503).
        turn = await conv.say("otto")

    assert "quanto" not in turn.text.lower()
    assert (await _answers(sessions))["satisfaction"]["value"] == 8
    assert all(d.is_closed() for d in stray)


async def test_a_transaction_left_open_by_the_hot_path_fails_the_request(
    app: FastAPI, client: httpx.AsyncClient, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    conv = await _answered(client, sessions)
    used: list[asyncpg.Connection] = []

    async def leaves_it_open(driver: asyncpg.Connection, *args: Any, **kwargs: Any) -> Any:
        used.append(driver)
        await driver.execute("BEGIN")
        return await quick_status(driver, *args, **kwargs)

    monkeypatch.setattr(webhooks, "quick_status", leaves_it_open)
    # As a server answers it: an unhandled error is a 500 (the provider retries).
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8880") as plain:
        response = await plain.post(
            _events_url(conv), json={"status": "ringing", "sequence_number": 1}
        )

    assert response.status_code == 500
    (driver,) = used
    assert driver.is_closed()  # not back in the pool with the transaction and its row lock
    assert await _stored_statuses(sessions) == []  # never answered as if stored

    monkeypatch.setattr(webhooks, "quick_status", quick_status)
    retried = await client.post(_events_url(conv), json={"status": "ringing", "sequence_number": 1})
    assert retried.status_code == 204
    assert await _stored_statuses(sessions) == [("ringing", 1)]
