"""The SendGrid sender: one POST /v3/mail/send per batch of up to 1000 readers.

The letter goes up as SendGrid's own template, rendered once: its slot tokens become each
reader's `substitutions` (one personalization per reader). SendGrid applies every substitution
to both the text and the HTML part, but the HTML needs escaped values and the text raw ones, so
the text part's tokens are renamed once per letter (`%%DIGEST_<marker>_TEXT_<KEY>%%`, which no
HTML token can equal or contain) and each reader gets both sets.

How answers become the outcomes of `deliver.base`:

- 2xx: every reader sent, with the request's `X-Message-Id` (SendGrid gives one per request).
- a batch of a reader-local wave handed over before its hour carries `send_at` (a Unix time,
  at most 72 hours ahead): SendGrid holds it until then.
- 429: `Transient`, waiting until `X-RateLimit-Reset`; 5xx and 408: `Transient`.
- any other 4xx (400, 401, 403, 413...): `Permanent`, with SendGrid's own error messages.
- a connection that failed before the request was sent (refused, DNS, connect timeout):
  `Transient`. urllib wraps exactly those in `URLError`; a timeout or a dropped connection
  while waiting for the answer comes through bare, and means the request may have gone out:
  `Unknown`.

Thread safety: the send runs `concurrency` batches at once, so each thread gets its own
`SendGridAPIClient` (`threading.local`). python_http_client's builder makes a new `Client` per
attribute (`.mail.send`), so paths are not shared, but every built `Client` shares the root's
`request_headers` dict and each call writes to it (`setdefault("Content-Type")`, and any
per-call headers) while another thread's urllib may be iterating it. The clients hold no
connections (urllib opens one per request), so one per thread costs nothing.

The API key lives only in the Authorization header. python_http_client logs every request's
headers (the key), body (every reader's address) and answer at DEBUG; a filter on its logger
drops its records, and error messages are built from SendGrid's answer with the key redacted.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from http.client import HTTPException
from typing import Any
from urllib.error import URLError

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from ..compose.personalise import SLOT_KEYS, token
from ..config.delivery import SendGridSettings
from ..text import line, shorten
from .base import Letter, Permanent, Recipient, Result, Sender, Transient, Unknown

__all__ = ["MAX_BATCH", "SUBSTITUTIONS_LIMIT", "SendGridSender", "text_token"]

MAX_BATCH = 1000
"""Personalizations SendGrid takes in one request."""
SUBSTITUTIONS_LIMIT = 10_000
"""Bytes of substitutions (keys and values, UTF-8) SendGrid takes per personalization."""
PER_READER_HEADERS = ("List-Unsubscribe", "List-Unsubscribe-Post")
"""Headers set per personalization; the rest of `Letter.headers_for` is common to all."""
_KEY_HINT = "a SendGrid API key with the Mail Send permission, in the environment"
_HINTS = {
    400: "SendGrid's message names the field it refused; check delivery.sendgrid in digest.toml",
    401: f"check SENDGRID_API_KEY: {_KEY_HINT}",
    403: "the key needs the Mail Send permission, and the sender must be verified in SendGrid",
    413: "lower delivery.sendgrid.batch_size, or make the issue smaller",
}


def text_token(marker: str, key: str) -> str:
    """The text part's name for a slot: unlike `token`, SendGrid fills it with the raw value."""
    return f"%%DIGEST_{marker}_TEXT_{key}%%"


