"""`voicesurvey dnc …`: the do-not-call list, thin calls into the suppression services."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

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
from app.suppression import service
from app.suppression.schemas import (
    DEFAULT_REASON,
    DoNotCallPage,
    DoNotCallReport,
    DoNotCallUpload,
    Reason,
    Source,
)

dnc_cli = typer.Typer(help="The do-not-call list.", no_args_is_help=True)

REJECTIONS_SHOWN = 50


@dnc_cli.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="One number per line, CSV with a phone_number column, or JSON.")
    ],
    source: Annotated[str, typer.Option(help="Where the list comes from.")] = "import",
    reason: Annotated[str, typer.Option(help="Why these numbers are listed.")] = DEFAULT_REASON,
    region: Annotated[
        str | None, typer.Option(help="Region of numbers written without +country (IT, GB…).")
    ] = None,
) -> None:
    """List every number of a file in one transaction; rejected rows are listed with the reason."""
    source, reason = _text(Source, "--source", source), _text(Reason, "--reason", reason)
    if file.suffix.lower() == ".json":
        report = _import_json(file, source, reason, region)
    else:
        report = _import_list(file, source, reason, region)
    _print_import(report)
    if report.added + report.duplicates == 0 and report.rejected_total:
        raise typer.Exit(1)


def _import_list(file: Path, source: str, reason: str, region: str | None) -> DoNotCallReport:
    size = file_size(file)

    async def work() -> DoNotCallReport:
        async with database(settings_or_exit()) as sessions, sessions() as session:
            columns = (
                TextColumn("[bold]checking numbers"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
            )
            with Progress(*columns, console=err, transient=True) as progress:
                task = progress.add_task("import", total=size)
                return await service.import_list(
                    session=session,
                    body=file_chunks(file, 4 << 20),
                    source=source,
                    reason=reason,
                    region=region,
                    progress=lambda n: progress.advance(task, n),
                )

    return run(work)


def _import_json(file: Path, source: str, reason: str, region: str | None) -> DoNotCallReport:
    try:
        upload = DoNotCallUpload.model_validate_json(file_bytes(file))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        fail(f"{file}: {where}: {first['msg']}")

    async def work() -> DoNotCallReport:
        async with database(settings_or_exit()) as sessions, sessions() as session:
            return await service.import_numbers(
                session=session,
                numbers=upload.numbers,
                source=upload.source or source,
                reason=upload.reason or reason,
                region=upload.region or region,
            )

    return run(work)


def _text(kind: Any, option: str, value: str) -> str:
    try:
        checked: str = TypeAdapter(kind).validate_python(value)
    except ValidationError as exc:
        fail(f"{option}: {exc.errors()[0]['msg']}")
    return checked


def _print_import(report: DoNotCallReport) -> None:
    out.print(
        f"added {report.added:,} numbers to the do-not-call list "
        f"({report.duplicates:,} already listed or repeated), rejected {report.rejected_total:,}; "
        f"{report.contacts_suppressed:,} pending contacts will not be called"
    )
    for rejection in report.rejected[:REJECTIONS_SHOWN]:
        out.print(f"  row {rejection.row}: {rejection.error}")
    if report.rejected_total > REJECTIONS_SHOWN:
        out.print(f"  … and {report.rejected_total - REJECTIONS_SHOWN:,} more")


@dnc_cli.command("list")
def list_(
    search: Annotated[
        str | None, typer.Option(help="A number, or its first digits (+3902).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Entries to show.")] = 50,
    after: Annotated[
        str | None, typer.Option(help="Show the entries after this one (the next page).")
    ] = None,
) -> None:
    """Show the list in number order, with each entry's source, reason and date."""

    async def work() -> DoNotCallPage:
        async with database(settings_or_exit()) as sessions, sessions() as session:
            return await service.list_entries(
                session=session, search=search, limit=limit, after=after
            )

    page = run(work)
    table = Table("number", "source", "reason", "campaign", "added")
    for entry in page.entries:
        table.add_row(
            entry.phone_number,
            entry.source,
            entry.reason,
            "" if entry.campaign_id is None else str(entry.campaign_id),
            f"{entry.created_at:%Y-%m-%d %H:%M}",
        )
    out.print(table)
    if page.next is not None:
        out.print(f"more: --after {json.dumps(page.next)}")


@dnc_cli.command("remove")
def remove(
    number: Annotated[str, typer.Argument(help="The number, in international format.")],
) -> None:
    """Take a number off the do-not-call list."""

    async def work() -> None:
        async with database(settings_or_exit()) as sessions, sessions() as session:
            await service.remove(session=session, number=number)

    run(work)
    out.print(f"removed {number.strip()} from the do-not-call list")
