"""The signature and the idempotency key of a results webhook request.

The receiver recomputes HMAC-SHA256 over the exact bytes of the body with the shared secret
(RESULTS_WEBHOOK_SECRET) and compares it with `X-VoiceSurvey-Signature: sha256=<hex>` in
constant time; `X-VoiceSurvey-Delivery` (also `delivery_id` in the body) is the same for every
send of one interview, so a receiver that keeps the keys it has seen drops the duplicates an
at-least-once delivery may produce.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-VoiceSurvey-Signature"
DELIVERY_HEADER = "X-VoiceSurvey-Delivery"
ATTEMPT_HEADER = "X-VoiceSurvey-Attempt"
SCHEME = "sha256="


def sign(secret: bytes, body: bytes) -> str:
    """The signature header's value for `body`: `sha256=` and the hex HMAC-SHA256."""
    return SCHEME + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of `body` under `secret` (what a receiver does)."""
    if header is None:
        return False
    # compare_digest: the time taken says nothing about how much of a forgery was right.
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def delivery_key(campaign_id: int, contact_id: int) -> str:
    """The idempotency key of one interview: stable across retries, leaders and restarts."""
    return f"{campaign_id}-{contact_id}"
