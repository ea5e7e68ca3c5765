"""Fixtures for the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.config import get_settings
from app.telephony.twilio import TwilioProvider
from tests.support.cli import Invoke, make_invoke
from tests.support.twilio_emulator import RunningEmulator, running_emulator


@pytest.fixture
def voicesurvey(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """The CLI, configured with this test's database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield make_invoke()
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[RunningEmulator]:
    """The local Twilio emulator, one per test module."""
    with running_emulator(step_delay=0.01) as emulator:
        yield emulator


@pytest.fixture
async def emulator(emulator_server: RunningEmulator) -> RunningEmulator:
    """The emulator with no calls, respondents or changed options left from another test."""
    await emulator_server.reset()
    return emulator_server


@pytest.fixture
def provider(emulator: RunningEmulator) -> TwilioProvider:
    """The Twilio adapter pointed at the emulator."""
    return TwilioProvider.from_settings(emulator.settings())
