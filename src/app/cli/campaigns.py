"""`voicesurvey campaign …` and `voicesurvey contacts import`: thin calls into the services."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from app.campaigns import service
from app.campaigns.schemas import CampaignDocument, ImportReport
from app.cli.common import (
    database,
    err,
    fail,
    file_bytes,
    file_chunks,
    file_size,
    out,
    run,
    settings_or_exit,
)
from app.suppression.erasure import forget as forget_number
from app.suppression.schemas import ErasureReport
from app.web.bodies import load_yaml

campaign_cli = typer.Typer(help="Create, list and steer campaigns.", no_args_is_help=True)
contacts_cli = typer.Typer(help="Contact lists.", no_args_is_help=True)

CampaignId = Annotated[int, typer.Argument(help="Campaign id.")]
REJECTIONS_SHOWN = 50


def read_document(path: Path) -> CampaignDocument:
    """Read and validate a campaign document (YAML or JSON); one line on any error."""
    raw = _read(path)
    try:
        data = json.loads(raw) if path.suffix.lower() == ".json" else load_yaml(raw)
    except ValueError as exc:
        fail(f"{path}: not valid JSON: {exc}")
    except RequestValidationError as exc:
        fail(f"{path}: {exc.errors()[0]['msg']}")
    try:
        return CampaignDocument.model_validate(data)
    except ValidationError as exc:
        fail(f"{path}: " + "; ".join(_field_error(e) for e in exc.errors()))


@campaign_cli.command("create")
def create(file: Annotated[Path, typer.Argument(help="Campaign document, YAML or JSON.")]) -> None:
    """Create a draft campaign from a campaign document."""
    document = read_document(file)

    async def work() -> int:
        async with database(settings_or_exit()) as sessions, sessions() as session:
            return (await service.create_campaign(session=session, document=document)).id

    campaign_id = run(work)
    out.print(f"created campaign {campaign_id} ({document.name}), status draft")


@campaign_cli.command("list")
def list_() -> None:
    """List campaigns, newest first."""

    async def work() -> list[tuple[Any, int]]:
        async with database(settings_or_exit()) as sessions, sessions() as session:
            return list(
                await service.list_campaigns(session=session, status=None, limit=1000, offset=0)
            )

    table = Table("id", "name", "status", "language", "contacts", "created")
    for campaign, total in run(work):
        table.add_row(
            str(campaign.id),
            campaign.name,
            campaign.status,
            campaign.language,
            str(total),
            f"{campaign.created_at:%Y-%m-%d %H:%M}",
        )
    out.print(table)


@campaign_cli.command("show")
def show(campaign_id: CampaignId) -> None:
    """Show one campaign's settings."""

    async def work() -> tuple[Any, int]:
        async with database(settings_or_exit()) as sessions, sessions() as session:
            return await service.get_campaign(session=session, campaign_id=campaign_id)

    campaign, total = run(work)
    table = Table(show_header=False)
    window = campaign.call_window
    rows = {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "language": campaign.language,
        "caller id": campaign.caller_id or "(TWILIO_FROM_NUMBER)",
        "time zone": campaign.timezone,
        "call window": f"{window['start']}-{window['end']} {','.join(window['days'])}",
        "max attempts": campaign.max_attempts,
        "retry after (min)": ", ".join(map(str, campaign.retry_after_minutes)),
        "retry rules (min)": _retry_rules(campaign.retry_rules),
        "calling dates": _calling_dates(campaign.not_before, campaign.not_after),
        "blackout dates": _blackout_dates(window.get("blackout_dates") or []),
        "resume partials": "yes" if campaign.resume_partials else "no",
        "max concurrent calls": campaign.max_concurrent_calls,
        "max call minutes": campaign.max_call_minutes,
        "questions": len(campaign.definition.get("questions", [])),
        "contacts": total,
    }
    for key, value in rows.items():
        table.add_row(key, str(value))
    out.print(table)


