"""MOCK_SIMULATION: the mock rings nobody, but simulated respondents drive the real webhooks.

The whole-campaign test serves the real application on a loopback port (its PUBLIC_BASE_URL), so
the simulated people call its webhooks over HTTP, in the mock provider's JSON dialect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings, SettingsError, get_settings
from app.dialogue.survey import Language
from app.dialogue.when import hear_callback
from app.main import create_app
from app.telephony.base import Answerer, CallReport, CallRequest, CallState
from app.telephony.factory import create_provider
from app.telephony.mock import MockProvider
from callsim.answers import HANG_UP, SILENCE, Answer
from callsim.people.mix import DEFAULT_MIX, Behaviour, parse_mix
from callsim.people.player import Simulation, person_for
from callsim.people.respondent import WORDS, Heard, SimulatedRespondent, answer_to
from tests.acceptance.processes import free_port
from tests.support.factories import call_window, campaign_document, csv_body
from tests.support.twilio_emulator import serve

ALL_DAY = call_window(
    start="00:00", end="23:59:59", days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
)
# Every behaviour about as likely. With this seed the twenty first attempts (ids 1-20, claimed
# in one tick) meet all nine behaviours, and the retries (21-26) meet voicemail, busy and no
# answer again, so some contacts end not reached.
# Every behaviour but `callback`, whose appointment is a minute away (test_followups.py and the
# Twilio end-to-end tests keep appointments).
EVEN_MIX = "complete=3,refuse=2,hangup=2,no_answer=2,busy=2,voicemail=2,repeat=2,skip=2,opt_out=2"
SEED = 75
NUMBERS = [f"+3902123400{n:02d}" for n in range(1, 21)]
QUESTIONS = {"satisfaction", "recommend", "channel", "comment"}

OUTCOME = {
    Behaviour.COMPLETE: "completed",
    Behaviour.REPEAT: "completed",
    Behaviour.SKIP: "completed",
    Behaviour.REFUSE: "refused",
    Behaviour.HANGUP: "partial",
    Behaviour.OPT_OUT: "opted_out",
    Behaviour.NO_ANSWER: "no_answer",
    Behaviour.BUSY: "busy",
    Behaviour.VOICEMAIL: "machine",
    Behaviour.CALLBACK: "callback_requested",
}
FINAL_STATE = {
    "completed": "completed",
    "refused": "refused",
    "partial": "partial",
    "opted_out": "do_not_call",
}
CALLBACKS_ANSWERED = {"initiated", "ringing", "in-progress", "completed"}


# --- settings --------------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("clean_env")
def test_simulation_is_off_by_default_with_a_valid_default_mix() -> None:
    settings = get_settings()

    assert settings.mock_simulation is False
    assert settings.mock_simulation_mix is None  # the simulation's default mix
    assert sum(parse_mix(DEFAULT_MIX).values()) == 100
    assert (settings.mock_simulation_seed, settings.mock_step_delay_seconds) == (0, 0.05)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(("value", "expected"), [("on", True), ("off", False), ("true", True)])
def test_mock_simulation_reads_on_and_off(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("MOCK_SIMULATION", value)

    assert get_settings().mock_simulation is expected


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    ("mix", "reason"),
    [
        ("complete=5,dance=3", "unknown behaviour 'dance'"),
        ("complete=-1", "must not be negative"),
        ("complete=lots", "whole number"),
        ("complete", "whole number"),
        ("complete=1,complete=2", "given twice"),
        ("complete=0,refuse=0", "more than 0"),
        ("", "more than 0"),
    ],
)
def test_a_bad_mix_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, mix: str, reason: str
) -> None:
    monkeypatch.setenv("MOCK_SIMULATION", "on")
    monkeypatch.setenv("MOCK_SIMULATION_MIX", mix)

    with pytest.raises(SettingsError, match=f"MOCK_SIMULATION_MIX: .*{reason}"):
        create_provider(get_settings())


def test_a_mix_may_leave_behaviours_out() -> None:
    mix = parse_mix(" complete = 1 , busy=0 ")

    assert mix == {Behaviour.COMPLETE: 1, Behaviour.BUSY: 0}
    assert {person_for(n, mix, 7)[0] for n in range(50)} == {Behaviour.COMPLETE}


def test_the_same_attempt_and_seed_meet_the_same_person() -> None:
    mix = parse_mix(DEFAULT_MIX)

    first = [person_for(n, mix, 1)[0] for n in range(200)]

    assert first == [person_for(n, mix, 1)[0] for n in range(200)]
    assert first != [person_for(n, mix, 2)[0] for n in range(200)]
    assert set(first) == set(Behaviour)


# --- what a simulated person says --------------------------------------------------------------


def gather(
    *prompts: str, language: str = "it-IT", hints: str = "", num_digits: int | None = None
) -> Heard:
    listed = tuple(h.strip() for h in hints.split(",") if h.strip())
    return Heard(0, language, prompts, listed, num_digits)


def conversation(behaviour: Behaviour, *gathers: Heard) -> list[Answer]:
    person = SimulatedRespondent(behaviour, random.Random(1))
    return [person(g) for g in gathers]


CONSENT = gather("Buongiorno.", "Ha due minuti? Risponda sì o no.", hints="sì, no", num_digits=1)
SCALE = gather(
    "Grazie.", "Da 1 a 10, quanto è soddisfatto?", hints=", ".join(map(str, range(1, 11)))
)
YES_NO = gather("Ci consiglierebbe?", hints="sì, no", num_digits=1)


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        (Behaviour.REFUSE, [Answer(speech="no, grazie")]),
        (Behaviour.OPT_OUT, [Answer(speech="sì, certo"), Answer(speech="non chiamatemi più")]),
        (Behaviour.SKIP, [Answer(speech="sì, certo"), Answer(digits="#")]),
        (Behaviour.REPEAT, [Answer(speech="sì, certo"), Answer(speech="può ripetere?")]),
    ],
)
def test_each_behaviour_has_its_twist(behaviour: Behaviour, expected: list[Answer]) -> None:
    assert conversation(behaviour, CONSENT, SCALE)[: len(expected)] == expected


@pytest.mark.parametrize("language", list(Language))
def test_a_person_who_wants_a_callback_asks_for_one_the_agent_understands(
    language: Language,
) -> None:
    consent = gather("Hello.", "Two minutes?", language=language.value)

    [said] = conversation(Behaviour.CALLBACK, consent)

    assert said.speech == WORDS[language].later
    ask = hear_callback(said.speech, language.value)
    assert ask is not None and ask.delay_minutes == 1


def test_the_twist_happens_once_then_the_person_answers() -> None:
    said = conversation(Behaviour.SKIP, CONSENT, SCALE, SCALE, YES_NO)

    assert said[1] == Answer(digits="#")
    assert said[2].speech in {str(n) for n in range(1, 11)}
    assert said[3].speech in {"sì", "no"}


def test_a_hanger_up_answers_one_question_and_hangs_up_at_the_next() -> None:
    said = conversation(Behaviour.HANGUP, CONSENT, SCALE, YES_NO)

    assert said[0] == Answer(speech="sì, certo") and said[1].speech is not None
    assert said[2] == HANG_UP


def test_answers_follow_the_hints_when_there_are_some() -> None:
    choice = gather("Preferisce telefono, email o negozio?", hints="telefono, email, negozio")
    rng = random.Random(3)

    picked = {answer_to(choice, WORDS[Language.IT], rng).speech for _ in range(30)}

    assert picked == {"telefono", "email", "negozio"}


@pytest.mark.parametrize(
    ("prompts", "language", "allowed"),
    [
        (("Da 0 a 100, quanto ci raccomanderebbe?",), "it-IT", range(0, 101)),
        (("How many times? Please answer with a number, at least 18.",), "en-US", [18]),
        (("Mi scusi, non ho capito.", "Risponda con un numero."), "it-IT", range(1, 6)),
        (("From one to fifty, how likely?",), "en-US", range(1, 51)),
    ],
)
def test_without_hints_a_number_fits_the_range_the_prompt_names(
    prompts: tuple[str, ...], language: str, allowed: Any
) -> None:
    rng = random.Random(5)
    heard = gather(*prompts, language=language)

    spoken = {answer_to(heard, WORDS[Language.IT], rng).speech for _ in range(20)}

    assert spoken <= {str(n) for n in allowed}


def test_a_question_with_no_hints_and_no_numbers_gets_a_comment_in_its_language() -> None:
    person = SimulatedRespondent(Behaviour.COMPLETE, random.Random(2))
    english = gather("Anything to improve?", language="en-US")

    said = [person(gather("Ok?", language="en-US", hints="yes, no")), person(english)]

    assert said[0] == Answer(speech="yes, sure")
    assert said[1].speech in WORDS[Language.EN].comments


# --- the provider ------------------------------------------------------------------------------


def test_the_factory_simulates_only_when_asked(make_settings: Callable[..., Settings]) -> None:
    plain = create_provider(make_settings())
    simulating = create_provider(make_settings(mock_simulation=True))

    assert isinstance(plain, MockProvider) and plain.simulation is None
    assert isinstance(simulating, MockProvider) and simulating.simulation is not None


def test_a_machine_answers_nothing() -> None:
    assert conversation(Behaviour.VOICEMAIL, CONSENT, SCALE) == [SILENCE, SILENCE]


class Recorder:
    """A stand-in service: records what the simulated call posts, hangs up at the second turn."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.turns: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.base_url = ""

    def asgi(self) -> FastAPI:
        app = FastAPI()

        @app.post("/events")
        async def events(request: Request) -> Response:
            self.events.append(await request.json())
            return Response(status_code=204)

        @app.post("/voice")
        async def voice(request: Request) -> dict[str, Any]:
            self.turns.append((dict(request.query_params), await request.json()))
            listen = None
            if len(self.turns) == 1:
                listen = {"hints": ["sì", "no"], "timeout_seconds": 5, "num_digits": 1,
                          "next": f"{self.base_url}/voice?attempt_id=4&turn=1"}  # fmt: skip
            return {"language": "it-IT", "say": ["Ha due minuti?"], "listen": listen}

        return app


