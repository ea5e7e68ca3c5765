"""Several hosts behind PgBouncer: the service is stateless but for PostgreSQL.

Three service instances bound to 127.0.0.2, .3 and .4 stand for three hosts. Their pools go
through a real PgBouncer in transaction mode; their leader elections (session advisory locks,
which a transaction pooler cannot keep) and migrations go straight to PostgreSQL through
LEADER_DATABASE_URL. The local Twilio emulator places the calls and sends every webhook through
a reverse proxy that hands each request to the next host in turn. The leader is SIGKILLed while
the interviews run: another host takes the lead, the calls in progress finish on the others,
and every interview is complete, none duplicated, with one leader at any time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.acceptance.processes import Service, free_port, leader_pid, twilio_env, wait_until
from tests.support.pgbouncer import Bouncer
from tests.support.proxy import RoundRobinProxy
from tests.support.syncdb import count_mismatches, duplicates, query, seed
from tests.support.twilio_emulator import RunningEmulator, running_emulator, serve

pytestmark = pytest.mark.acceptance

HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
CONTACTS = 24
# The seeded campaign's survey (tests.support.factories.campaign_document), answered in full.
ANSWERS = [
    {"speech": "sì"},
    {"speech": "otto"},
    {"speech": "sì"},
    {"speech": "email"},
    {"speech": "va tutto bene"},
]


ACQUIRED = "Scheduler leader lock acquired"


def took_the_lead(log: str) -> list[datetime]:
    """When this host's log says it became the leader (the log's own local timestamps)."""
    return [
        datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
        for line in log.splitlines()
        if line.endswith(ACQUIRED)
    ]


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    # Slow enough that the interviews are still running when the leader is killed.
    with running_emulator(step_delay=0.25) as emu:
        yield emu


def test_hosts_behind_pgbouncer_lose_their_leader_and_finish_every_interview(
    database_url: str, bouncer: Bouncer, emulator: RunningEmulator, tmp_path: Path
) -> None:
    campaign_id = seed(
        database_url,
        contacts=CONTACTS,
        max_concurrent_calls=CONTACTS,
        max_attempts=2,
        retry_after_minutes=[0],
    )
    numbers = [r[0] for r in query(database_url, "SELECT phone_number FROM contacts")]
    for number in numbers:
        asyncio.run(emulator.register(number, "answer", answers=ANSWERS))
    database = database_url.rsplit("/", 1)[1].split("?")[0]
    hosts = [(host, free_port(host)) for host in HOSTS]
    proxy = RoundRobinProxy([f"http://{host}:{port}" for host, port in hosts])
    proxy_port = free_port()
    services: list[Service] = []
    with serve(proxy, port=proxy_port):
        env = twilio_env(
            bouncer.url(database),
            emulator.base_url,
            proxy_port,  # the public URL: the webhooks go through the proxy
            LEADER_DATABASE_URL=database_url,
            LEADER_RETRY_SECONDS="0.5",
            DB_POOL_SIZE="4",
        )
        try:
            for i, (host, port) in enumerate(hosts):
                services.append(Service(env, tmp_path / f"host-{i}.log", port=port, host=host))
            for s in services:
                wait_until(lambda s=s: "Application startup complete" in s.log(), 60, "start-up")

            placed = "SELECT count(*) FROM call_attempts WHERE provider_call_id IS NOT NULL"
            wait_until(
                lambda: query(database_url, placed)[0][0] >= CONTACTS, 60, "every call placed"
            )
            # Interviews under way on every host, then the leader dies in the middle of them.
            wait_until(lambda: len(proxy.served) == len(HOSTS), 60, "webhooks on every host")
            first = leader_pid(database_url)
            assert first is not None
            completes = "SELECT count(*) FROM survey_responses WHERE completed"
            assert query(database_url, completes)[0][0] < CONTACTS
            victim = next(s for s in services if s.proc.pid == first)
            killed_at = datetime.now()
            victim.kill()
            wait_until(
                lambda: (now := leader_pid(database_url)) is not None and now != first,
                15,
                "a new leader",
            )
            status = f"SELECT status FROM campaigns WHERE id = {campaign_id}"
            wait_until(lambda: query(database_url, status)[0][0] == "completed", 120, "completion")
        finally:
            # From here a stopping leader hands over to the next host, as it should.
            stopping_at = datetime.now()
            for s in services:
                s.stop()

    survivors = [s for s in services if s is not victim]
    assert all("Traceback" not in s.log() for s in survivors)
    # One leader at any time: the victim led from the start, and one survivor took over only
    # once it was dead; nobody lost the lock while believing it held it.
    assert len(took_the_lead(victim.log())) == 1
    successions = [at for s in survivors for at in took_the_lead(s.log()) if at < stopping_at]
    assert len(successions) == 1 and successions[0] >= killed_at, (killed_at, successions)
    assert all("leader lock lost" not in s.log() for s in services)
    assert duplicates(database_url) == []
    assert count_mismatches(database_url) == []
    states = query(database_url, "SELECT state, count(*) FROM contacts GROUP BY state")
    assert {r[0]: r[1] for r in states} == {"completed": CONTACTS}
    completes = "SELECT count(*) FROM survey_responses WHERE completed AND NOT superseded"
    assert query(database_url, completes)[0][0] == CONTACTS
    # Every host answered webhooks, and every pool went through the pooler.
    assert all(proxy.served[s.url] > 0 for s in services), proxy.served
    assert bouncer.logins(database) >= len(HOSTS)
    assert "DATABASE_URL goes through a pooler" in victim.log()
