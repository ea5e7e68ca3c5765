"""AAPOR outcome rates from disposition counts: pure arithmetic, formulas in docs/results.md."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.reports.dispositions import DISPOSITIONS, Category

_BY_CODE = {d.code: d for d in DISPOSITIONS}


@dataclass(frozen=True)
class OutcomeRates:
    """AAPOR RR1, COOP1, REF1 and CON1 as fractions in [0, 1]; None when the base is zero."""

    RR1: float | None
    COOP1: float | None
    REF1: float | None
    CON1: float | None


def category_totals(counts: Mapping[str, int]) -> dict[Category, int]:
    """Add up disposition counts (by code) into the rate formulas' groups I, P, R, NC, ..."""
    totals = dict.fromkeys(Category, 0)
    for code, count in counts.items():
        totals[_BY_CODE[code].category] += count
    return totals


def outcome_rates(totals: Mapping[Category, int]) -> OutcomeRates:
    """Response, cooperation, refusal and contact rates; not-eligible cases are left out."""
    n = {category: totals.get(category, 0) for category in Category}
    interviews = n[Category.COMPLETE] + n[Category.PARTIAL]
    eligible_non_interviews = n[Category.REFUSAL] + n[Category.NON_CONTACT] + n[Category.OTHER]
    unknown = n[Category.UNKNOWN_HOUSEHOLD] + n[Category.UNKNOWN_OTHER]
    everyone = interviews + eligible_non_interviews + unknown
    contacted = interviews + n[Category.REFUSAL] + n[Category.OTHER]
    return OutcomeRates(
        RR1=_ratio(n[Category.COMPLETE], everyone),
        COOP1=_ratio(n[Category.COMPLETE], contacted),
        REF1=_ratio(n[Category.REFUSAL], everyone),
        CON1=_ratio(contacted, everyone),
    )


def _ratio(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator
