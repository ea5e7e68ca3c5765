"""Settings, read from the environment (and `.env`) once, through `get_settings()`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

# A results webhook key shorter than this could be guessed from the bodies it signs.
MIN_SECRET_CHARS = 16


class SettingsError(Exception):
    """A setting has a value the service cannot start with."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # Database
    database_url: str | None = None
    # With DATABASE_URL through a transaction pooler (PgBouncer, pool_mode=transaction), the
    # leader election's session lock and the migrations' lock need a connection of their own,
    # straight to PostgreSQL: this one. Set, the pool is also made pooler-safe.
    leader_database_url: str | None = None
    embedded_pg_dir: Path = Path(".data/postgres")
    # Up to twice this per worker, opened as needed and kept: keep 2 x size x workers under
    # max_connections.
    db_pool_size: int = Field(default=10, ge=1, le=50)

    # Telephony
    telephony_provider: Literal["mock", "twilio"] = "mock"
    public_base_url: str = "http://127.0.0.1:8880"
    mock_call_log: Path | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = None
    twilio_api_base_url: str | None = None
    twilio_machine_detection: Literal["off", "Enable", "DetectMessageEnd"] = "off"
    # A REST request to Twilio that has not answered by then has an unknown outcome.
    twilio_api_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    # Every call rings at most this long (TWILIO_RING_TIMEOUT_SECONDS is the older name).
    ring_timeout_seconds: int = Field(
        default=30,
        ge=5,
        le=600,
        validation_alias=AliasChoices("ring_timeout_seconds", "twilio_ring_timeout_seconds"),
    )
    twilio_speech_model: str = "phone_call"
    # Simulated respondents for the mock provider (see callsim.people).
    mock_simulation: bool = False
    mock_simulation_mix: str | None = None  # unset: the simulation's own default mix
    mock_simulation_seed: int = 0
    mock_step_delay_seconds: float = Field(default=0.05, ge=0, le=10)

    # Scheduler
    scheduler_enabled: bool = True
    scheduler_interval_seconds: float = Field(default=2.0, gt=0, le=3600)
    leader_retry_seconds: float | None = Field(default=None, gt=0, le=3600)
    stale_attempt_seconds: float = Field(default=900.0, gt=0)
    # Added to ring timeout + time limit before a call the provider cannot vouch for counts as
    # provably over: it covers the wait between the claim and the provider's request, the
    # provider's own queue, ring-time rounding and answering-machine detection.
    recovery_margin_seconds: float = Field(default=300.0, ge=0, le=86_400)
    dispatch_batch_size: int = Field(default=1000, ge=1, le=100_000)
    # Twilio's default account limit is one call per second; 0 means no cap (the mock's default).
    dispatch_calls_per_second: float | None = Field(default=None, ge=0)

    # Personal data of contacts of campaigns finished this many days ago is erased by the
    # leader; unset, it is kept.
    retention_days: int | None = Field(default=None, ge=1, le=36_500)

    # Admin API (and the OpenAPI docs); metrics accept it too, or a token of their own.
    admin_api_token: SecretStr | None = None
    metrics_token: SecretStr | None = None

    # Signs each results webhook request (HMAC-SHA256 of the body); unset, results of campaigns
    # with a results_webhook_url wait in the outbox and nothing unsigned is ever sent.
    results_webhook_secret: SecretStr | None = None

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("database_url", "leader_database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return to_asyncpg_url(value.strip())

    @field_validator("retention_days", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # RETENTION_DAYS= (empty) reads as unset: keep, rather than refuse to start.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("admin_api_token", "metrics_token")
    @classmethod
    def _empty_token_is_no_token(cls, value: SecretStr | None) -> SecretStr | None:
        # An empty token would let an empty "Authorization: Bearer " header in.
        return None if value is None or not value.get_secret_value().strip() else value

    @field_validator("results_webhook_secret")
    @classmethod
    def _strong_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # Empty reads as unset; a short key could be guessed from signed bodies.
        if value is None or not value.get_secret_value().strip():
            return None
        if len(value.get_secret_value()) < MIN_SECRET_CHARS:
            raise ValueError(f"at least {MIN_SECRET_CHARS} characters")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _leader_needs_a_database(self) -> Self:
        if self.leader_database_url is not None and self.database_url is None:
            raise ValueError(
                "LEADER_DATABASE_URL is set but DATABASE_URL is not: the embedded server needs "
                "no separate leader connection"
            )
        return self

    @property
    def election_interval(self) -> float:
        return self.leader_retry_seconds or self.scheduler_interval_seconds

    @property
    def calls_per_second(self) -> float:
        if self.dispatch_calls_per_second is not None:
            return self.dispatch_calls_per_second
        return 1.0 if self.telephony_provider == "twilio" else 0.0


def to_asyncpg_url(url: str) -> str:
    """Accept the usual libpq spellings and point SQLAlchemy at asyncpg."""
    for prefix in (
        "postgres://",
        "postgresql://",
        "postgresql+psycopg://",
        "postgresql+psycopg2://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("postgresql+asyncpg://"):
        return url
    raise ValueError("must be a postgresql:// URL")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Load the settings once; a bad value raises SettingsError naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        name = "_".join(str(p) for p in error["loc"]).upper() or "settings"
        parts.append(f"{name}: {error['msg']}")
    return "invalid setting " + "; ".join(parts)
