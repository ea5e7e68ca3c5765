"""Calls to the number and the dialler race for the same contacts, across several real service
processes: one open attempt per contact at any time, no duplicate attempt number, and no call
placed to a contact while its inbound interview is open.

Three services share one database; the elected leader dials (the mock provider's simulated
respondents never answer, so every contact is back in the queue a moment later), while many
concurrent calls to the number, some delivered twice at once to different processes, come in
for the same few contacts. Each inbound interview is ended by the number's status callback.
"""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.acceptance.processes import Service, free_port, service_env, wait_until
from tests.support.syncdb import count_mismatches, duplicates, query, seed

pytestmark = pytest.mark.acceptance

CONTACTS = 8
FIRST_NUMBER = 3_331_000_000  # +39 333 1000001...: Italian mobile numbers
NUMBERS = [f"+39{FIRST_NUMBER + n}" for n in range(1, CONTACTS + 1)]
RACE_SECONDS = 12
CALLERS = 6  # calls to the number in flight at once
OPEN_TWICE = """
SELECT contact_id FROM call_attempts WHERE ended_at IS NULL GROUP BY 1 HAVING count(*) > 1
"""


@dataclass
class Interview:
    """An inbound interview as the callers saw it: open at least from `opened` to `closing`."""

    number: str
    attempt_id: int
    opened: float  # its first reply had arrived: the attempt was committed, open
    closing: float = 0.0  # the status callback that ends it was about to be sent


@dataclass
class Record:
    answers: list[int] = field(default_factory=list)  # status codes, every request
    interviews: list[Interview] = field(default_factory=list)
    messages: int = 0  # callers told who calls: the contact was busy (or out of attempts)
    open_twice: int = 0  # samples finding two open attempts for one contact
    lock: threading.Lock = field(default_factory=threading.Lock)


