"""SendGrid's suppression lists, read through its v3 API: who SendGrid will not deliver to and
why, for a list whose sender has no public web server to take the Event Webhook.

Each list is read page by page (`limit`/`offset`, 500 a page, until a short page). The kinds
and the status each gives a reader:

| kind | endpoint | status |
| --- | --- | --- |
| bounces | /v3/suppression/bounces | bounced |
| blocks | /v3/suppression/blocks | none: counted only (a block is often temporary) |
| spam_reports | /v3/suppression/spam_reports | complained |
| invalid_emails | /v3/suppression/invalid_emails | bounced |
| unsubscribes | /v3/suppression/unsubscribes | unsubscribed |
| group_unsubscribes | /v3/asm/groups/{id}/suppressions | unsubscribed (with `asm_group_id`) |

The key is only ever in the Authorization header: importing `deliver.sendgrid` silences
python_http_client's request log, and errors are built from the answer with the key redacted.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any
from urllib.error import URLError

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from ..config.delivery import SendGridSettings
from ..errors import DigestError
from . import sendgrid as _silenced  # noqa: F401  (installs the filter on the client's log)

__all__ = ["KINDS", "PAGE", "Kind", "Pulled", "pull_suppressions"]

PAGE = 500
"""SendGrid's largest page for the suppression lists."""
_KEY_HINT = "set SENDGRID_API_KEY to a key with the Suppressions (read) permission"


@dataclass(frozen=True)
class Kind:
    name: str
    path: str
    status: str | None
    """The reader's status it gives; None: counted only."""
    paged: bool = True
    """A group's suppressions come in one answer (SendGrid documents no paging for them)."""


KINDS = (
    Kind("bounces", "suppression/bounces", "bounced"),
    Kind("blocks", "suppression/blocks", None),
    Kind("spam_reports", "suppression/spam_reports", "complained"),
    Kind("invalid_emails", "suppression/invalid_emails", "bounced"),
    Kind("unsubscribes", "suppression/unsubscribes", "unsubscribed"),
)
GROUP = Kind("group_unsubscribes", "asm/groups/{id}/suppressions", "unsubscribed", paged=False)


@dataclass(frozen=True)
class Pulled:
    """One suppression list's addresses, as SendGrid gave them (each once)."""

    kind: Kind
    emails: tuple[str, ...]


class SuppressionError(DigestError):
    """SendGrid could not be asked: no key, a refusal, or no answer."""


def pull_suppressions(
    settings: SendGridSettings,
    api_key: str | None = None,
    *,
    page: int = PAGE,
) -> list[Pulled]:
    """Every suppression list of the account (and the group's, if `asm_group_id` is set).
    The key comes from SENDGRID_API_KEY unless given; raises SuppressionError naming the
    endpoint on any failure, so nothing is applied from a partial read."""
    key = (api_key if api_key is not None else os.environ.get("SENDGRID_API_KEY", "")).strip()
    if not key or any(c.isspace() or not c.isprintable() for c in key):
        raise SuppressionError("SENDGRID_API_KEY is not set (or has spaces)", _KEY_HINT)
    client = SendGridAPIClient(key, host=settings.host)
    client.client.timeout = settings.timeout
    reader = _Reader(client, key, settings.host)
    kinds = list(KINDS)
    if settings.asm_group_id is not None:
        path = GROUP.path.format(id=settings.asm_group_id)
        kinds.append(Kind(GROUP.name, path, GROUP.status, paged=False))
    return [Pulled(kind, reader.all(kind.path, page if kind.paged else None)) for kind in kinds]


class _Reader:
    def __init__(self, client: SendGridAPIClient, key: str, host: str) -> None:
        self.client = client
        self.key = key
        self.host = host

    def all(self, path: str, page: int | None) -> tuple[str, ...]:
        """Every address of one list: pages until a short one (or one that adds nobody, so a
        server that ignores `offset` cannot loop us forever)."""
        emails: dict[str, None] = {}
        offset = 0
        while True:
            query = {"limit": page, "offset": offset} if page else None
            items = self.get(path, query)
            before = len(emails)
            for item in items:
                email = item.get("email") if isinstance(item, dict) else item
                if isinstance(email, str) and email.strip():
                    emails.setdefault(email.strip(), None)
            if page is None or len(items) < page or len(emails) == before:
                return tuple(emails)
            offset += len(items)

    def get(self, path: str, query: dict[str, int] | None) -> list[Any]:
        where = f"GET {self.host}/v3/{path}"
        endpoint: Any = self.client.client
        for part in path.split("/"):
            endpoint = endpoint._(part)
        try:
            answer = endpoint.get(query_params=query)
        except HTTPError as exc:
            raise self._refused(where, exc) from None
        except URLError as exc:
            reason = self._redact(exc.reason)
            raise SuppressionError(f"{where}: cannot reach SendGrid ({reason})") from None
        except (OSError, HTTPException) as exc:
            reason = self._redact(str(exc) or type(exc).__name__)
            raise SuppressionError(f"{where}: no answer from SendGrid ({reason})") from None
        try:
            items = json.loads(answer.body or b"[]")
        except ValueError:
            items = None
        if not isinstance(items, list):
            raise SuppressionError(f"{where}: SendGrid's answer is not a JSON list")
        return items

    def _refused(self, where: str, exc: HTTPError) -> SuppressionError:
        status = int(exc.status_code)
        details = self._redact(_messages(exc.body))
        if status in (401, 403):
            message = f"{where}: SendGrid refused the key ({status}): {details}"
            return SuppressionError(message, _KEY_HINT)
        return SuppressionError(
            f"{where}: SendGrid answered {status}: {details}",
            f"check delivery.sendgrid.host ({self.host})" if status == 404 else None,
        )

    def _redact(self, text: object) -> str:
        return str(text).replace(self.key, "[SENDGRID_API_KEY]")


def _messages(body: Any) -> str:
    """SendGrid's error messages (`{"errors": [{"message": ...}]}`), else the start of the body."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        data = json.loads(raw)
        found = [e.get("message", "") for e in data.get("errors", []) if isinstance(e, dict)]
    except (ValueError, AttributeError):
        found = []
    text = "; ".join(m for m in found if m) or raw.strip()[:200] or "no details"
    return " ".join(text.split())
