"""Unsubscribe tokens: HMAC-SHA256 over list and address with `DIGEST_SECRET`, so a link
unsubscribes only the reader it was made for, and nobody can make one for someone else."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

__all__ = ["token", "unsubscribe_url", "verify"]


def token(secret: str, list_name: str, address: str) -> str:
    """The reader's token: 22 URL-safe characters (128 bits of the HMAC)."""
    msg = f"{list_name}\n{address.casefold()}".encode()
    mac = hmac.new(secret.encode(), msg, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def verify(secret: str, list_name: str, address: str, given: str) -> bool:
    return hmac.compare_digest(token(secret, list_name, address), given)


def unsubscribe_url(base_url: str, secret: str, list_name: str, address: str) -> str:
    """`<base_url>/unsubscribe?list=…&email=…&token=…`: the one-click link (RFC 8058)."""
    query = urlencode(
        {"list": list_name, "email": address, "token": token(secret, list_name, address)}
    )
    return f"{base_url}/unsubscribe?{query}"