async def test_a_simulated_call_drives_the_requests_webhooks_in_the_mock_dialect() -> None:
    recorder = Recorder()
    simulation = Simulation(parse_mix("complete=1"), step_delay=0)
    with serve(recorder.asgi()) as url:
        recorder.base_url = url
        request = CallRequest(
            4, "+393331234567", None, f"{url}/voice?attempt_id=4", f"{url}/events", 30, 900
        )
        call = await simulation.place("MK4", request)
        await asyncio.wait_for(call.finished.wait(), 10)
        await simulation.aclose()

    statuses = [(e["status"], e["sequence_number"]) for e in recorder.events]
    assert statuses == [("initiated", 0), ("ringing", 1), ("in-progress", 2), ("completed", 3)]
    assert all(e["provider_call_id"] == "MK4" for e in recorder.events)
    assert recorder.events[2]["answered_by"] == "human"
    assert recorder.events[-1]["duration"] == call.duration > 0
    (first_query, first), (second_query, second) = recorder.turns
    assert (first_query, first) == ({"attempt_id": "4"}, {"answered_by": "human"})
    assert second_query == {"attempt_id": "4", "turn": "1"}
    assert second["speech"] == "sì, certo" and 0 < second["confidence"] <= 1
    assert call.heard == ["Ha due minuti?", "Ha due minuti?"]
    assert simulation.report("MK4") == CallReport(
        CallState.COMPLETED, Answerer.HUMAN, call.duration
    )


