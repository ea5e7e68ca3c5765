"""The results webhook's pure parts: the signature, the retry schedule, the body, the settings
and the campaign document's `results_webhook_url`."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.campaigns.schemas import CampaignDocument
from app.config import SettingsError, get_settings
from app.deliveries.backoff import Backoff
from app.deliveries.payload import build_payload, encode
from app.deliveries.signing import delivery_key, sign, verify
from app.dialogue.survey import Survey
from app.reports.export import ResponseLayout
from tests.support.factories import campaign_document

SECRET = b"a-shared-secret-of-the-team"

# --- signing ----------------------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_of_the_exact_body_in_hex() -> None:
    # Against the standard library, and the well-known test vector of HMAC-SHA256.
    body = b'{"delivery_id":"3-17"}'
    expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()

    assert sign(SECRET, body) == f"sha256={expected}"
    assert sign(b"key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


def test_a_signature_verifies_only_its_own_body_and_key() -> None:
    signed = sign(SECRET, b'{"a":1}')

    assert verify(SECRET, b'{"a":1}', signed)
    assert verify(SECRET, b'{"a":1}', f" {signed} ")  # surrounding spaces from a proxy
    assert not verify(SECRET, b'{"a":1} ', signed)  # a byte more: another body
    assert not verify(b"another-key-entirely", b'{"a":1}', signed)
    assert not verify(SECRET, b'{"a":1}', None)
    assert not verify(SECRET, b'{"a":1}', signed.removeprefix("sha256="))


def test_the_delivery_key_names_the_interview_and_nothing_else() -> None:
    assert delivery_key(3, 17) == "3-17" == delivery_key(3, 17)
    assert delivery_key(31, 7) != delivery_key(3, 17)


# --- backoff ----------------------------------------------------------------------------------


def test_retries_double_from_ten_seconds_up_to_an_hour_without_jitter() -> None:
    backoff = Backoff()

    delays = [backoff.delay(n, draw=0.0) for n in range(1, 12)]

    assert delays == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]


def test_jitter_spreads_retries_but_stays_within_the_bounds() -> None:
    backoff = Backoff()
    rng = random.Random(4)

    for failures in (1, 2, 5, 9, 10, 40, 10_000):
        nominal = min(3600.0, 10.0 * 2.0 ** min(failures - 1, 64))
        delays = {backoff.delay(failures, rng.random()) for _ in range(200)}
        assert all(10 <= d <= nominal for d in delays), failures
        assert all(d >= nominal * 0.75 for d in delays), failures
        if failures > 1:
            assert max(delays) - min(delays) > nominal * 0.1, "retries that failed together spread"


@pytest.mark.parametrize(
    "kwargs", [{"first_seconds": 0}, {"first_seconds": 20, "cap_seconds": 10}, {"jitter": 1.0}]
)
def test_a_backoff_that_makes_no_sense_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_failures_count_from_one() -> None:
    with pytest.raises(ValueError):
        Backoff().delay(0, 0.5)


# --- the body ---------------------------------------------------------------------------------

DOCUMENT = CampaignDocument(**campaign_document(results_webhook_url="https://crm.example.com/h"))
LAYOUT = ResponseLayout.build(Survey.from_definition(DOCUMENT.definition()).questions)
FINAL_AT = datetime(2026, 12, 3, 10, 15, tzinfo=UTC)


def interview(**overrides: Any) -> dict[str, Any]:
    """A row as service.load_jobs reads it: a completed interview of contact 17, campaign 3."""
    row: dict[str, Any] = {
        "id": 5,
        "campaign_id": 3,
        "contact_id": 17,
        "final_at": FINAL_AT,
        "campaign_name": "Soddisfazione clienti Q4",
        "campaign_status": "running",
        "url": "https://crm.example.com/h",
        "external_id": "CRM-17",
        "phone_number": "+390212345017",
        "state": "completed",
        "last_outcome": "completed",
        "attempts_count": 2,
        "contact_language": None,
        "erased_at": None,
        "response_id": 9,
        "answers": {
            "satisfaction": {"value": 8, "raw": "otto", "confidence": 0.9, "skipped": None},
            "recommend": {"value": None, "raw": "#", "skipped": "skipped_by_respondent"},
            "channel": {"value": "email", "raw": "la seconda", "skipped": None},
            # "comment" never reached: the export says not_asked
        },
        "completed": True,
        "language": "it-IT",
        "screened_out_by": None,
        "resumed_from_id": None,
        "attempt_number": 2,
        "started_at": FINAL_AT,
        "answered_at": FINAL_AT,
        "ended_at": FINAL_AT,
        "outcome": "completed",
        "callback_at": None,
    }
    row.update(overrides)
    return row


def test_the_body_is_the_interview_with_its_answers_as_the_export_shows_them() -> None:
    payload = build_payload(
        interview(), layout=LAYOUT, attempts=[("no_answer", None), ("completed", 2)]
    )

    assert payload == {
        "delivery_id": "3-17",
        "campaign_id": 3,
        "campaign_name": "Soddisfazione clienti Q4",
        "campaign_status": "running",
        "contact_id": 17,
        "external_id": "CRM-17",
        "state": "completed",
        "last_outcome": "completed",
        "disposition": "1.1",
        "disposition_label": "Complete",
        "attempts": 2,
        "completed_at": "2026-12-03T10:15:00+00:00",
        "language": "it-IT",
        "erased": False,
        "response_id": 9,
        "interview_completed": True,
        "screened_out_by": None,
        "answers": {
            "satisfaction": {"value": 8, "skipped": None},
            "recommend": {"value": None, "skipped": "skipped_by_respondent"},
            "channel": {"value": "email", "skipped": None},
            "comment": {"value": None, "skipped": "not_asked"},
        },
    }
    assert "+390212345017" not in encode(payload).decode()  # no phone number is ever sent


def test_an_erased_persons_interview_says_only_what_the_figures_keep() -> None:
    erased = interview(erased_at=FINAL_AT, external_id=None, phone_number="erased:17")

    payload = build_payload(erased, layout=LAYOUT, attempts=[("completed", 3)])

    assert payload["erased"] is True
    assert payload["answers"] == {} and payload["external_id"] is None
    assert payload["language"] is None and payload["response_id"] is None
    assert (payload["state"], payload["disposition"], payload["attempts"]) == (
        "completed",
        "1.1",
        2,
    )


def test_a_contact_never_reached_has_no_answers_and_its_attempts_disposition() -> None:
    row = interview(
        state="not_reached", last_outcome="no_answer", response_id=None, answers=None,
        completed=None, language=None, contact_language="en-US",
    )  # fmt: skip

    payload = build_payload(row, layout=LAYOUT, attempts=[("no_answer", None), ("busy", None)])

    assert payload["answers"] == {} and payload["interview_completed"] is False
    assert (payload["disposition"], payload["disposition_label"]) == ("3.13", "No answer")
    assert payload["language"] == "en-US"  # the contact's own, as no interview was held


def test_the_body_is_compact_sorted_utf8_json_and_its_signature_verifies() -> None:
    payload = build_payload(
        interview(campaign_name="Zufriedenheit Köln"), layout=LAYOUT, attempts=[]
    )

    body = encode(payload)

    assert body == encode(json.loads(body))  # the same bytes from the same data
    assert "Köln".encode() in body and b": " not in body and b", " not in body
    assert list(json.loads(body)) == sorted(payload)
    assert verify(SECRET, body, sign(SECRET, body))


# --- settings and the document ------------------------------------------------------------------


@pytest.mark.usefixtures("clean_env")
def test_a_short_secret_stops_start_up_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESULTS_WEBHOOK_SECRET", "short")

    with pytest.raises(SettingsError, match=r"^invalid setting RESULTS_WEBHOOK_SECRET: .*16"):
        get_settings()


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(("value", "expected"), [("", None), ("   ", None), ("s" * 16, "s" * 16)])
def test_an_empty_secret_is_no_secret(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str | None
) -> None:
    monkeypatch.setenv("RESULTS_WEBHOOK_SECRET", value)

    secret = get_settings().results_webhook_secret

    assert (secret and secret.get_secret_value()) == expected
    assert "s" * 16 not in repr(get_settings())  # never printed


@pytest.mark.parametrize(
    "url",
    ["https://crm.example.com/hooks/voicesurvey?campaign=q4", "http://127.0.0.1:9000/results"],
)
def test_a_document_may_name_an_http_or_https_results_webhook(url: str) -> None:
    document = CampaignDocument(**campaign_document(results_webhook_url=url))

    assert document.results_webhook_url == url
    assert document.definition()["results_webhook_url"] == url


def test_a_document_without_one_is_stored_as_before() -> None:
    assert "results_webhook_url" not in CampaignDocument(**campaign_document()).definition()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://crm.example.com/x", "http:// or https://"),
        ("crm.example.com/x", "http:// or https://"),
        (" https://crm.example.com/x", "without spaces"),
        ("https://crm.example.com/a b", "without spaces"),
        ("https://user:pw@crm.example.com/x", "no user name or password"),
        ("https:///x", "needs a host"),
        ("https://crm.example.com:99999/x", "not a valid URL"),
        ("https://crm.example.com/" + "x" * 2048, "at most 2048 characters"),
        (42, "http:// or https://"),
    ],
)
def test_a_bad_results_webhook_url_is_refused_naming_the_field(url: object, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        CampaignDocument(**campaign_document(results_webhook_url=url))

    [error] = info.value.errors()
    assert error["loc"] == ("results_webhook_url",)
    assert reason in error["msg"]


# --- the receiver's side, as docs/operating.md shows it -----------------------------------------

OPERATING = Path(__file__).resolve().parents[2] / "docs" / "operating.md"


def test_the_documented_check_accepts_our_signature_and_nothing_else() -> None:
    text = OPERATING.read_text(encoding="utf-8")
    start = text.index("```python\nimport hashlib, hmac")
    snippet = text[start + len("```python\n") : text.index("```", start + 3)]
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # the receiver's code exactly as documented
    is_genuine = namespace["is_genuine"]
    body = encode(build_payload(interview(), layout=LAYOUT, attempts=[]))

    assert is_genuine(body, sign(SECRET, body), SECRET)
    assert not is_genuine(body + b" ", sign(SECRET, body), SECRET)
    assert not is_genuine(body, sign(b"not-the-shared-secret", body), SECRET)
