"""`voicesurvey check`: the go-live checklist as a GO / NO-GO report."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from app.checks.gates import CheckContext, Verdict
from app.checks.service import CheckReport, run_checks
from app.cli.common import out, run, settings_or_exit
from app.db.engine import make_engine, resolve_databases
from app.logs import configure_logging

COLOURS = {Verdict.PASS: "green", Verdict.FAIL: "bold red", Verdict.SKIP: "yellow"}


def check(
    url: Annotated[
        str | None, typer.Option(help="Base URL of the running service, for the webhook probe.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    source: Annotated[
        Path | None, typer.Option(help="Source checkout to inspect for gate G0.1.")
    ] = None,
) -> None:
    """Run the checklist gates that can be checked from outside; exit 1 on NO-GO."""
    settings = settings_or_exit()
    configure_logging("WARNING", settings.log_format)

    async def work() -> CheckReport:
        # Not common.database(): that migrates, and a check must not change what it inspects.
        # The direct URL: the gates read pg_locks and catalog state of the real server, and the
        # direct connection settings would be refused by a transaction pooler.
        databases = await asyncio.to_thread(resolve_databases, settings)
        engine = make_engine(databases.direct_url, pool_size=2)
        try:
            ctx = CheckContext(settings, engine, url, source or _checkout())
            return await run_checks(ctx)
        finally:
            await engine.dispose()

    report = run(work)
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
    else:
        _print(report)
    if not report.go:
        raise typer.Exit(1)


def _print(report: CheckReport) -> None:
    table = Table("gate", "check", "result", "detail", "probe", show_lines=False)
    for r in report.results:
        colour = COLOURS[r.verdict]
        table.add_row(
            r.gate, r.title, f"[{colour}]{r.verdict}[/]", r.detail, r.probe.splitlines()[0]
        )
    out.print(table)
    if report.go:
        out.print("[bold green]GO[/]: every gate passed or does not apply; ready for Twilio live.")
    else:
        failed = ", ".join(r.gate for r in report.results if r.verdict is Verdict.FAIL)
        out.print(f"[bold red]NO-GO[/]: failed {failed}. Fix, then run the failed gate again.")


def _checkout() -> Path | None:
    """The source checkout this package runs from, if it is one."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "pyproject.toml").exists() else None
