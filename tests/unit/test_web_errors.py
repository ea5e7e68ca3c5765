"""Which errors mean "the database is unavailable" (503) rather than a bug (500)."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.web.errors import database_unavailable


def wrapped(orig: Exception, **kwargs: bool) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, orig, **kwargs)


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (wrapped(asyncpg.CannotConnectNowError("starting up")), True),
        (wrapped(ConnectionResetError("reset by peer")), True),
        (wrapped(ValueError("x"), connection_invalidated=True), True),
        (ConnectionRefusedError(111, "refused"), True),
        (IntegrityError("INSERT", {}, ValueError("duplicate key")), False),
        (wrapped(ValueError("syntax error")), False),
    ],
)
def test_database_unavailable(exc: Exception, unavailable: bool) -> None:
    assert database_unavailable(exc) is unavailable
