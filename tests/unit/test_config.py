"""Settings: a bad value stops start-up with one line naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import Settings, SettingsError, get_settings
from app.db.engine import POOLER_CONNECT_ARGS, Databases, resolve_databases

pytestmark = pytest.mark.usefixtures("clean_env")


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]  # values vary per test


# --- get_settings ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "-1", "0", "3601", "nan", "inf", ""])
def test_a_bad_scheduler_interval_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SCHEDULER_INTERVAL_SECONDS", value)

    with pytest.raises(SettingsError) as info:
        get_settings()

    message = str(info.value)
    assert message.startswith("invalid setting SCHEDULER_INTERVAL_SECONDS: ")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://u@h/db"),
        ("PUBLIC_BASE_URL", "surveys.example.com"),
        ("TELEPHONY_PROVIDER", "asterisk"),
        ("DB_POOL_SIZE", "0"),
        ("DISPATCH_CALLS_PER_SECOND", "-1"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_get_settings_names_the_bad_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(SettingsError, match=rf"^invalid setting {variable}: "):
        get_settings()


def test_get_settings_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEDULER_INTERVAL_SECONDS", "5")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")

    first = get_settings()
    monkeypatch.setenv("SCHEDULER_INTERVAL_SECONDS", "abc")

    assert first.scheduler_interval_seconds == 5.0
    assert first.database_url == "postgresql+asyncpg://u@h/db"
    assert get_settings() is first


def test_get_settings_reads_a_dot_env_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SCHEDULER_INTERVAL_SECONDS=-1\n")

    with pytest.raises(SettingsError, match="SCHEDULER_INTERVAL_SECONDS"):
        get_settings()


# --- DATABASE_URL ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u:p@h:5433/db", "postgresql+asyncpg://u:p@h:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("  postgres://u@h/db\n", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db?sslmode=require", "postgresql+asyncpg://u@h/db?sslmode=require"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_database_url_points_at_asyncpg(url: str | None, expected: str | None) -> None:
    assert settings(database_url=url).database_url == expected


@pytest.mark.parametrize(
    "url",
    ["mysql://u@h/db", "sqlite:///voice.db", "u@h/db", "http://h/db", "postgres:/u@h/db"],
)
def test_database_url_must_be_postgres(url: str) -> None:
    with pytest.raises(ValidationError, match="must be a postgresql:// URL"):
        settings(database_url=url)


def test_a_leader_database_url_goes_with_a_database_url() -> None:
    both = settings(database_url="postgres://u@pooler/db", leader_database_url="postgres://u@pg/db")
    assert both.leader_database_url == "postgresql+asyncpg://u@pg/db"
    with pytest.raises(ValidationError, match="LEADER_DATABASE_URL is set but DATABASE_URL"):
        settings(leader_database_url="postgres://u@pg/db")
    with pytest.raises(ValidationError, match="must be a postgresql:// URL"):
        settings(database_url="postgres://u@pooler/db", leader_database_url="mysql://u@h/db")


def test_behind_a_pooler_the_pool_prepares_no_named_statement() -> None:
    databases = resolve_databases(
        settings(database_url="postgres://u@pooler/db", leader_database_url="postgres://u@pg/db")
    )
    assert databases == Databases(
        "postgresql+asyncpg://u@pooler/db", "postgresql+asyncpg://u@pg/db", pooled=True
    )
    assert POOLER_CONNECT_ARGS["statement_cache_size"] == 0
    assert POOLER_CONNECT_ARGS["prepared_statement_name_func"]() == ""
    assert set(POOLER_CONNECT_ARGS["server_settings"]) == {"application_name"}
    direct = resolve_databases(settings(database_url="postgres://u@pg/db"))
    assert direct.direct_url == direct.pool_url and not direct.pooled


# --- PUBLIC_BASE_URL -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8880", "http://127.0.0.1:8880"),
        ("https://surveys.example.com/", "https://surveys.example.com"),
        ("https://example.com/voice//", "https://example.com/voice"),
    ],
)
def test_public_base_url_keeps_no_trailing_slash(url: str, expected: str) -> None:
    assert settings(public_base_url=url).public_base_url == expected


@pytest.mark.parametrize(
    "url", ["surveys.example.com", "127.0.0.1:8880", "ftp://example.com", "//example.com", ""]
)
def test_public_base_url_needs_a_scheme(url: str) -> None:
    with pytest.raises(ValidationError, match="must start with http:// or https://"):
        settings(public_base_url=url)


# --- derived values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "configured", "expected"),
    [
        ("mock", None, 0.0),
        ("twilio", None, 1.0),
        ("mock", 2.5, 2.5),
        ("twilio", 5, 5.0),
        ("twilio", 0, 0.0),
    ],
)
def test_calls_per_second(provider: str, configured: float | None, expected: float) -> None:
    value = settings(telephony_provider=provider, dispatch_calls_per_second=configured)

    assert value.calls_per_second == expected


@pytest.mark.parametrize(
    ("interval", "leader_retry", "expected"),
    [(2.0, None, 2.0), (0.5, None, 0.5), (2.0, 7.0, 7.0)],
)
def test_election_interval(interval: float, leader_retry: float | None, expected: float) -> None:
    value = settings(scheduler_interval_seconds=interval, leader_retry_seconds=leader_retry)

    assert value.election_interval == expected


def test_defaults() -> None:
    value = settings()

    assert value.database_url is None
    assert value.telephony_provider == "mock"
    assert value.public_base_url == "http://127.0.0.1:8880"
    assert value.scheduler_interval_seconds == 2.0
    assert value.calls_per_second == 0.0
    assert value.admin_api_token is None
