"""AAPOR dispositions of attempts and contacts: the mapping table and the precedence rule."""

from __future__ import annotations

import pytest

from app.calls.models import Outcome
from app.campaigns.models import ContactState
from app.reports.dispositions import (
    ALWAYS_BUSY,
    ANSWERING_MACHINE,
    BREAK_OFF,
    COMPLETE,
    DISPOSITIONS,
    FAX,
    NEVER_AVAILABLE,
    NO_ANSWER,
    NON_WORKING,
    NOT_ATTEMPTED,
    OTHER_UNKNOWN,
    OUT_OF_SAMPLE,
    PARTIAL,
    PRECEDENCE,
    REFUSAL,
    SCREENED_OUT,
    TECHNICAL_PROBLEM,
    Category,
    Disposition,
    attempt_disposition,
    contact_disposition,
)

QUESTIONS = 4


def of(outcome: str | None, answered: int | None = None) -> Disposition | None:
    return attempt_disposition(outcome, answered=answered, questions=QUESTIONS)


@pytest.mark.parametrize(
    ("outcome", "answered", "code"),
    [
        (Outcome.COMPLETED, 4, "1.1"),
        (Outcome.COMPLETED, 1, "1.1"),  # reached the end: skipped items are item nonresponse
        (Outcome.PARTIAL, 3, "1.2"),
        (Outcome.PARTIAL, 2, "1.2"),  # exactly half: partial
        (Outcome.PARTIAL, 1, "2.12"),
        (Outcome.PARTIAL, 0, "2.12"),
        (Outcome.REFUSED, None, "2.11"),
        (Outcome.HANGUP, None, "2.11"),
        (Outcome.OPTED_OUT, None, "2.11"),  # "don't call me" before consenting
        (Outcome.OPTED_OUT, 0, "2.12"),  # ... after consenting, nothing answered
        (Outcome.OPTED_OUT, 2, "1.2"),  # ... after answering half the survey
        (Outcome.MACHINE, None, "2.22"),
        (Outcome.NO_ANSWER, None, "3.13"),
        (Outcome.BUSY, None, "3.12"),
        (Outcome.FAILED, None, "3.16"),
        (Outcome.PROVIDER_ERROR, None, "3.11"),
        (Outcome.CANCELED, None, "3.11"),
        (Outcome.STALE, None, "3.90"),
        (Outcome.FAX, None, "4.20"),
        (Outcome.INVALID_NUMBER, None, "4.31"),
    ],
)
def test_attempt_disposition(outcome: Outcome, answered: int | None, code: str) -> None:
    disposition = of(outcome.value, answered)

    assert disposition is not None and disposition.code == code


def test_every_outcome_has_a_disposition() -> None:
    for outcome in Outcome:
        assert of(outcome.value, 0) in DISPOSITIONS


def test_an_attempt_without_outcome_has_no_disposition_yet() -> None:
    assert of(None) is None


def test_an_unknown_outcome_is_other_unknown_eligibility() -> None:
    assert of("something_new") is OTHER_UNKNOWN


def test_partial_threshold_rounds_in_favour_of_half() -> None:
    assert attempt_disposition("partial", answered=2, questions=3) is PARTIAL  # 67%
    assert attempt_disposition("partial", answered=1, questions=3) is BREAK_OFF  # 33%
    assert attempt_disposition("partial", answered=3, questions=5) is PARTIAL
    assert attempt_disposition("partial", answered=2, questions=5) is BREAK_OFF


@pytest.mark.parametrize(
    ("state", "attempts", "expected"),
    [
        ("completed", [NO_ANSWER, REFUSAL, COMPLETE], COMPLETE),
        ("partial", [ANSWERING_MACHINE, PARTIAL], PARTIAL),
        ("refused", [REFUSAL], REFUSAL),
        ("not_reached", [REFUSAL, NO_ANSWER, NO_ANSWER], REFUSAL),  # hung up once, then no answer
        ("not_reached", [ANSWERING_MACHINE, NO_ANSWER, ALWAYS_BUSY], ANSWERING_MACHINE),
        ("not_reached", [ALWAYS_BUSY, NO_ANSWER, ALWAYS_BUSY], NO_ANSWER),  # not *always* busy
        ("not_reached", [ALWAYS_BUSY] * 3, ALWAYS_BUSY),
        ("failed", [NO_ANSWER, NON_WORKING], NON_WORKING),  # evidence beats no evidence
        ("failed", [FAX], FAX),
        ("failed", [TECHNICAL_PROBLEM, TECHNICAL_PROBLEM], TECHNICAL_PROBLEM),
        ("failed", [NOT_ATTEMPTED, NOT_ATTEMPTED], NOT_ATTEMPTED),
        ("pending", [], NOT_ATTEMPTED),
        ("pending", [NO_ANSWER], NO_ANSWER),
        ("in_progress", [None], NOT_ATTEMPTED),  # the open call has no outcome yet
        ("in_progress", [NO_ANSWER, None], NO_ANSWER),
        ("do_not_call", [], OUT_OF_SAMPLE),
        ("do_not_call", [REFUSAL], REFUSAL),  # opted out during our own call
        ("do_not_call", [NO_ANSWER], NO_ANSWER),
    ],
)
def test_contact_takes_its_most_informative_attempt(
    state: str, attempts: list[Disposition | None], expected: Disposition
) -> None:
    assert contact_disposition(state, attempts) is expected


def test_precedence_covers_every_code_but_out_of_sample() -> None:
    assert set(DISPOSITIONS) - set(PRECEDENCE) == {OUT_OF_SAMPLE}
    assert [d.code for d in DISPOSITIONS] == sorted(d.code for d in DISPOSITIONS)


def test_precedence_ranks_eligible_before_ineligible_before_unknown() -> None:
    rank = {
        Category.COMPLETE: 0,
        Category.PARTIAL: 0,
        Category.REFUSAL: 0,
        Category.NON_CONTACT: 0,
        Category.OTHER: 0,
        Category.NOT_ELIGIBLE: 1,
        Category.UNKNOWN_HOUSEHOLD: 2,
        Category.UNKNOWN_OTHER: 2,
    }
    ranks = [rank[d.category] for d in PRECEDENCE]
    assert ranks == sorted(ranks)


def test_codes_sit_in_their_aapor_group() -> None:
    groups = {"1": {"I", "P"}, "2": {"R", "NC", "O"}, "3": {"UH", "UO"}, "4": {"NE"}}
    for disposition in DISPOSITIONS:
        assert disposition.category.value in groups[disposition.code[0]]


def test_a_resumed_interview_that_screens_out_is_screened_out() -> None:
    first_call = attempt_disposition("partial", answered=1, questions=4)

    assert first_call is BREAK_OFF
    assert contact_disposition("screened_out", [first_call, SCREENED_OUT]) is SCREENED_OUT


def test_an_appointment_is_never_available_or_an_interrupted_interview() -> None:
    assert attempt_disposition("callback_requested", answered=None, questions=4) is (
        NEVER_AVAILABLE
    )
    assert attempt_disposition("callback_requested", answered=3, questions=4) is PARTIAL
    assert contact_disposition("pending", [NEVER_AVAILABLE, NO_ANSWER]) is NEVER_AVAILABLE


def test_contact_states_are_all_handled() -> None:
    for state in ContactState:
        expected = (
            (SCREENED_OUT,)
            if state is ContactState.SCREENED_OUT
            else (NOT_ATTEMPTED, OUT_OF_SAMPLE)
        )
        assert contact_disposition(state.value, []) in expected
