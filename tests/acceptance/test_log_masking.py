"""No phone number, in any format, reaches the log of the running service in full.

The real commands (`uvicorn app.main:app`, `voicesurvey serve`) with the mock provider, in text
and in JSON: numbers go in through real paths that echo them (the webhook's warning about an
unknown call, uvicorn's access line with the query string and path), then the whole output is
grepped for every form that went in. Uvicorn's "Exception in ASGI application" traceback comes
from a test-only app (nothing in the product lets a request's text escape as an exception), set
up by the product's own configure_logging.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest

from app.logs import mask_numbers
from tests.acceptance.processes import service_env, wait_until
from tests.support.log_servers import Server, json_lines

pytestmark = pytest.mark.acceptance

# Every format fed in, each a different number: E.164, national, grouped as people type them.
FED = [
    "+393331110001",
    "3331110002",
    "12025550103",
    "333 111 0004",
    "(202) 555-0105",
    "02-1111-0006",
    "333.111.0007",
    "+39 333 111 0008",
    "0039 333 1110009",
]

Launch = Callable[[dict[str, str], Path], Server]
LAUNCHERS: dict[str, Launch] = {
    "uvicorn": lambda env, path: Server.uvicorn("app.main:app", env, path),
    "voicesurvey serve": Server.voicesurvey_serve,
    # Workers are processes of their own: each must set its logging up from the config.
    "voicesurvey serve --workers 2": lambda env, path: Server.voicesurvey_serve(env, path, 2),
}


def leaks(log: str) -> list[str]:
    """Each number as fed in, as digits only, or URL-encoded, that the log still holds."""
    forms = {
        form
        for number in FED
        for form in (number, re.sub(r"\D", "", number), quote(number), quote_plus(number))
    }
    return sorted(form for form in forms if form in log)


def feed_webhooks(server: Server) -> None:
    """Status callbacks for unknown calls whose ids are the numbers, also in the query string."""
    with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as http:
        for number in FED:
            response = http.post(
                "/webhooks/telephony/events",
                params={"ref": number},
                json={"provider_call_id": number, "status": "ringing"},
            )
            assert response.status_code == 204, response.text
            digits = re.sub(r"\D", "", number)
            http.get(f"/api/campaigns/{digits}")  # a 404: the path is in the access line


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_the_service_log_holds_no_number_in_full(
    database_url: str, tmp_path: Path, launcher: str, fmt: str
) -> None:
    env = service_env(database_url, LOG_FORMAT=fmt, SCHEDULER_ENABLED="false")
    server = LAUNCHERS[launcher](env, tmp_path / "service.log")
    try:
        server.wait_started()
        feed_webhooks(server)
        wait_until(
            lambda: server.log().count("Status event for an unknown call") == len(FED),
            30,
            "a warning per callback",
        )
    finally:
        server.stop()

    log = server.log()
    assert leaks(log) == [], log
    for number in FED:
        assert f"Status event for an unknown call {mask_numbers(repr(number))} ignored" in log
    assert log.count("/api/campaigns/") == len(FED)  # the access lines are there, masked
    if fmt == "json":
        entries = json_lines(log)
        access = [e for e in entries if e["logger"] == "uvicorn.access"]
        assert len(access) == 2 * len(FED)
        assert "Application startup complete." in [e["message"] for e in entries]
        if launcher.startswith("voicesurvey serve"):
            assert entries and log.startswith("{")  # JSON from uvicorn's first line


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_uvicorn_tracebacks_are_masked(tmp_path: Path, fmt: str) -> None:
    env = service_env("postgresql://unused/unused", LOG_FORMAT=fmt)
    server = Server.uvicorn("tests.support.log_raising_app:app", env, tmp_path / "server.log")
    try:
        server.wait_started()
        with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as http:
            for number in FED:
                assert http.get("/fail", params={"to": number}).status_code == 500
        wait_until(
            lambda: server.log().count("Exception in ASGI application") == len(FED),
            30,
            "a traceback per request",
        )
    finally:
        server.stop()

    log = server.log()
    assert leaks(log) == [], log
    for number in FED:
        assert f"LookupFailed: cannot call to={mask_numbers(number)}" in log
        assert f"no contact with to={mask_numbers(number)}" in log
    if fmt == "json":
        failures = [e for e in json_lines(log) if e["logger"] == "uvicorn.error" and "exc" in e]
        assert len(failures) == len(FED)
        assert all(e["traceback"].startswith("Traceback") for e in failures)
        assert all(e["exc"].startswith("LookupFailed: cannot call to=") for e in failures)
