"""Large imports through the real service (`uvicorn app.main:app` in a subprocess, over HTTP):
the answer counts every rejection but lists the first ones only, the service's peak memory does
not grow with the body, and a client that goes away half way through leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.campaigns.imports import PIECE_BYTES
from app.campaigns.schemas import REJECTIONS_LISTED
from tests.acceptance.processes import Service, free_port, service_env, wait_until
from tests.support.factories import campaign_document
from tests.support.postgres import PgServer
from tests.support.syncdb import query

MiB = 1 << 20


class Running:
    def __init__(self, service: Service, database_url: str) -> None:
        self.service = service
        self.database_url = database_url

    def peak_rss(self) -> int:
        """The service process's peak resident memory so far (VmHWM), in bytes."""
        status = Path(f"/proc/{self.service.proc.pid}/status").read_text()
        [line] = [ln for ln in status.splitlines() if ln.startswith("VmHWM:")]
        return int(line.split()[1]) * 1024

    def campaign(self, api: httpx.Client) -> int:
        created = api.post("/api/campaigns", json=campaign_document())
        assert created.status_code == 201, created.text
        return int(created.json()["id"])

    def contacts(self, campaign_id: int) -> int:
        sql = "SELECT count(*) AS n FROM contacts WHERE campaign_id = $1"
        return int(query(self.database_url, sql, campaign_id)[0]["n"])


@pytest.fixture(scope="module")
def running(
    pg_server: PgServer, pg_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    name = asyncio.run(pg_server.create_database(pg_template))
    url = pg_server.database_url(name)
    port = free_port()
    env = service_env(url, SCHEDULER_ENABLED="false", PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    log = tmp_path_factory.mktemp("import-service") / "service.log"
    service = Service(env, log, port=port)
    try:
        wait_until(lambda: _ready(service), 60, "the service to start")
        yield Running(service, url)
    finally:
        service.stop()
        asyncio.run(pg_server.drop_database(name))
    assert "Traceback" not in service.log()


def _ready(service: Service) -> bool:
    assert service.alive(), service.log()
    try:
        return httpx.get(f"{service.url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def contacts_csv(rows: int, distinct: int) -> bytes:
    """`rows` rows: every 50th not a number, the others cycling through `distinct` numbers."""
    lines = [
        "not a number\n" if i % 50 == 49 else f"+39347{i % distinct:07d},Contact {i}\n"
        for i in range(rows)
    ]
    return ("phone_number,name\n" + "".join(lines)).encode()


def import_body(api: httpx.Client, campaign_id: int, body: bytes) -> dict[str, object]:
    response = api.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=body,
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report: dict[str, object] = response.json()
    return report


def test_memory_stays_flat_as_the_body_grows_and_rejections_are_capped(running: Running) -> None:
    distinct = 5_003  # not a multiple of 50: every number has rows that are not the bad ones
    with httpx.Client(base_url=running.service.url, timeout=120) as api:
        # The first import loads what any import needs (phone metadata, the worker thread).
        import_body(api, running.campaign(api), contacts_csv(30_000, distinct))
        before = running.peak_rss()
        rows = 150_000  # 4.2 MB: read whole, with an object per row, it took 78 MiB more
        report = import_body(
            api, campaign_id := running.campaign(api), contacts_csv(rows, distinct)
        )
        grown = running.peak_rss() - before

    assert report["imported"] == distinct
    assert report["rejected_total"] == rows - distinct
    rejected = report["rejected"]
    assert isinstance(rejected, list) and len(rejected) == REJECTIONS_LISTED
    assert rejected[:2] == [
        {"row": 50, "error": "phone_number 'not a number' is not a phone number"},
        {"row": 100, "error": "phone_number 'not a number' is not a phone number"},
    ]
    first_repeat = distinct + 1  # row distinct + 1 repeats row 1's number (row 50 was bad)
    assert {"row": first_repeat, "error": "duplicate of row 1"} in rejected
    assert running.contacts(campaign_id) == distinct
    # Measured: about 1 MiB (the old import, holding the body and a row object per row: 78 MiB).
    assert grown < 20 * MiB, f"peak RSS grew by {grown / MiB:.0f} MiB"


def test_a_client_that_goes_away_mid_body_leaves_nothing(running: Running) -> None:
    with httpx.Client(base_url=running.service.url, timeout=30) as api:
        campaign_id = running.campaign(api)
    body = contacts_csv(200_000, 200_000)
    head = (
        f"POST /api/campaigns/{campaign_id}/contacts HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nContent-Type: text/csv\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()

    with socket.create_connection(("127.0.0.1", running.service.port)) as client:
        client.sendall(head + body[: 3 * PIECE_BYTES])  # three pieces of the body's 5.6 MB
        # The import has inserted contacts in its transaction when the connection drops.
        wait_until(lambda: _staging(running), 30, "a piece of the body saved")

    wait_until(lambda: not _importing(running), 30, "the import to end")
    assert running.contacts(campaign_id) == 0
    assert running.service.alive()


def _staging(running: Running) -> bool:
    sql = (
        "SELECT 1 FROM pg_stat_activity"
        " WHERE query LIKE '%INSERT INTO contacts%' AND pid <> pg_backend_pid()"
    )
    return bool(query(running.database_url, sql))


def _importing(running: Running) -> bool:
    time.sleep(0.05)
    sql = (
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name = 'voicesurvey' AND state <> 'idle'"
    )
    return bool(query(running.database_url, sql))
