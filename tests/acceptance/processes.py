"""Run the real service and scheduler as separate OS processes, and watch their logs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from app.scheduler.leader import LEADER_LOCK_KEY, LOCK_HOLDERS
from tests.support.factories import call_window, campaign_document, csv_body
from tests.support.postgres import PgServer
from tests.support.syncdb import query, seed

ROOT = Path(__file__).resolve().parents[2]

ALL_DAY = call_window(
    start="00:00", end="23:59:59", days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def service_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(ROOT / "src"),
            "DATABASE_URL": database_url,
            "TELEPHONY_PROVIDER": "mock",
            "SCHEDULER_INTERVAL_SECONDS": "0.5",
            "LOG_LEVEL": "INFO",
        }
    )
    env.pop("VOICESURVEY_CRASH_AT", None)
    env.update(extra)
    return env


def twilio_env(database_url: str, api_base_url: str, port: int, **extra: str) -> dict[str, str]:
    """A service placing its calls through the twilio library at `api_base_url` (the emulator)."""
    from tests.support.twilio_emulator import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

    return service_env(
        database_url,
        TELEPHONY_PROVIDER="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        TWILIO_API_BASE_URL=api_base_url,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        DISPATCH_CALLS_PER_SECOND="0",
        SCHEDULER_INTERVAL_SECONDS="0.3",
        **extra,
    )


class Service:
    """One `uvicorn app.main:app` command, its port and its log file."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        workers: int = 1,
        port: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        self._log = log_path.open("wb")
        cmd = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", host]
        cmd += ["--port", str(self.port), "--workers", str(workers)]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@contextlib.contextmanager
def seeded_service(
    pg_server: PgServer, pg_template: str, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[Service]:
    """The service, scheduler off, on a database of its own holding a draft campaign with three
    contacts (for a fuzzer's ids to find); its log must end without a traceback."""
    database = asyncio.run(pg_server.create_database(pg_template))
    database_url = pg_server.database_url(database)
    seed(database_url, contacts=3, status="draft")
    log = tmp_path_factory.mktemp(name) / "service.log"
    service = Service(service_env(database_url, SCHEDULER_ENABLED="false"), log)
    try:
        wait_until(lambda: "Application startup complete" in service.log(), 60, "start-up")
        yield service
    finally:
        service.stop()
        asyncio.run(pg_server.drop_database(database))
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text


_LEADER = f"""
SELECT a.application_name FROM ({LOCK_HOLDERS}) h JOIN pg_stat_activity a ON a.pid = h.pid
"""


def leader_pid(database_url: str) -> int | None:
    """The OS pid of the service process holding the scheduler's leader lock (none: None)."""
    rows = query(database_url, _LEADER, LEADER_LOCK_KEY)
    assert len(rows) <= 1, "two processes hold the leader lock"
    return int(rows[0]["application_name"].rsplit("-", 1)[1]) if rows else None


def run_simulated_campaign(
    service: Service, numbers: list[str], *, timeout: float = 120, **document: object
) -> int:
    """Create a campaign open all day (two attempts, retries at once; `document` overrides),
    import `numbers`, start it and wait until it is completed; return its id."""
    body = campaign_document(
        call_window=ALL_DAY, max_attempts=2, retry_after_minutes=[0], **document
    )
    with httpx.Client(base_url=service.url, timeout=30) as api:
        created = api.post("/api/campaigns", json=body)
        assert created.status_code == 201, created.text
        campaign_id = int(created.json()["id"])
        imported = api.post(
            f"/api/campaigns/{campaign_id}/contacts",
            content=csv_body(["phone_number"], *[[n] for n in numbers]).encode(),
            headers={"content-type": "text/csv"},
        )
        assert imported.json()["imported"] == len(numbers), imported.text
        assert api.post(f"/api/campaigns/{campaign_id}/start").status_code == 200

        def finished() -> bool:
            return api.get(f"/api/campaigns/{campaign_id}").json()["status"] == "completed"

        wait_until(finished, timeout, "the campaign to complete")
    return campaign_id
