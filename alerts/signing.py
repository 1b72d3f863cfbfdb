"""Signatures of webhook POSTs: HMAC-SHA256 over "<timestamp>.<raw body>" with the owner's
webhook secret. `verify` is the reference for receivers (docs/credential-controls.md)."""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Portal-Signature"
TIMESTAMP_HEADER = "X-Portal-Timestamp"
# A receiver should refuse a timestamp further than this from its own clock (replays).
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Portal-Signature value: "sha256=" and the hex HMAC of "<timestamp>.<body>"."""
    signed = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(secret: str, *, timestamp: str, body: bytes, given: str, now: float) -> bool:
    """True for a signature made with `secret` over this body, at most TOLERANCE_SECONDS ago."""
    try:
        age = abs(now - int(timestamp))
    except ValueError:
        return False
    return age <= TOLERANCE_SECONDS and hmac.compare_digest(
        signature(secret, timestamp, body), given
    )
