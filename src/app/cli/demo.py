"""`voicesurvey demo`: a simulated campaign end to end, through the real service.

The service runs in this process on a loopback port with its scheduler, the mock provider and
simulated respondents; they drive the same voice and status webhooks Twilio would, over HTTP.
The campaign is an example in `examples/` (Italian, English, or both languages with each
contact's own), with the call window opened around the clock, two attempts per contact and the
retry delays cut to zero, so that it finishes in about a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import uvicorn
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.cli.common import err, fail, out, run, settings_or_exit
from app.cli.results import print_results
from app.config import Settings
from app.main import create_app
from app.web.bodies import load_yaml

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
DEMO_DATA = Path(".data/demo-postgres")
FINAL_STATES = (
    "completed",
    "refused",
    "partial",
    "not_reached",
    "failed",
    "do_not_call",
    "screened_out",
)
EXAMPLE_LANGUAGES = ("it", "en", "bilingual")
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def demo(
    contacts: Annotated[int, typer.Option(min=1, help="How many example contacts to call.")] = 50,
    language: Annotated[
        str, typer.Option(help="it (Italian), en (English) or bilingual (both) example.")
    ] = "it",
    concurrency: Annotated[int, typer.Option(min=1, help="Calls at the same time.")] = 10,
) -> None:
    """Run a simulated campaign end to end and show its results."""
    if language not in EXAMPLE_LANGUAGES:
        fail("--language must be it, en or bilingual")
    document, csv_rows = _example(language, contacts)
    document.update(
        call_window={"start": "00:00", "end": "23:59:59", "days": ALL_DAYS},
        retry_after_minutes=[0],
        max_attempts=2,
        max_concurrent_calls=concurrency,
    )
    settings = settings_or_exit()
    try:
        run(lambda: _demo(settings, document, csv_rows))
    except KeyboardInterrupt:
        err.print("demo stopped; the service shut down cleanly")
        raise typer.Exit(130) from None


async def _demo(settings: Settings, document: dict[str, Any], csv_rows: str) -> None:
    async with _service(settings) as api:
        campaign_id = await _set_up(api, document, csv_rows)
        await _follow(api, campaign_id, total=csv_rows.count("\n") - 1)
        await print_results(api, campaign_id)


@contextlib.asynccontextmanager
async def _service(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app on a free loopback port, with simulated respondents."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    demo_settings = _demo_settings(settings, base)
    config = uvicorn.Config(create_app(demo_settings), log_level="warning", lifespan="on")
    server = _InProcessServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        with out.status("starting the service (embedded PostgreSQL, scheduler, mock provider)…"):
            while not server.started:
                if task.done():
                    fail("the service did not start; see the log above")
                await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=base, timeout=30, trust_env=False) as api:
            yield api
    finally:
        server.should_exit = True
        await asyncio.shield(task)
        sock.close()


class _InProcessServer(uvicorn.Server):
    """Uvicorn without its own signal handlers: Ctrl-C cancels the demo, which then stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _demo_settings(settings: Settings, base_url: str) -> Settings:
    update: dict[str, Any] = {
        "telephony_provider": "mock",
        "mock_simulation": True,
        # Slow enough to watch the calls progress, quick enough to finish in about a minute.
        "mock_step_delay_seconds": 0.25,
        "public_base_url": base_url,
        "scheduler_enabled": True,
        "scheduler_interval_seconds": 0.5,
        "dispatch_calls_per_second": 0,
        "log_level": "WARNING",
        "admin_api_token": None,
    }
    if settings.database_url is None:
        # A fresh embedded database every run, so the results are this run's alone.
        shutil.rmtree(DEMO_DATA, ignore_errors=True)
        update["embedded_pg_dir"] = DEMO_DATA
    return settings.model_copy(update=update)


async def _set_up(api: httpx.AsyncClient, document: dict[str, Any], csv_rows: str) -> int:
    created = await api.post("/api/campaigns", json=document)
    _ok(created, "create the campaign")
    campaign_id = int(created.json()["id"])
    imported = await api.post(
        f"/api/campaigns/{campaign_id}/contacts",
        content=csv_rows.encode(),
        headers={"content-type": "text/csv"},
    )
    _ok(imported, "import the contacts")
    _ok(await api.post(f"/api/campaigns/{campaign_id}/start"), "start the campaign")
    out.print(
        f"campaign {campaign_id} [bold]{document['name']}[/] started: "
        f"{imported.json()['imported']} contacts, up to {document['max_concurrent_calls']} calls "
        "at once, simulated respondents"
    )
    console = f"{str(api.base_url).rstrip('/')}/console/campaigns/{campaign_id}"
    out.print(f"watch it in the operator console: {console}")
    return campaign_id


async def _follow(api: httpx.AsyncClient, campaign_id: int, *, total: int) -> None:
    """A live progress bar until the campaign has nothing left to do."""
    columns = (
        TextColumn("[bold]calling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[states]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=out) as progress:
        bar = progress.add_task("calls", total=total, states="")
        while True:
            stats = (await api.get(f"/api/campaigns/{campaign_id}/stats")).json()
            contacts = stats["contacts"]
            done = sum(contacts.get(state, 0) for state in FINAL_STATES)
            states = "  ".join(f"{k} {v}" for k, v in contacts.items() if v)
            progress.update(bar, completed=done, states=states)
            if stats["status"] == "completed":
                return
            await asyncio.sleep(0.5)


def _example(language: str, contacts: int) -> tuple[dict[str, Any], str]:
    campaign_file = EXAMPLES / f"campaign-{language}.yaml"
    contacts_file = EXAMPLES / f"contacts-{language}.csv"
    if not campaign_file.exists() or not contacts_file.exists():
        fail(f"the demo needs {campaign_file} and {contacts_file} (run it from a checkout)")
    document: dict[str, Any] = load_yaml(campaign_file.read_text(encoding="utf-8"))
    lines = contacts_file.read_text(encoding="utf-8").splitlines()
    if contacts > len(lines) - 1:
        fail(f"{contacts_file.name} has {len(lines) - 1} contacts; ask for fewer")
    return document, "\n".join(lines[: contacts + 1]) + "\n"


def _ok(response: httpx.Response, what: str) -> None:
    if response.is_error:
        fail(f"could not {what}: HTTP {response.status_code} {response.text[:200]}")