class _HideSecrets(logging.Filter):
    """Drops python_http_client's records: at DEBUG it logs each request's headers (the API
    key), its body (every reader's address) and SendGrid's raw answers, and the sender already
    says what matters in its results and exceptions. So `digest -v` never writes a key."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


_CLIENT_LOG = logging.getLogger("python_http_client.client")
if not any(isinstance(f, _HideSecrets) for f in _CLIENT_LOG.filters):
    _CLIENT_LOG.addFilter(_HideSecrets())


@dataclass(frozen=True)
class _Prepared:
    """What every request of one letter shares, built once; `body` is never mutated."""

    body: dict[str, Any]
    html_slots: tuple[tuple[str, str], ...]
    """(slot key, token) for each slot the HTML has."""
    text_slots: tuple[tuple[str, str], ...]
    """(slot key, renamed token) for each slot the text has."""
    custom_args: dict[str, str]

    def substitutions(self, r: Recipient) -> dict[str, str]:
        values = r.reader.values()
        subs = {tok: html.escape(values[key], quote=True) for key, tok in self.html_slots}
        subs.update((tok, values[key]) for key, tok in self.text_slots)
        return subs


class SendGridSender(Sender):
    """Delivers through SendGrid's v3 Mail Send API; `send` is thread-safe."""

    name = "sendgrid"

    def __init__(
        self,
        settings: SendGridSettings,
        api_key: str,
        *,
        sandbox: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not api_key or any(c.isspace() or not c.isprintable() for c in api_key):
            raise Permanent("SENDGRID_API_KEY is empty or has spaces or line breaks", _KEY_HINT)
        if not 1 <= settings.batch_size <= MAX_BATCH:
            raise Permanent(f"delivery.sendgrid.batch_size must be 1 to {MAX_BATCH}")
        self.settings = settings
        self.sandbox = sandbox
        self.batch_size = settings.batch_size
        self.concurrency = settings.concurrency
        self.schedule_ahead = timedelta(hours=settings.schedule_ahead_hours)
        self._api_key = api_key
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._prepared: tuple[Letter, _Prepared] | None = None

    @classmethod
    def from_env(cls, settings: SendGridSettings, sandbox: bool = False) -> SendGridSender:
        """The sender with the key from SENDGRID_API_KEY (secrets never live in digest.toml)."""
        key = os.environ.get("SENDGRID_API_KEY", "").strip()
        if not key:
            raise Permanent("set SENDGRID_API_KEY", _KEY_HINT)
        return cls(settings, key, sandbox=sandbox)

    def close(self) -> None:
        """Drops every thread's client (and with them the key's copies)."""
        self._local = threading.local()

    def send(self, letter: Letter, batch: Sequence[Recipient]) -> list[Result]:
        if len(batch) > MAX_BATCH:
            raise ValueError(f"SendGrid takes at most {MAX_BATCH} readers a request")
        prepared = self._prepare(letter)
        early, personalizations = _plan(prepared, letter, batch)
        if not personalizations:
            return [r for r in early if r is not None]
        body = {**prepared.body, "personalizations": personalizations}
        if batch[0].send_at is not None:  # a batch has one send time (`deliver.send`)
            body["send_at"] = int(batch[0].send_at.timestamp())
        response = self._post(body)
        message_id = response.headers.get("X-Message-Id") or None
        return [
            done or Result(r.email, "sent", message_id=message_id)
            for done, r in zip(early, batch, strict=True)
        ]

    def _prepare(self, letter: Letter) -> _Prepared:
        """The letter's shared request parts, built once (the last letter is kept)."""
        with self._lock:
            if self._prepared and (self._prepared[0] is letter or self._prepared[0] == letter):
                return self._prepared[1]
            prepared = _prepare(letter, self.settings, sandbox=self.sandbox)
            self._prepared = (letter, prepared)
            return prepared

    def _client(self) -> SendGridAPIClient:
        """This thread's client (see the module's note on thread safety)."""
        client: SendGridAPIClient | None = getattr(self._local, "client", None)
        if client is None:
            client = SendGridAPIClient(self._api_key, host=self.settings.host)
            client.client.timeout = self.settings.timeout
            self._local.client = client
        return client

    def _post(self, body: dict[str, Any]) -> Any:
        """One request; its failures sorted into Transient, Permanent and Unknown."""
        host = self.settings.host
        try:
            return self._client().client.mail.send.post(request_body=body)
        except HTTPError as exc:
            raise self._refused(exc) from None
        except URLError as exc:
            reason = self._redact(str(exc.reason))
            raise Transient(f"cannot reach SendGrid at {host}: {reason}") from None
        except (OSError, HTTPException) as exc:
            reason = self._redact(str(exc) or type(exc).__name__)
            raise Unknown(f"no answer from SendGrid at {host} after sending: {reason}") from None

    def _refused(self, exc: HTTPError) -> Exception:
        status = int(exc.status_code)
        details = self._redact(_messages(exc.body))
        if status == 429:
            wait = _wait(exc.headers, self._clock())
            return Transient(f"SendGrid is rate limiting this account (429): {details}", wait)
        if status >= 500 or status == 408:
            wait = _wait(exc.headers, self._clock())
            return Transient(f"SendGrid answered {status}: {details}", wait)
        hint = _HINTS.get(status, f"check delivery.sendgrid.host ({self.settings.host})")
        return Permanent(f"SendGrid refused the request ({status}): {details}", hint)

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "[SENDGRID_API_KEY]")