async def test_aclose_stops_calls_still_playing_and_may_be_repeated() -> None:
    simulation = Simulation(parse_mix("complete=1"), step_delay=10)
    provider = MockProvider(simulation=simulation)
    request = CallRequest(
        1, "+393331234567", None, "http://127.0.0.1:9/v", "http://127.0.0.1:9/e", 30, 900
    )

    placed = await provider.initiate_call(request)
    report = await provider.fetch_call(placed.provider_call_id)
    await provider.aclose()
    await provider.aclose()

    assert placed.provider_call_id.startswith("MK")
    assert report.status is CallState.QUEUED
    assert (await provider.fetch_call("MKunknown")).status is None
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("call ")]
    call = simulation.calls[placed.provider_call_id]
    assert call.sequence == 0 and call.heard == []  # stopped before its first callback


async def test_hangup_ends_a_simulated_call_and_fetch_call_reports_it() -> None:
    provider = MockProvider(simulation=Simulation(parse_mix("complete=1"), step_delay=10))
    request = CallRequest(
        2, "+393331234567", None, "http://127.0.0.1:9/v", "http://127.0.0.1:9/e", 30, 900
    )
    placed = await provider.initiate_call(request)

    await provider.hangup(placed.provider_call_id)
    await provider.hangup(placed.provider_call_id)  # an ended call counts as success
    report = await provider.fetch_call(placed.provider_call_id)
    await provider.aclose()

    assert report.status == "canceled" and report.duration_seconds == 0


