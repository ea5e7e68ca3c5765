"""Run every gate and reach a verdict: GO only when no gate failed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from app.checks.gates import GATES, CheckContext, GateResult, Verdict
from app.logs import one_line


@dataclass(frozen=True)
class CheckReport:
    results: list[GateResult]

    @property
    def go(self) -> bool:
        return all(r.verdict is not Verdict.FAIL for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"go": self.go, "gates": [asdict(r) for r in self.results]}


async def run_checks(ctx: CheckContext) -> CheckReport:
    """Run the gates in checklist order; a gate that crashes counts as failed, not as fatal."""
    results = []
    for gate in GATES:
        try:
            results.append(await gate(ctx))
        except Exception as exc:
            name = (gate.__doc__ or gate.__name__).split(":")[0]
            results.append(GateResult(name, gate.__name__, Verdict.FAIL, one_line(exc), "-"))
    return CheckReport(results)