def _prepare(letter: Letter, settings: SendGridSettings, *, sandbox: bool) -> _Prepared:
    keys = "|".join(SLOT_KEYS.values())
    pattern = re.compile(rf"%%DIGEST_{re.escape(letter.marker)}_({keys})%%")
    text = pattern.sub(lambda m: text_token(letter.marker, m[1]), letter.text)
    html_slots = tuple(
        (k, token(letter.marker, k))
        for k in SLOT_KEYS.values()
        if token(letter.marker, k) in letter.html
    )
    text_slots = tuple(
        (k, text_token(letter.marker, k))
        for k in SLOT_KEYS.values()
        if text_token(letter.marker, k) in text
    )
    custom_args = {"issue_id": letter.issue_id, "list": letter.list_name}
    return _Prepared(_body(letter, text, settings, sandbox), html_slots, text_slots, custom_args)


def _body(letter: Letter, text: str, settings: SendGridSettings, sandbox: bool) -> dict[str, Any]:
    """Everything of a request but its personalizations."""
    nobody = Recipient(email="", name="", unsubscribe_url="", key="")
    common = {
        k: v
        for k, v in letter.headers_for(nobody).items()
        if k not in PER_READER_HEADERS and k != "Reply-To"
    }
    body: dict[str, Any] = {
        "from": _address(letter.sender),
        "subject": letter.subject,
        "content": [
            {"type": "text/plain", "value": text},
            {"type": "text/html", "value": letter.html},
        ],
        "headers": common,
    }
    if letter.reply_to:
        body["reply_to"] = _address(letter.reply_to)
    if settings.categories:
        body["categories"] = list(settings.categories)
    if settings.asm_group_id is not None:
        body["asm"] = {"group_id": settings.asm_group_id}
    if sandbox:
        body["mail_settings"] = {"sandbox_mode": {"enable": True}}
    return body


def _plan(
    prepared: _Prepared, letter: Letter, batch: Sequence[Recipient]
) -> tuple[list[Result | None], list[dict[str, Any]]]:
    """Each reader's personalization, or their failed Result when SendGrid would refuse the
    whole request for them (an address twice, values past the substitutions limit)."""
    early: list[Result | None] = []
    personalizations = []
    seen: set[str] = set()
    for r in batch:
        address = r.email.casefold()
        if address in seen:
            early.append(Result(r.email, "failed", error="listed twice in one batch"))
            continue
        seen.add(address)
        subs = prepared.substitutions(r)
        size = sum(len(k.encode()) + len(v.encode()) for k, v in subs.items())
        if size > SUBSTITUTIONS_LIMIT:
            error = f"name or links too long for SendGrid ({size} bytes of {SUBSTITUTIONS_LIMIT})"
            early.append(Result(r.email, "failed", error=error))
            continue
        headers = letter.headers_for(r)
        to = {"email": r.email, "name": r.name} if r.name else {"email": r.email}
        early.append(None)
        personalizations.append(
            {
                "to": [to],
                "substitutions": subs,
                "headers": {k: headers[k] for k in PER_READER_HEADERS},
                "custom_args": prepared.custom_args,
            }
        )
    return early, personalizations


def _address(mailbox: str) -> dict[str, str]:
    name, email = parseaddr(mailbox)
    return {"email": email, "name": name} if name else {"email": email}


def _messages(body: bytes | str | None) -> str:
    """SendGrid's error messages (`{"errors": [{"message", "field"}]}`), or the body's start."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body or ""
    try:
        errors = json.loads(raw).get("errors")
    except (ValueError, AttributeError):
        errors = None
    listed = errors if isinstance(errors, list) else []
    found = [e for e in listed if isinstance(e, dict) and e.get("message")]
    parts = [
        f"{e['field']}: {e['message']}" if e.get("field") else str(e["message"]) for e in found[:5]
    ]
    if len(found) > 5:
        parts.append(f"and {len(found) - 5} more")
    return shorten(line("; ".join(parts) or raw), 500) or "no details"


def _wait(headers: Mapping[str, str] | None, now: float) -> float | None:
    """Seconds to wait: until `X-RateLimit-Reset` (epoch seconds), else `Retry-After`."""
    headers = headers or {}
    reset = _number(headers.get("X-RateLimit-Reset"))
    if reset is not None:
        return max(0.0, reset - now)
    after = _number(headers.get("Retry-After"))
    return max(0.0, after) if after is not None else None


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None