def _retry_rules(rules: dict[str, int | list[int]]) -> str:
    """`busy 15; no_answer 60, 240`, or what every outcome waits without a rule."""
    if not rules:
        return "none (retry after)"
    return "; ".join(
        f"{outcome} {', '.join(map(str, delay if isinstance(delay, list) else [delay]))}"
        for outcome, delay in sorted(rules.items())
    )


def _blackout_dates(dates: list[str], shown: int = 10) -> str:
    # A year of holidays would fill the screen: the first ones tell what the list is.
    if not dates:
        return "none"
    listed = ", ".join(sorted(dates)[:shown])
    return listed if len(dates) <= shown else f"{listed} … ({len(dates)} in all)"


def _calling_dates(first: date | None, last: date | None) -> str:
    if first is None and last is None:
        return "any"
    return f"{first or 'any'} to {last or 'any'}"


def _status_command(action: str, done: str) -> None:
    def command(campaign_id: CampaignId) -> None:
        async def work() -> None:
            async with database(settings_or_exit()) as sessions, sessions() as session:
                await service.change_status(session=session, campaign_id=campaign_id, action=action)

        run(work)
        out.print(f"campaign {campaign_id} {done}")

    command.__doc__ = f"{action.capitalize()} a campaign."
    campaign_cli.command(action)(command)


for _action, _done in (
    ("start", "started"),
    ("pause", "paused"),
    ("resume", "resumed"),
    ("cancel", "cancelled"),
):
    _status_command(_action, _done)


@contacts_cli.command("import")
def import_(
    campaign_id: CampaignId,
    file: Annotated[Path, typer.Argument(help="Contacts, CSV with a header or a JSON list.")],
) -> None:
    """Import contacts in one transaction; rejected rows are listed with their reason."""
    size = file_size(file)
    kind = "application/json" if file.suffix.lower() == ".json" else "text/csv"

    async def work() -> ImportReport:
        async with database(settings_or_exit()) as sessions, sessions() as session:
            columns = (
                TextColumn("[bold]checking rows"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
            )
            with Progress(*columns, console=err, transient=True) as progress:
                task = progress.add_task("import", total=size)
                return await service.import_contacts(
                    session=session,
                    campaign_id=campaign_id,
                    body=file_chunks(file),
                    media_type=kind,
                    progress=lambda n: progress.advance(task, n),
                )

    report = run(work)
    _print_import(report)
    if report.imported == 0 and report.rejected_total:
        raise typer.Exit(1)


def _print_import(report: ImportReport) -> None:
    out.print(
        f"imported {report.imported:,} contacts "
        f"({report.do_not_call:,} on the do-not-call list), rejected {report.rejected_total:,}"
    )
    for rejection in report.rejected[:REJECTIONS_SHOWN]:
        out.print(f"  row {rejection.row}: {rejection.error}")
    if report.rejected_total > REJECTIONS_SHOWN:
        out.print(f"  … and {report.rejected_total - REJECTIONS_SHOWN:,} more")


@contacts_cli.command("forget")
def forget(
    number: Annotated[str, typer.Argument(help="The person's phone number, +country code first.")],
) -> None:
    """Erase a person from every campaign; their number stays on the do-not-call list as a hash."""

    async def work() -> ErasureReport:
        async with database(settings_or_exit()) as sessions, sessions() as session:
            return await forget_number(session=session, number=number)

    report = run(work)
    if report.already_forgotten:
        out.print("already forgotten: nothing of this number was left to erase")
        return
    if not report.contacts_erased:
        out.print("no contact has this number; it is on the do-not-call list now, as a hash only")
        return
    out.print(
        f"erased {report.contacts_erased:,} contacts in {report.campaigns:,} campaigns; "
        "the number stays on the do-not-call list, as a hash only"
    )


def _read(path: Path) -> str:
    try:
        return file_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8 text")


def _field_error(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "document"
    return f"{where}: {error['msg']}"
