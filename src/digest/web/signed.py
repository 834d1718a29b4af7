"""SendGrid's Signed Event Webhook: an ECDSA P-256 signature (SHA-256, base64 DER) over the
timestamp header's value followed by the raw body, checked against the verification key from
`[delivery.sendgrid] webhook_key`. The raw bytes are checked, never a decoded copy: a body
re-encoded on the way would be a different body. A timestamp more than `MAX_SKEW` away from
now is refused, so a captured request cannot be played again later."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

__all__ = ["MAX_SKEW", "SIGNATURE", "TIMESTAMP", "signature_problem"]

SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
MAX_SKEW = 600
"""Seconds a signed request may be old (or ahead of this clock): ten minutes."""


def signature_problem(
    key_der: bytes, signature: str | None, timestamp: str | None, body: bytes, now: datetime
) -> str | None:
    """Why the request is not SendGrid's, for the log (None: it is). Says nothing secret."""
    if not signature or not timestamp:
        return "no signature headers"
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return "the timestamp is not a number of seconds"
    skew = now.timestamp() - int(timestamp)
    if abs(skew) > MAX_SKEW:
        return f"the timestamp is {int(skew)} s away from now (more than {MAX_SKEW} s)"
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return "the signature is not base64"
    key = load_der_public_key(key_der)
    assert isinstance(key, ec.EllipticCurvePublicKey)  # checked when digest.toml loaded
    try:
        key.verify(raw, timestamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return "the signature does not match"
    return None
