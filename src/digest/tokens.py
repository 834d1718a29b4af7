"""Unsubscribe tokens: HMAC-SHA256 over list and address with `DIGEST_SECRET`, so a link
unsubscribes only the reader it was made for, and nobody can make one for someone else."""

from __future__ import annotations

import base64
import hmac
import re
from urllib.parse import quote

__all__ = ["token", "unsubscribe_url", "verify"]

# Characters an address may keep as they are in a query string ("+" and "&" may not).
_PLAIN = re.compile(r"[A-Za-z0-9._@-]+")


def token(secret: str, list_name: str, address: str) -> str:
    """The reader's token: 22 URL-safe characters (128 bits of the HMAC)."""
    msg = f"{list_name}\n{address.casefold()}".encode()
    mac = hmac.digest(secret.encode(), msg, "sha256")[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def verify(secret: str, list_name: str, address: str, given: object) -> bool:
    """Whether `given` (straight from a request: anything) is the reader's token."""
    if not isinstance(given, str) or not given.isascii():
        return False
    return hmac.compare_digest(token(secret, list_name, address), given)


def unsubscribe_url(base_url: str, secret: str, list_name: str, address: str) -> str:
    """`<base_url>/unsubscribe?list=…&email=…&token=…`: the one-click link (RFC 8058). Made
    for every reader of every send, so the common case skips `urlencode`."""
    email = address if _PLAIN.fullmatch(address) else quote(address, safe="@")
    name = list_name if _PLAIN.fullmatch(list_name) else quote(list_name, safe="")
    mac = token(secret, list_name, address)
    return f"{base_url}/unsubscribe?list={name}&email={email}&token={mac}"
