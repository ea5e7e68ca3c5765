"""RETENTION_DAYS: unset keeps personal data; a bad value stops start-up naming the variable."""

from __future__ import annotations

import pytest

from app.config import SettingsError, get_settings

pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.mark.parametrize(("value", "days"), [(None, None), ("", None), (" ", None), ("30", 30)])
def test_unset_keeps_and_a_number_of_days_erases(
    monkeypatch: pytest.MonkeyPatch, value: str | None, days: int | None
) -> None:
    if value is not None:
        monkeypatch.setenv("RETENTION_DAYS", value)

    assert get_settings().retention_days == days


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "36501"])
def test_a_bad_value_stops_start_up(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("RETENTION_DAYS", value)

    with pytest.raises(SettingsError, match="RETENTION_DAYS"):
        get_settings()
