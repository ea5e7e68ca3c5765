"""`voicesurvey report`, `voicesurvey export` and `voicesurvey audit`."""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from app.cli.common import database, err, out, run, settings_or_exit
from app.cli.results import render_report
from app.reports.audit import COLUMNS as AUDIT_COLUMNS
from app.reports.audit import audit_rows, csv_detail
from app.reports.export import (
    count_responses,
    csv_cell,
    iter_response_rows,
    response_layout,
    write_csv,
)
from app.reports.service import campaign_report

CampaignId = Annotated[int, typer.Argument(help="Campaign id.")]


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


def report(
    campaign_id: CampaignId,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Contacts by state, AAPOR dispositions and rates, quota fill, and the answers per question."""

    async def work() -> dict[str, Any]:
        async with database(settings_or_exit()) as sessions, sessions() as session:
            result = await campaign_report(session=session, campaign_id=campaign_id)
            return result.model_dump(mode="json")

    data = run(work)
    if as_json:
        out.print_json(json.dumps(data))
    else:
        render_report(data)


def export(
    campaign_id: CampaignId,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")] = ExportFormat.csv,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    include_phone: Annotated[
        bool, typer.Option(help="Include full phone numbers (default: masked).")
    ] = False,
) -> None:
    """Write one row per interview (answers, skips, disposition, timestamps), and one per
    contact with an appointment but no interview yet."""

    async def work() -> int:
        async with database(settings_or_exit()) as sessions, sessions() as session:
            total = await count_responses(session=session, campaign_id=campaign_id)
            layout = await response_layout(
                session=session, campaign_id=campaign_id, include_phone=include_phone
            )
            with _target(output) as stream, _progress(total, output) as tick:
                rows = _counted(
                    iter_response_rows(
                        session=session, campaign_id=campaign_id, include_phone=include_phone
                    ),
                    tick,
                )
                if fmt is ExportFormat.csv:
                    return await write_csv(rows, stream, layout=layout, bom=output is not None)
                return await _write_json(rows, stream)

    written = run(work)
    if output is not None:
        err.print(f"{written:,} rows written to {output}")


async def _write_json(rows: AsyncIterator[Mapping[str, Any]], stream: TextIO) -> int:
    """A JSON array, one response per line, written as it streams."""
    written = 0
    stream.write("[")
    async for row in rows:
        stream.write(("," if written else "") + "\n" + json.dumps(row, ensure_ascii=False))
        written += 1
    stream.write("\n]\n")
    return written


async def _counted(rows: AsyncIterator[dict[str, Any]], tick: Any) -> AsyncIterator[dict[str, Any]]:
    async for row in rows:
        tick()
        yield row


@contextlib.contextmanager
def _target(path: Path | None) -> Iterator[TextIO]:
    """The output file (UTF-8, newline="" as csv wants), or stdout."""
    if path is None:
        yield sys.stdout
        return
    with path.open("w", encoding="utf-8", newline="") as stream:
        yield stream


@contextlib.contextmanager
def _progress(total: int, output: Path | None) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr while writing to a file; nothing when writing to stdout."""
    if output is None:
        yield lambda: None
        return
    columns = (TextColumn("[bold]exporting"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err) as progress:
        task = progress.add_task("export", total=total)
        yield lambda: progress.advance(task)


def audit(
    campaign_id: CampaignId,
    contact: Annotated[
        int | None, typer.Option("--contact", help="Only this contact (its id).", min=1)
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Write the audit trail as CSV: each dial's local time, window rule and do-not-call check;
    consent with the words heard; opt-outs, appointments, voicemail, erasure."""

    async def work() -> int:
        async with database(settings_or_exit()) as sessions, sessions() as session:
            rows = audit_rows(session=session, campaign_id=campaign_id, contact_id=contact)
            with _target(output) as stream:
                if output is not None:
                    stream.write("\ufeff")  # Excel reads the file as UTF-8 only with it
                writer = csv.writer(stream, lineterminator="\r\n")
                writer.writerow(AUDIT_COLUMNS)
                written = 0
                async for row in rows:
                    cells = [*(row[c] for c in AUDIT_COLUMNS[:-1]), csv_detail(row["detail"])]
                    writer.writerow([csv_cell(cell) for cell in cells])
                    written += 1
                return written

    written = run(work)
    if output is not None:
        err.print(f"{written:,} audit rows written to {output}")
