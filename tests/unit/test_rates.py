"""AAPOR rates on hand-computed fixtures."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

import pytest

from app.calls.models import Outcome
from app.reports.dispositions import Category, attempt_disposition, contact_disposition
from app.reports.rates import category_totals, outcome_rates

# Ten contacts of a four-question survey: (final state, [(outcome, questions answered), ...]).
TEN_CONTACTS = [
    ("completed", [(Outcome.COMPLETED, 4)]),
    ("completed", [(Outcome.NO_ANSWER, None), (Outcome.COMPLETED, 4)]),
    ("completed", [(Outcome.HANGUP, None), (Outcome.COMPLETED, 3)]),
    ("partial", [(Outcome.PARTIAL, 3)]),
    ("refused", [(Outcome.REFUSED, None)]),
    ("do_not_call", [(Outcome.OPTED_OUT, None)]),
    ("not_reached", [(Outcome.NO_ANSWER, None)] * 3),
    ("not_reached", [(Outcome.NO_ANSWER, None), (Outcome.BUSY, None), (Outcome.NO_ANSWER, None)]),
    ("not_reached", [(Outcome.BUSY, None)] * 3),
    ("failed", [(Outcome.INVALID_NUMBER, None)]),
]


def disposition_counts(
    contacts: list[tuple[str, list[tuple[Outcome, int | None]]]],
) -> Counter[str]:
    counts: Counter[str] = Counter()
    for state, attempts in contacts:
        dispositions = [attempt_disposition(o.value, answered=a, questions=4) for o, a in attempts]
        counts[contact_disposition(state, dispositions).code] += 1
    return counts


def test_ten_contacts_by_hand() -> None:
    counts = disposition_counts(TEN_CONTACTS)
    assert counts == {"1.1": 3, "1.2": 1, "2.11": 2, "3.13": 2, "3.12": 1, "4.31": 1}

    totals = category_totals(counts)
    i, p, r, nc, o = 3, 1, 2, 0, 0
    uh, uo = 3, 0  # two no-answer, one always busy; the invalid number (4.31) is not eligible
    assert totals == {
        Category.COMPLETE: i,
        Category.PARTIAL: p,
        Category.REFUSAL: r,
        Category.NON_CONTACT: nc,
        Category.OTHER: o,
        Category.UNKNOWN_HOUSEHOLD: uh,
        Category.UNKNOWN_OTHER: uo,
        Category.NOT_ELIGIBLE: 1,
    }

    everyone = (i + p) + (r + nc + o) + (uh + uo)  # 4 + 2 + 3 = 9
    contacted = (i + p) + r + o  # 6
    expected = {
        "RR1": i / everyone,  # I / ((I + P) + (R + NC + O) + (UH + UO)) = 3/9
        "COOP1": i / contacted,  # I / ((I + P) + R + O) = 3/6
        "REF1": r / everyone,  # R / ((I + P) + (R + NC + O) + (UH + UO)) = 2/9
        "CON1": contacted / everyone,  # ((I + P) + R + O) / (...) = 6/9
    }
    assert expected == {"RR1": 3 / 9, "COOP1": 1 / 2, "REF1": 2 / 9, "CON1": 6 / 9}
    assert asdict(outcome_rates(totals)) == pytest.approx(expected)


def test_non_contacts_and_others_weigh_on_the_base_only_where_the_formulas_say() -> None:
    totals = {
        Category.COMPLETE: 5,
        Category.PARTIAL: 1,
        Category.REFUSAL: 2,
        Category.NON_CONTACT: 4,  # answering machines
        Category.OTHER: 1,
        Category.UNKNOWN_HOUSEHOLD: 6,
        Category.UNKNOWN_OTHER: 1,
        Category.NOT_ELIGIBLE: 100,
    }
    everyone = (5 + 1) + (2 + 4 + 1) + (6 + 1)  # 20; the 100 ineligible are left out

    rates = outcome_rates(totals)

    assert asdict(rates) == pytest.approx(
        {
            "RR1": 5 / everyone,
            "COOP1": 5 / ((5 + 1) + 2 + 1),
            "REF1": 2 / everyone,
            "CON1": ((5 + 1) + 2 + 1) / everyone,
        }
    )


def test_no_base_gives_no_rate() -> None:
    rates = outcome_rates({Category.NOT_ELIGIBLE: 3})

    assert (rates.RR1, rates.COOP1, rates.REF1, rates.CON1) == (None, None, None, None)


def test_nobody_contacted_yet_has_response_rate_zero_but_no_cooperation_rate() -> None:
    rates = outcome_rates({Category.UNKNOWN_HOUSEHOLD: 10})

    assert (rates.RR1, rates.COOP1, rates.REF1, rates.CON1) == (0.0, None, 0.0, 0.0)


def test_category_totals_start_at_zero() -> None:
    assert category_totals({}) == dict.fromkeys(Category, 0)
