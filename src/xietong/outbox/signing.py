"""Webhook signatures: HMAC-SHA256 over the timestamp and the body, as receivers verify them.

The signed bytes are ``f"{timestamp}.".encode() + body``; the header carries ``v1=<hex>``. A
receiver recomputes it with the endpoint's secret, compares in constant time, and refuses a
timestamp too far from its own clock (a replayed old request).
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Xietong-Timestamp"
SIGNATURE_HEADER = "X-Xietong-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TOPIC_HEADER = "X-Xietong-Topic"
ATTEMPT_HEADER = "X-Xietong-Attempt"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for `body` sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def verify(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    header: str,
    now: float,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether `header` is a valid signature of `body` at `timestamp`, received at `now`."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance_seconds:
        return False
    expected = signature(secret, sent, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in header.split(","))