class Callers:
    """Many respondents calling the number back, some requests delivered twice at once."""

    def __init__(self, services: list[Service], database_url: str) -> None:
        self.services, self.database_url = services, database_url
        self.record = Record()
        self.rng = random.Random(11)
        self.sequence = 0

    def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with ThreadPoolExecutor(CALLERS + 1) as pool:
            sampler = pool.submit(self._sample, deadline)
            for future in [pool.submit(self._calls, deadline) for _ in range(CALLERS)]:
                future.result()
            sampler.result()

    def _calls(self, deadline: float) -> None:
        with httpx.Client(timeout=20) as client:
            while time.monotonic() < deadline:
                self._one_call(client)

    def _one_call(self, client: httpx.Client) -> None:
        with self.record.lock:
            self.sequence += 1
            call_id = f"MKinbound{self.sequence}"
            number = self.rng.choice(NUMBERS)
            twice = self.rng.random() < 0.3
            services = self.rng.sample(self.services, 2)
            hold = self.rng.uniform(0.0, 0.3)
        body = {"call_id": call_id, "from": number, "to": "+390212345678"}
        if twice:  # a redelivery racing the original, in another process
            with ThreadPoolExecutor(2) as pool:
                replies = list(pool.map(lambda s: self._post(client, s, body), services))
        else:
            replies = [self._post(client, services[0], body)]
        # Two deliveries may see the contact at different moments (busy, then free), but one
        # call never makes two attempts.
        attempts = {_attempt_of(r) for r in replies if r is not None} - {None}
        assert len(attempts) <= 1, f"one call made several attempts: {attempts}"
        attempt_id = next(iter(attempts), None)
        if attempt_id is None:
            with self.record.lock:
                self.record.messages += 1
            return
        interview = Interview(number, attempt_id, opened=time.time())
        time.sleep(hold)
        interview.closing = time.time()
        ended = {"provider_call_id": call_id, "status": "completed", "duration": 3}
        url = f"{self.rng.choice(self.services).url}/webhooks/telephony/events"
        status = client.post(url, json=ended).status_code
        with self.record.lock:
            self.record.answers.append(status)
            self.record.interviews.append(interview)

    def _post(
        self, client: httpx.Client, service: Service, body: dict[str, str]
    ) -> dict[str, object] | None:
        response = client.post(f"{service.url}/webhooks/telephony/inbound", json=body)
        with self.record.lock:
            self.record.answers.append(response.status_code)
        return response.json() if response.status_code == 200 else None

    def _sample(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if query(self.database_url, OPEN_TWICE):
                with self.record.lock:
                    self.record.open_twice += 1
            time.sleep(0.2)


def _attempt_of(reply: dict[str, object]) -> int | None:
    """The attempt a survey reply listens for (its voice URL); None for the message."""
    listen = reply.get("listen")
    if not isinstance(listen, dict) or "/webhooks/telephony/voice" not in str(listen["next"]):
        return None
    return int(parse_qs(urlsplit(str(listen["next"])).query)["attempt_id"][0])


def _service(database_url: str, tmp_path: Path, index: int) -> Service:
    port = free_port()
    env = service_env(
        database_url,
        MOCK_SIMULATION="on",
        MOCK_SIMULATION_MIX="no_answer=1,busy=1",
        MOCK_STEP_DELAY_SECONDS="0.05",
        MOCK_CALL_LOG=str(tmp_path / "calls.jsonl"),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        SCHEDULER_INTERVAL_SECONDS="0.2",
        LOG_LEVEL="WARNING",
    )
    return Service(env, tmp_path / f"service-{index}.log", port=port)


def test_calls_to_the_number_race_the_dialler_for_the_same_contacts(
    database_url: str, tmp_path: Path
) -> None:
    seed(
        database_url,
        contacts=CONTACTS,
        max_attempts=10_000,
        retry_after_minutes=[0],
        first_number=FIRST_NUMBER,
    )
    services = [_service(database_url, tmp_path, i) for i in range(3)]
    callers = Callers(services, database_url)
    try:
        for s in services:
            wait_until(lambda s=s: "Application startup complete" in s.log(), 60, "start-up")
        callers.run(RACE_SECONDS)
        still_open = "SELECT count(*) FROM call_attempts WHERE ended_at IS NULL"
        query(database_url, "UPDATE campaigns SET status = 'paused'")  # the dialler stops
        wait_until(lambda: query(database_url, still_open)[0][0] == 0, 20, "calls to end")
    finally:
        for s in services:
            s.stop()

    record = callers.record
    # Every request was answered, none with a 500: the unique index never had to say no.
    assert set(record.answers) <= {200, 204}, sorted(set(record.answers))
    assert record.open_twice == 0
    assert duplicates(database_url) == [] and count_mismatches(database_url) == []
    numbering = query(
        database_url,
        "SELECT contact_id, array_agg(attempt_number ORDER BY attempt_number) AS numbers "
        "FROM call_attempts GROUP BY contact_id",
    )
    assert all(list(r["numbers"]) == list(range(1, len(r["numbers"]) + 1)) for r in numbering)
    # The race was real: both sides took the same contacts, and callers found them busy.
    inbound = query(database_url, "SELECT count(*) FROM call_attempts WHERE direction = 'inbound'")
    placed = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert inbound[0][0] == len(record.interviews) > 0
    assert len(placed) > 0 and record.messages > 0
    _assert_no_call_during_an_interview(database_url, placed, record.interviews)
    assert not any("Traceback" in s.log() for s in services)


def _assert_no_call_during_an_interview(
    database_url: str, placed: list[dict[str, object]], interviews: list[Interview]
) -> None:
    """No call was placed to a contact between its interview's first reply and its end."""
    rows = query(
        database_url,
        "SELECT a.id, c.phone_number, a.direction FROM call_attempts a "
        "JOIN contacts c ON c.id = a.contact_id",
    )
    number_of = {r["id"]: r["phone_number"] for r in rows}
    assert {r["direction"] for r in rows if r["id"] in {p["attempt_id"] for p in placed}} == {
        "outbound"
    }
    for interview in interviews:
        during = [
            p
            for p in placed
            if number_of[p["attempt_id"]] == interview.number
            and interview.opened < float(str(p["at"])) < interview.closing
        ]
        assert during == [], f"called while attempt {interview.attempt_id} was open: {during}"
