"""The geometry of the console's charts: pure functions from counts to bars and lines.

The templates draw them as SVG and HTML, on the server: a chart is part of the page the browser
swaps in on each update, readable without JavaScript, and every bar carries its number as text.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.reports.overview import TimelinePoint

MAX_COLUMNS = 24


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    share: float | None  # of all counted
    size: float  # percent of the largest bar, 0 to 100


def bars(counts: Mapping[str, int]) -> list[Bar]:
    """One bar per label, in the order given, sized against the largest."""
    total = sum(counts.values())
    largest = max(counts.values(), default=0)
    return [
        Bar(
            label=label,
            count=count,
            share=count / total if total else None,
            size=100 * count / largest if largest else 0.0,
        )
        for label, count in counts.items()
    ]


@dataclass(frozen=True)
class Histogram:
    columns: list[Bar]
    mean: float | None
    mean_at: float | None  # where the mean falls, in percent of the chart's width


def histogram(counts: Mapping[str, int], mean: float | None) -> Histogram:
    """Columns for the values of a scale or number question, with the mean marked.

    More distinct values than MAX_COLUMNS (a number question) are grouped into equal ranges.
    """
    values = sorted((float(k), n) for k, n in counts.items())
    if len(values) > MAX_COLUMNS:
        columns = bars(_ranges(values))
        low, high = values[0][0], values[-1][0]
        mean_at = None if mean is None else 100 * (mean - low) / (high - low)
        return Histogram(columns, mean, mean_at)
    columns = bars({_label(v): n for v, n in values})
    return Histogram(columns, mean, _mean_at([v for v, _ in values], mean))


def _ranges(values: Sequence[tuple[float, int]]) -> dict[str, int]:
    low, high = values[0][0], values[-1][0]
    width = (high - low) / MAX_COLUMNS
    grouped = dict.fromkeys(range(MAX_COLUMNS), 0)
    for value, count in values:
        grouped[min(int((value - low) / width), MAX_COLUMNS - 1)] += count
    edges = [_label(low + i * width) for i in range(MAX_COLUMNS + 1)]
    return {f"{edges[i]} to {edges[i + 1]}": n for i, n in grouped.items()}


def _mean_at(points: Sequence[float], mean: float | None) -> float | None:
    """The mean's position over columns of equal width centred on `points` (sorted)."""
    if mean is None or not points:
        return None
    width = 100 / len(points)
    if len(points) == 1:
        return width / 2
    for i, (left, right) in enumerate(itertools.pairwise(points)):
        if left <= mean <= right:
            return width * (i + 0.5 + (mean - left) / (right - left))
    return width / 2 if mean < points[0] else 100 - width / 2


def _label(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:.3g}"


@dataclass(frozen=True)
class Lines:
    attempts: str  # SVG polyline points
    completes: str
    top: int  # the value at the top of the chart
    first: TimelinePoint | None
    last: TimelinePoint | None


def timeline_lines(points: Sequence[TimelinePoint], width: int, height: int) -> Lines:
    """Cumulative attempts and completes as two polylines in a `width` by `height` box."""
    if not points:
        return Lines("", "", 0, None, None)
    top = max(points[-1].attempts, 1)
    step = width / max(len(points) - 1, 1)

    def line(values: Sequence[int]) -> str:
        return " ".join(
            f"{i * step:.1f},{height - height * v / top:.1f}" for i, v in enumerate(values)
        )

    return Lines(
        attempts=line([p.attempts for p in points]),
        completes=line([p.completes for p in points]),
        top=top,
        first=points[0],
        last=points[-1],
    )
