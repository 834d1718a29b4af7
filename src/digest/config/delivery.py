"""`[delivery]` in `digest.toml`: which sender delivers an issue, and each sender's settings.

```toml
[delivery]
backend = "outbox"            # outbox (default) | console | smtp | sendgrid
outbox = "outbox"             # where the outbox writes one .eml per reader
max_retries = 5               # transient failures (429, 5xx, dropped connections) per batch

[delivery.smtp]
host = "smtp.example.com"
port = 587
security = "starttls"         # starttls | ssl | none
username = "digest"           # the password comes from SMTP_PASSWORD

[delivery.sendgrid]
host = "https://api.sendgrid.com"   # or the EU host, or a local stand-in
batch_size = 1000             # readers per request (SendGrid allows 1000)
schedule_ahead_hours = 1      # reader-local lists: hand each wave over this early, with send_at
concurrency = 4               # requests at once
categories = ["daily"]
asm_group_id = 1234           # an unsubscribe group, if you use one
timeout = 30                  # seconds per request
webhook_key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE..."  # Event Webhook verification key
```

A list may pick its own sender with `backend` in `[lists.NAME]`; `--backend` beats both.
Secrets never live here: `SENDGRID_API_KEY`, `SMTP_PASSWORD` and `DIGEST_SECRET` come from the
environment.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from .values import Reader, did_you_mean, only_keys, web_url

__all__ = [
    "BACKENDS",
    "SENDGRID_HOST",
    "DeliverySettings",
    "SendGridSettings",
    "SmtpSettings",
    "parse_delivery",
]

BACKENDS = ("outbox", "console", "smtp", "sendgrid")
SECURITY = ("starttls", "ssl", "none")
SENDGRID_HOST = "https://api.sendgrid.com"


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class SendGridSettings:
    host: str = SENDGRID_HOST
    batch_size: int = 1000
    concurrency: int = 4
    categories: tuple[str, ...] = ()
    asm_group_id: int | None = None
    timeout: float = 30.0
    schedule_ahead_hours: int = 1
    """A reader-local list's wave is handed to SendGrid up to this long before its hour, with
    `send_at` (SendGrid holds it until then). Longer lets one `digest send` hand over more
    waves; but a reader who unsubscribes after the hand-over still gets that copy."""
    webhook_key: bytes | None = None
    """The Event Webhook's verification key (DER, an ECDSA P-256 public key), checked when
    digest.toml loads; None: `digest serve` answers no `/webhooks/sendgrid`."""


@dataclass(frozen=True)
class DeliverySettings:
    backend: str = "outbox"
    outbox: Path = Path("outbox")
    max_retries: int = 5
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    sendgrid: SendGridSettings = field(default_factory=SendGridSettings)


def parse_delivery(r: Reader, data: dict[str, Any], root: Path) -> DeliverySettings:
    t = r.table(data, "delivery")
    only_keys(r, t, "delivery", {"backend", "outbox", "max_retries", "smtp", "sendgrid"})
    return DeliverySettings(
        backend=backend(r, t, "delivery.backend", "outbox"),
        outbox=root / r.string(t, "delivery.outbox", default="outbox"),
        max_retries=r.integer(t, "delivery.max_retries", default=5),
        smtp=_smtp(r, r.table(t, "smtp", key="delivery.smtp")),
        sendgrid=_sendgrid(r, r.table(t, "sendgrid", key="delivery.sendgrid")),
    )


def backend(r: Reader, t: dict[str, Any], key: str, default: str | None) -> Any:
    value = r.string(t, key, default=default)
    if value is not None and value not in BACKENDS:
        r.fail(
            key,
            f"{value!r} is not a sender{did_you_mean(value, BACKENDS)}",
            f"one of {', '.join(BACKENDS)}",
        )
    return value


def _smtp(r: Reader, t: dict[str, Any]) -> SmtpSettings:
    k = "delivery.smtp"
    only_keys(r, t, k, {"host", "port", "security", "username", "timeout"})
    security = r.string(t, f"{k}.security", default="starttls")
    if security not in SECURITY:
        r.fail(
            f"{k}.security",
            f"{security!r} is not allowed{did_you_mean(security, SECURITY)}",
            "starttls, ssl or none",
        )
    port_default = 465 if security == "ssl" else 587 if security == "starttls" else 25
    return SmtpSettings(
        host=r.string(t, f"{k}.host", default="localhost"),
        port=r.integer(t, f"{k}.port", default=port_default),
        security=security,
        username=r.string(t, f"{k}.username", default=None),
        timeout=r.number(t, f"{k}.timeout", default=30.0),
    )


WEBHOOK_KEY_HINT = (
    "the verification key SendGrid shows under Settings > Mail Settings > Event Webhook "
    "(Signed Event Webhook), pasted whole: base64 text starting MFkw"
)


def _webhook_key(r: Reader, text: str | None) -> bytes | None:
    """SendGrid's key as its settings show it (base64 DER, one line), checked now: a key that
    cannot verify would refuse every event, silently, until someone looks at the log."""
    if text is None:
        return None
    key = "delivery.sendgrid.webhook_key"
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
        public = load_der_public_key(der)
    except (binascii.Error, ValueError, TypeError, UnsupportedAlgorithm):
        r.fail(key, "is not a public key in base64 DER", WEBHOOK_KEY_HINT)
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        r.fail(key, "is not an ECDSA P-256 public key", WEBHOOK_KEY_HINT)
    return der


def _sendgrid(r: Reader, t: dict[str, Any]) -> SendGridSettings:
    k = "delivery.sendgrid"
    keys = {
        "host",
        "batch_size",
        "concurrency",
        "categories",
        "asm_group_id",
        "timeout",
        "webhook_key",
        "schedule_ahead_hours",
    }
    only_keys(r, t, k, keys)
    host = r.string(t, f"{k}.host", default=SENDGRID_HOST).rstrip("/")
    if not web_url(host):
        r.fail(f"{k}.host", f"{host!r} is not an http(s) URL", f'e.g. "{SENDGRID_HOST}"')
    categories = t.get("categories", [])
    if not isinstance(categories, list) or not all(
        isinstance(c, str) and c.strip() and len(c) <= 255 for c in categories
    ):
        r.fail(f"{k}.categories", "expected a list of names", 'e.g. ["daily"]')
    if len(categories) > 10:
        r.fail(f"{k}.categories", "SendGrid takes at most 10 categories", "10 or fewer")
    return SendGridSettings(
        host=host,
        batch_size=r.integer(t, f"{k}.batch_size", default=1000),
        concurrency=r.integer(t, f"{k}.concurrency", default=4),
        categories=tuple(categories),
        asm_group_id=r.integer(t, f"{k}.asm_group_id", default=None),
        timeout=r.number(t, f"{k}.timeout", default=30.0),
        schedule_ahead_hours=r.integer(t, f"{k}.schedule_ahead_hours", default=1),
        webhook_key=_webhook_key(r, r.string(t, f"{k}.webhook_key", default=None)),
    )