# --- a whole campaign over real HTTP ------------------------------------------------------------


def closing_provider(app: FastAPI) -> FastAPI:
    """Close the provider at shutdown, as the service's own lifespan is meant to."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[Any]:
        async with inner(application) as state:
            try:
                yield state
            finally:
                await application.state.provider.aclose()

    app.router.lifespan_context = lifespan
    return app


@contextlib.contextmanager
def simulated_service(
    make_settings: Callable[..., Settings], mix: str, seed: int
) -> Iterator[tuple[str, FastAPI]]:
    """The service on a free port, its scheduler ticking fast, the mock simulating `mix`."""
    port = free_port()
    settings = make_settings(
        scheduler_enabled=True,
        scheduler_interval_seconds=0.2,
        public_base_url=f"http://127.0.0.1:{port}",
        mock_simulation=True,
        mock_simulation_mix=mix,
        mock_simulation_seed=seed,
        mock_step_delay_seconds=0.01,
    )
    app = closing_provider(create_app(settings))
    with serve(app, port=port) as url:
        yield url, app


@pytest.fixture
def service(make_settings: Callable[..., Settings]) -> Iterator[tuple[str, FastAPI]]:
    with simulated_service(make_settings, EVEN_MIX, SEED) as running:
        yield running


async def run_campaign(api: httpx.AsyncClient, numbers: list[str]) -> int:
    document = campaign_document(
        call_window=ALL_DAY, max_attempts=2, retry_after_minutes=[0], max_concurrent_calls=20
    )
    created = await api.post("/api/campaigns", json=document)
    assert created.status_code == 201, created.text
    campaign_id = int(created.json()["id"])
    body = csv_body(["phone_number"], *[[n] for n in numbers])
    imported = await api.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=body.encode(),
        headers={"content-type": "text/csv"},
    )
    assert imported.json()["imported"] == len(numbers), imported.text
    assert (await api.post(f"/api/campaigns/{campaign_id}/start")).status_code == 200
    async with asyncio.timeout(60):
        while True:
            status = (await api.get(f"/api/campaigns/{campaign_id}")).json()["status"]
            if status == "completed":
                return campaign_id
            await asyncio.sleep(0.2)


async def fetch(sessions: async_sessionmaker[AsyncSession], sql: str) -> list[dict[str, Any]]:
    async with sessions() as session:
        return [dict(row) for row in (await session.execute(text(sql))).mappings()]


async def test_a_campaign_completes_against_simulated_respondents(
    service: tuple[str, FastAPI],
    sessions: async_sessionmaker[AsyncSession],
    make_settings: Callable[..., Settings],
) -> None:
    url, app = service
    async with httpx.AsyncClient(base_url=url, timeout=30, trust_env=False) as api:
        await run_campaign(api, NUMBERS)

    attempts = await fetch(
        sessions,
        "SELECT a.id, a.attempt_number, a.outcome, a.provider_call_id, c.phone_number, c.state "
        "FROM call_attempts a JOIN contacts c ON c.id = a.contact_id ORDER BY a.id",
    )
    met = {a["id"]: person_for(a["id"], parse_mix(EVEN_MIX), SEED)[0] for a in attempts}
    firsts = {met[a["id"]] for a in attempts if a["attempt_number"] == 1}
    assert firsts == set(parse_mix(EVEN_MIX)), "the seed should let twenty contacts meet all"
    # Every attempt ended as its simulated person behaved.
    assert {a["id"]: a["outcome"] for a in attempts} == {i: OUTCOME[b] for i, b in met.items()}
    check_contacts(attempts)
    check_responses(
        attempts,
        met,
        await fetch(sessions, "SELECT call_attempt_id, answers, completed FROM survey_responses"),
    )
    await check_callbacks(sessions, attempts)
    # On a first attempt: a later one may resume an interview past the question repeated.
    repeaters = [
        a["provider_call_id"]
        for a in attempts
        if met[a["id"]] is Behaviour.REPEAT and a["attempt_number"] == 1
    ]
    assert repeaters
    calls = app.state.provider.simulation.calls
    for sid in repeaters:
        heard = " ".join(calls[sid].heard)
        assert heard.count("quanto è soddisfatto") == 2, heard
    ledger = make_settings().mock_call_log.read_text().splitlines()
    assert sorted(json.loads(line)["attempt_id"] for line in ledger) == sorted(met)


def check_contacts(attempts: list[dict[str, Any]]) -> None:
    last: dict[str, dict[str, Any]] = {}
    for attempt in attempts:
        last[attempt["phone_number"]] = attempt
    assert set(last) == set(NUMBERS)
    for attempt in last.values():
        if attempt["outcome"] in FINAL_STATE:
            assert attempt["state"] == FINAL_STATE[attempt["outcome"]], attempt
        else:  # not answered by a person: retried once, then given up
            assert (attempt["attempt_number"], attempt["state"]) == (2, "not_reached"), attempt
    states = {a["state"] for a in last.values()}
    assert states == {"completed", "refused", "partial", "do_not_call", "not_reached"}


def check_responses(
    attempts: list[dict[str, Any]], met: dict[int, Behaviour], rows: list[dict[str, Any]]
) -> None:
    responses = {r["call_attempt_id"]: r for r in rows}
    for attempt in attempts:
        behaviour, response = met[attempt["id"]], responses.get(attempt["id"])
        if attempt["outcome"] == "completed":
            assert response is not None and response["completed"] is True
            answers = _json(response["answers"])
            assert set(answers) == QUESTIONS
            assert all(a.get("value") is not None or a.get("skipped") for a in answers.values())
            check_values(answers, skipped=behaviour is Behaviour.SKIP)
        elif attempt["outcome"] == "partial":
            assert response is not None and response["completed"] is False
            assert _json(response["answers"])["satisfaction"]["value"] in range(1, 11)
        elif attempt["outcome"] in ("refused", "no_answer", "busy", "machine"):
            assert response is None, attempt


def check_values(answers: dict[str, Any], *, skipped: bool) -> None:
    if skipped:
        assert answers["satisfaction"]["skipped"] == "skipped_by_respondent"
    else:
        assert answers["satisfaction"]["value"] in range(1, 11)
    assert answers["recommend"]["value"] in (True, False)
    assert answers["channel"]["value"] in ("telefono", "email", "negozio")
    assert answers["comment"]["value"] in {c for w in WORDS.values() for c in w.comments}


async def check_callbacks(
    sessions: async_sessionmaker[AsyncSession], attempts: list[dict[str, Any]]
) -> None:
    events = await fetch(
        sessions, "SELECT call_attempt_id, provider_call_id, status FROM telephony_events"
    )
    seen: dict[int, set[str]] = {}
    for event in events:
        seen.setdefault(event["call_attempt_id"], set()).add(event["status"])
    by_id = {a["id"]: a for a in attempts}
    assert all(
        e["provider_call_id"] == by_id[e["call_attempt_id"]]["provider_call_id"] for e in events
    )
    for attempt in attempts:
        final = {"no_answer": "no-answer", "busy": "busy"}.get(attempt["outcome"])
        expected = {"initiated", "ringing", final} if final else CALLBACKS_ANSWERED
        assert seen[attempt["id"]] == expected, attempt


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


# --- the questionnaire v2 against simulated respondents: branching, screen-outs, quotas ----------

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# People who all take the call, so every contact has one attempt (ids 1-24 whatever the order):
# with this seed two of them are minors, seven more are under 35, and some answers are heard
# with little confidence, said back, confirmed, and once denied and given again.
TALKERS_MIX = "complete=6,hangup=1,refuse=1,repeat=1,skip=1,opt_out=1"
TALKERS_SEED = 5
TALKERS = [(f"+3902123450{n:02d}", f"Persona {n}") for n in range(1, 25)]
# Two calls at a time: once the first interview under 35 completes, the quota is full, and any
# other respondent under 35 reaches `age` after that (at most one call is in progress meanwhile).
TALKERS_CONCURRENCY = 2
YOUNG = "18-34"
QUOTA_TARGETS = {YOUNG: 1, "35+": 1000}
ALL_QUESTIONS = ("satisfaction", "age", "letdown", "recommend", "channel", "comment")


@pytest.fixture
def talkers_service(make_settings: Callable[..., Settings]) -> Iterator[tuple[str, FastAPI]]:
    with simulated_service(make_settings, TALKERS_MIX, TALKERS_SEED) as running:
        yield running


def example_document() -> dict[str, Any]:
    """The Italian example, fielded now, with small quotas."""
    from app.web.bodies import load_yaml

    document: dict[str, Any] = load_yaml((EXAMPLES / "campaign-it.yaml").read_text("utf-8"))
    for quota in document["quotas"]:
        quota["target"] = QUOTA_TARGETS[quota["name"]]
    document.update(
        call_window=ALL_DAY,
        max_attempts=2,
        retry_after_minutes=[0],
        max_concurrent_calls=TALKERS_CONCURRENCY,
        # One call per talker, so each call can be checked against the behaviour drawn for it;
        # resumed interviews have their own tests (test_followups.py, the demo).
        resume_partials=False,
    )
    return document


async def run_example(api: httpx.AsyncClient) -> int:
    created = await api.post("/api/campaigns", json=example_document())
    assert created.status_code == 201, created.text
    campaign_id = int(created.json()["id"])
    body = csv_body(["phone_number", "name"], *TALKERS)
    imported = await api.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=body.encode(),
        headers={"content-type": "text/csv"},
    )
    assert imported.json()["imported"] == len(TALKERS), imported.text
    assert (await api.post(f"/api/campaigns/{campaign_id}/start")).status_code == 200
    async with asyncio.timeout(90):
        while True:
            status = (await api.get(f"/api/campaigns/{campaign_id}")).json()["status"]
            if status == "completed":
                return campaign_id
            await asyncio.sleep(0.2)


async def test_a_branching_campaign_with_screen_outs_and_quotas_completes(
    talkers_service: tuple[str, FastAPI], sessions: async_sessionmaker[AsyncSession]
) -> None:
    from app.campaigns.models import FINAL_CONTACT_STATES

    url, app = talkers_service
    async with httpx.AsyncClient(base_url=url, timeout=30, trust_env=False) as api:
        campaign_id = await run_example(api)

    contacts = await fetch(sessions, "SELECT state FROM contacts")
    assert {c["state"] for c in contacts} <= set(FINAL_CONTACT_STATES)
    attempts = await fetch(
        sessions,
        "SELECT a.id, a.outcome, a.provider_call_id, c.name, r.answers, r.completed, "
        "r.screened_out_by FROM call_attempts a JOIN contacts c ON c.id = a.contact_id "
        "LEFT JOIN survey_responses r ON r.call_attempt_id = a.id ORDER BY a.id",
    )
    assert [a["id"] for a in attempts] == list(range(1, len(TALKERS) + 1))
    met = {a["id"]: person_for(a["id"], parse_mix(TALKERS_MIX), TALKERS_SEED)[0] for a in attempts}
    calls = app.state.provider.simulation.calls
    screened: list[str] = []
    for attempt in attempts:
        behaviour, answers = met[attempt["id"]], _json(attempt["answers"] or {})
        heard = " ".join(calls[attempt["provider_call_id"]].heard)
        if attempt["outcome"] == "screened_out":
            screened.append(check_screened_out(attempt["screened_out_by"], answers))
        elif attempt["outcome"] == "completed":
            check_completed_v2(answers, heard, name=attempt["name"])
        else:
            assert attempt["outcome"] == OUTCOME[behaviour], attempt
        if attempt["outcome"] in ("screened_out", "completed"):
            assert behaviour in (Behaviour.COMPLETE, Behaviour.REPEAT, Behaviour.SKIP), attempt
    assert "question:age" in screened, "with this seed a minor is screened out"
    assert f"quota:{YOUNG}" in screened, "with this seed the full quota screens someone out"
    records = [r for a in attempts for r in _json(a["answers"] or {}).values()]
    assert any(r.get("confirmed") is True for r in records), "an answer said back and confirmed"
    assert any(r.get("corrected") is True for r in records), "an answer denied and given again"
    await check_quotas(sessions, campaign_id, attempts)


def check_screened_out(why: str | None, answers: dict[str, Any]) -> str:
    """Screened out at `age`, the question that decides both the screening and the quotas."""
    assert why is not None
    assert set(answers) == {"satisfaction", "age"}, answers
    age = answers["age"]["value"]
    if why == "question:age":
        assert age < 18
    else:
        assert why == f"quota:{YOUNG}" and 18 <= age < 35, (why, answers)
    return why


def check_completed_v2(answers: dict[str, Any], heard: str, *, name: str) -> None:
    assert set(answers) == set(ALL_QUESTIONS)
    satisfaction = answers["satisfaction"]["value"]
    if satisfaction is not None and satisfaction <= 6:
        assert answers["letdown"]["value"] in ("prezzi", "assistenza", "consegne")
        assert f"Ci ha dato {satisfaction} su 10." in heard  # the answer piped into the question
    else:  # satisfied, or the satisfaction question skipped: no value, so ask_if does not hold
        letdown = {k: v for k, v in answers["letdown"].items() if k != "attempt_id"}
        assert letdown == {
            "value": None, "raw": "", "confidence": None, "skipped": "not_applicable"
        }  # fmt: skip
        assert "Ci ha dato" not in heard
    assert answers["age"]["value"] >= 18
    assert f"Grazie {name} per il suo tempo." in heard  # the contact's name piped


async def check_quotas(
    sessions: async_sessionmaker[AsyncSession], campaign_id: int, attempts: list[dict[str, Any]]
) -> None:
    rows = await fetch(
        sessions,
        f"SELECT name, target, completes FROM campaign_quotas WHERE campaign_id = {campaign_id}",
    )
    quotas = {q["name"]: q for q in rows}
    ages = [_json(a["answers"])["age"]["value"] for a in attempts if a["completed"]]
    # Every completed interview counted once, in the quota its age falls in.
    assert quotas[YOUNG]["completes"] == sum(1 for age in ages if age < 35)
    assert quotas["35+"]["completes"] == sum(1 for age in ages if age >= 35)
    # Full, and past its target by at most the other interviews in progress when it filled.
    target = quotas[YOUNG]["target"]
    assert target <= quotas[YOUNG]["completes"] <= target + TALKERS_CONCURRENCY - 1


# --- what a simulated person does with the questionnaire v2 -------------------------------------


def test_an_age_question_gets_an_adult_age_or_a_minors() -> None:
    from callsim.people.respondent import MINOR_AGE

    rng = random.Random(4)
    ages = [gather("Quanti anni ha?", num_digits=3), gather("How old are you?", language="en-US")]

    adults = {answer_to(heard, WORDS[Language.IT], rng).speech for heard in ages * 20}
    minors = {answer_to(heard, WORDS[Language.IT], rng, minor=True).speech for heard in ages}

    assert adults <= {str(n) for n in range(18, 81)} and len(adults) > 5
    assert minors == {str(MINOR_AGE)}
    ranged = gather("Quanti anni ha? Risponda con un numero da 21 a 30.")
    assert answer_to(ranged, WORDS[Language.IT], rng, minor=True).speech == "21"


def test_one_person_in_ten_is_a_minor_and_stays_one() -> None:
    from callsim.people.respondent import MINOR_AGE

    def ages(seed: int) -> list[str | None]:
        person = SimulatedRespondent(Behaviour.COMPLETE, random.Random(seed))
        person(CONSENT)
        return [person(gather("Quanti anni ha?")).speech for _ in range(2)]

    said = [ages(seed) for seed in range(200)]

    minors = [a for a in said if a[0] == str(MINOR_AGE)]
    assert 5 <= len(minors) <= 40
    assert all(a == [str(MINOR_AGE)] * 2 for a in minors)
    assert said == [ages(seed) for seed in range(200)]  # the same seed, the same person


def test_an_answer_said_back_is_confirmed_or_once_denied_and_given_again() -> None:
    readback = gather("Ho capito 7, giusto?", hints="sì, no", num_digits=1)
    replies: list[list[str | None]] = []
    for seed in range(40):
        person = SimulatedRespondent(Behaviour.COMPLETE, random.Random(seed))
        first = [person(CONSENT), person(SCALE)]
        then = [person(readback), person(SCALE), person(readback), person(YES_NO)]
        replies.append([a.speech for a in (*first, *then)])

    confirmed = [r for r in replies if r[2] == "sì, certo"]
    denied = [r for r in replies if r[2] == "no"]
    assert confirmed and denied and len(confirmed) + len(denied) == len(replies)
    # After a "no" the question comes back: the same answer again; and no second "no".
    assert all(r[3] == r[1] and r[4] == "sì, certo" for r in denied)


def test_now_and_then_an_answer_is_heard_with_little_confidence() -> None:
    from callsim.people.respondent import UNSURE_CONFIDENCE

    person = SimulatedRespondent(Behaviour.COMPLETE, random.Random(8))
    consent = person(CONSENT)

    confidences = [person(SCALE).confidence for _ in range(200)]

    low = [c for c in confidences if c < 0.9]
    assert 5 <= len(low) <= 40
    assert all(UNSURE_CONFIDENCE[0] <= c <= UNSURE_CONFIDENCE[1] for c in low)
    assert consent == Answer(speech="sì, certo")  # only answers to questions: consent is clear


# --- people who ring the number back -----------------------------------------------------------

CALLERS_BACK = [f"+3902123460{n:02d}" for n in range(1, 5)]


@pytest.fixture
def callers_back_service(make_settings: Callable[..., Settings]) -> Iterator[tuple[str, FastAPI]]:
    with simulated_service(make_settings, "calls_back=1", SEED) as running:
        yield running


async def test_a_person_who_missed_the_call_rings_back_and_takes_the_survey(
    callers_back_service: tuple[str, FastAPI], sessions: async_sessionmaker[AsyncSession]
) -> None:
    url, app = callers_back_service
    # A retry an hour away: the dialler waits, the person rings back first.
    document = campaign_document(
        call_window=ALL_DAY, max_attempts=2, retry_after_minutes=[60], max_concurrent_calls=4
    )
    async with httpx.AsyncClient(base_url=url, timeout=30, trust_env=False) as api:
        created = await api.post("/api/campaigns", json=document)
        campaign_id = int(created.json()["id"])
        body = csv_body(["phone_number"], *[[n] for n in CALLERS_BACK])
        await api.post(
            f"/api/campaigns/{campaign_id}/contacts",
            content=body.encode(),
            headers={"content-type": "text/csv"},
        )
        assert (await api.post(f"/api/campaigns/{campaign_id}/start")).status_code == 200
        async with asyncio.timeout(60):
            while True:
                status = (await api.get(f"/api/campaigns/{campaign_id}")).json()["status"]
                if status == "completed":
                    break
                await asyncio.sleep(0.2)

    attempts = await fetch(
        sessions,
        "SELECT contact_id, attempt_number, direction, outcome FROM call_attempts "
        "ORDER BY contact_id, attempt_number",
    )
    by_contact: dict[int, list[tuple[str, str]]] = {}
    for a in attempts:
        by_contact.setdefault(a["contact_id"], []).append((a["direction"], a["outcome"]))
    assert list(by_contact.values()) == [
        [("outbound", "no_answer"), ("inbound", "completed")]
    ] * len(CALLERS_BACK)
    states = await fetch(sessions, "SELECT state FROM contacts")
    assert {s["state"] for s in states} == {"completed"}
    calls = app.state.provider.simulation.calls
    thanked = [c for c in calls.values() if c.call_id.endswith("B")]
    assert len(thanked) == len(CALLERS_BACK)
    assert all("Grazie per averci richiamato." in c.heard for c in thanked)
