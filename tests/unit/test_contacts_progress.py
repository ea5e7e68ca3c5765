"""Checking a large contact list reports its progress as it goes."""

from __future__ import annotations

from app.campaigns.contacts import PROGRESS_EVERY, parse_csv, prepare


def test_prepare_reports_progress_in_steps() -> None:
    rows = 2 * PROGRESS_EVERY + 17
    text = "phone_number\n" + "".join(f"+39021234{5000 + i % 4000:04d}\n" for i in range(rows))
    told: list[int] = []

    prepared = prepare(
        parse_csv(text), region="IT", default_zone="Europe/Rome", progress=told.append
    )

    assert told == [PROGRESS_EVERY, PROGRESS_EVERY]
    assert len(prepared.rows) + len(prepared.rejected) == rows
