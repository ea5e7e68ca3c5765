"""Answers per question: counts, skips and distributions, folded from pre-aggregated rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from app.campaigns.schemas import MAX_SCALE_POINTS
from app.dialogue.actions import SkipReason
from app.dialogue.survey import Question, QuestionType
from app.dialogue.texts import render_markers

NOT_APPLICABLE = SkipReason.NOT_APPLICABLE.value


@dataclass(frozen=True)
class AnswerGroup:
    """`count` stored answers to one question with the same skip reason and value.

    `value` is None for skipped answers and for free text (whose values are never grouped).
    """

    question_id: str
    skipped: str | None
    value: Any
    count: int
    confirmed: bool = False  # said back to the respondent, who said it was right
    corrected: bool = False  # a first answer was said to be wrong and replaced


class QuestionStats(BaseModel):
    type: QuestionType
    text: str = Field(
        description="In the survey's first language; a piped value shows as what it pipes: "
        "[contact.name], [answer.ID]"
    )
    asked: int
    answered: int
    skipped: int
    skip_rate: float | None
    skipped_by_reason: dict[str, int]
    # Answers said back because the recogniser was unsure (confirm_below): confirmed ones, and
    # those the respondent corrected; each also as a share of the answered.
    confirmed: int = 0
    corrected: int = 0
    confirmed_share: float | None = None
    corrected_share: float | None = None
    # Scale and number questions.
    mean: float | None = None
    min: int | float | None = None
    max: int | float | None = None
    histogram: dict[str, int] | None = None
    # Yes/no and choice questions: answers per option and their share of the answered.
    counts: dict[str, int] | None = None
    shares: dict[str, float | None] | None = None


@dataclass
class _Tally:
    skipped: Counter[str] = field(default_factory=Counter)
    values: Counter[Any] = field(default_factory=Counter)
    answered: int = 0
    confirmed: int = 0
    corrected: int = 0


def question_stats(
    questions: Iterable[Question], groups: Iterable[AnswerGroup]
) -> dict[str, QuestionStats]:
    """Statistics for each survey question, in survey order; answers to others are ignored."""
    tallies = {q.id: _Tally() for q in questions}
    for group in groups:
        tally = tallies.get(group.question_id)
        if tally is None:
            continue
        if group.skipped is not None:
            tally.skipped[group.skipped] += group.count
        else:
            tally.answered += group.count
            tally.confirmed += group.count if group.confirmed else 0
            tally.corrected += group.count if group.corrected else 0
            if group.value is not None:
                tally.values[group.value] += group.count
    return {q.id: _stats(q, tallies[q.id]) for q in questions}


def _stats(question: Question, tally: _Tally) -> QuestionStats:
    # A question not applicable to a respondent (its ask_if failed) was never asked: it shows in
    # skipped_by_reason, but not in the asked, the skipped or the skip rate.
    skipped = sum(n for reason, n in tally.skipped.items() if reason != NOT_APPLICABLE)
    asked = tally.answered + skipped
    details: dict[str, Any] = {}
    if question.type in (QuestionType.SCALE, QuestionType.NUMBER):
        details = _numeric(question, tally.values)
    elif question.type is QuestionType.YES_NO:
        details = _options({"yes": tally.values[True], "no": tally.values[False]}, tally.answered)
    elif question.type is QuestionType.CHOICE:
        counts = {choice: tally.values[choice] for choice in question.choices}
        counts.update({str(v): n for v, n in tally.values.items() if v not in counts})
        details = _options(counts, tally.answered)
    return QuestionStats(
        type=question.type,
        text=render_markers(question.text),
        asked=asked,
        answered=tally.answered,
        skipped=skipped,
        skip_rate=_share(skipped, asked),
        skipped_by_reason=dict(sorted(tally.skipped.items())),
        confirmed=tally.confirmed,
        corrected=tally.corrected,
        confirmed_share=_share(tally.confirmed, tally.answered),
        corrected_share=_share(tally.corrected, tally.answered),
        **details,
    )


def _numeric(question: Question, values: Counter[Any]) -> dict[str, Any]:
    numbers = Counter[int | float]()
    for value, count in values.items():
        # bool is an int in Python; a stray true/false is not a number.
        if isinstance(value, int | float) and not isinstance(value, bool):
            numbers[value] += count
    # Every point of the scale appears, answered or not, so histograms line up; a campaign
    # stored before scales were bounded gets only the answered points.
    for point in _scale_points(question):
        numbers.setdefault(point, 0)
    details: dict[str, Any] = {"histogram": {_key(v): numbers[v] for v in sorted(numbers)}}
    observed = [v for v, n in numbers.items() if n]
    if observed:
        total = sum(numbers.values())
        details["mean"] = sum(v * n for v, n in numbers.items()) / total
        details["min"], details["max"] = min(observed), max(observed)
    return details


def _scale_points(question: Question) -> range:
    low, high = question.min, question.max
    if question.type is not QuestionType.SCALE or low is None or high is None:
        return range(0)
    return range(low, high + 1) if high - low + 1 <= MAX_SCALE_POINTS else range(0)


def _options(counts: dict[str, int], answered: int) -> dict[str, Any]:
    return {"counts": counts, "shares": {k: _share(n, answered) for k, n in counts.items()}}


def _key(value: int | float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole
