"""Render a campaign report (the stats document) as tables a survey researcher can read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from rich.markup import escape
from rich.table import Table

from app.cli.common import out

RESULTS_DIR = Path(".data")
BAR_WIDTH = 20


def render_report(report: dict[str, Any]) -> None:
    """Print contacts by state, dispositions, rates, quotas and the answers per question."""
    out.print(_states(report))
    out.print(_dispositions(report))
    out.print(_rates(report))
    if report.get("quotas"):
        out.print(_quotas(report["quotas"]))
    for question_id, stats in report.get("questions", {}).items():
        out.print(_question(question_id, stats))


async def print_results(api: httpx.AsyncClient, campaign_id: int) -> Path:
    """Fetch the report and the CSV export over the API; print one, save the other."""
    report = (await api.get(f"/api/campaigns/{campaign_id}/stats")).json()
    render_report(report)
    path = RESULTS_DIR / f"demo-results-campaign-{campaign_id}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    export = await api.get(f"/api/campaigns/{campaign_id}/responses", params={"format": "csv"})
    path.write_bytes(export.content)
    out.print(f"responses exported to [bold]{path}[/] (UTF-8 CSV, one row per response)")
    return path


def _states(report: dict[str, Any]) -> Table:
    table = Table("contact state", "contacts", title=f"Campaign {report['campaign_id']}")
    for state, count in report["contacts"].items():
        if count:
            table.add_row(state, str(count))
    return table


def _dispositions(report: dict[str, Any]) -> Table:
    table = Table("AAPOR code", "disposition", "contacts", title="Final dispositions")
    for code, item in report.get("dispositions", {}).items():
        if item["count"]:
            table.add_row(code, item["label"], str(item["count"]))
    return table


def _rates(report: dict[str, Any]) -> Table:
    table = Table("rate", "value", title="AAPOR rates")
    names = {
        "RR1": "response rate 1",
        "COOP1": "cooperation rate 1",
        "REF1": "refusal rate 1",
        "CON1": "contact rate 1",
    }
    for key, label in names.items():
        value = report.get("rates", {}).get(key)
        table.add_row(f"{key} ({label})", "n/a" if value is None else f"{value:.1%}")
    return table


def _quotas(quotas: list[dict[str, Any]]) -> Table:
    table = Table("quota", "target", "completes", "fill", "", "", title="Quotas")
    for quota in quotas:
        target, completes = quota["target"], quota["completes"]
        table.add_row(
            escape(quota["name"]),
            str(target),
            str(completes),
            _percent(completes / target if target else None),
            # Completes may overshoot the target (interviews already past the deciding question).
            _bar(min(completes, target), target),
            "full" if quota["full"] else "",
        )
    return table


def _question(question_id: str, stats: dict[str, Any]) -> Table:
    skip_rate = stats.get("skip_rate")
    # Texts and answers are the document's words: "[contact.name]" is not rich markup.
    title = (
        f"{escape(question_id)}: {escape(stats['text'])}  "
        f"({stats['answered']} answered, skip rate {_percent(skip_rate)})"
    )
    table = Table("answer", "count", "share", "", title=title, title_justify="left")
    if stats.get("histogram"):
        counts = {k: int(v) for k, v in stats["histogram"].items()}
        total = sum(counts.values())
        for value, count in counts.items():
            table.add_row(
                value, str(count), _percent(count / total if total else None), _bar(count, total)
            )
        table.add_row(
            "mean", f"{stats['mean']:.2f}" if stats.get("mean") is not None else "n/a", "", ""
        )
    elif stats.get("counts"):
        shares = stats.get("shares") or {}
        total = sum(stats["counts"].values())
        for value, count in stats["counts"].items():
            table.add_row(
                escape(str(value)), str(count), _percent(shares.get(value)), _bar(count, total)
            )
    else:
        table.add_row("free text", str(stats["answered"]), "", "")
    _add_said_back(table, stats)
    return table


def _add_said_back(table: Table, stats: dict[str, Any]) -> None:
    """Answers said back to the respondent (confirm_below): confirmed and corrected, if any."""
    confirmed, corrected = stats.get("confirmed", 0), stats.get("corrected", 0)
    if not confirmed and not corrected:
        return
    table.add_section()
    answered = stats["answered"]
    for label, count, share in (
        ("said back, confirmed", confirmed, stats.get("confirmed_share")),
        ("said back, corrected", corrected, stats.get("corrected_share")),
    ):
        table.add_row(label, str(count), _percent(share), _bar(count, answered))


def _bar(count: int, total: int) -> str:
    return "█" * round(BAR_WIDTH * count / total) if total else ""


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
