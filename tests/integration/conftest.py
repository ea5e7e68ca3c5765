"""Fixtures for the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.config import get_settings
from tests.support.cli import Invoke, make_invoke


@pytest.fixture
def voicesurvey(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """The CLI, configured with this test's database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield make_invoke()
    get_settings.cache_clear()
