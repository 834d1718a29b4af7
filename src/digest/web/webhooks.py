"""`POST /webhooks/sendgrid`: SendGrid's Event Webhook, so bounces, complaints and
unsubscribes reach the list's CSV through the same batched path as a click.

Order of the checks, cheapest refusal first: no key configured → 404 (the route is off, and
the log says why); a body over `BODY_LIMIT` → 413; a missing, wrong or stale signature → 403;
JSON that is not an array → 400. Only then is anything written: the batch in one synced
transaction (`state.events`), before the 2xx. Events for an issue or reader the send ledger
does not know are logged and skipped, still with a 2xx, so SendGrid does not retry them for
three days.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..state import EventBatch, ProviderEvent
from .sendgrid_events import parse_events
from .signed import SIGNATURE, TIMESTAMP, signature_problem
from .site import Site
from .unsubscribe import mask

__all__ = ["BODY_LIMIT", "sendgrid_webhook"]

log = logging.getLogger(__name__)

BODY_LIMIT = 8 * 1024 * 1024
"""Bytes a batch may have: SendGrid posts a few thousand events at most (under a megabyte or
two); anything far larger is not SendGrid."""
UNKNOWN_LOGGED = 5
"""Events of an unknown issue or reader logged one by one per batch; the rest are counted."""


async def sendgrid_webhook(request: Request) -> Response:
    site: Site = request.app.state.site
    key = site.config.delivery.sendgrid.webhook_key
    if key is None:
        log.warning(
            "POST /webhooks/sendgrid refused (404): no [delivery.sendgrid] webhook_key in "
            "digest.toml, so events cannot be verified"
        )
        return Response("not found", status_code=404)
    body = await _body(request)
    if body is None:
        return Response("request body too large", status_code=413)
    now = datetime.now(UTC)
    problem = signature_problem(
        key, request.headers.get(SIGNATURE), request.headers.get(TIMESTAMP), body, now
    )
    if problem is not None:
        log.warning("POST /webhooks/sendgrid refused (403): %s", problem)
        return Response("signature refused", status_code=403)
    try:
        batch = json.loads(body)
    except (ValueError, RecursionError):
        return Response("body is not JSON", status_code=400)
    if not isinstance(batch, list):
        return Response("body is not a JSON array of events", status_code=400)
    parsed = parse_events(batch, now)
    done = await run_in_threadpool(_record, site, parsed.events, now)
    for name in sorted(done.changed_lists):
        request.app.state.flusher.poke(name)
    _log(done, parsed.foreign, parsed.other)
    return JSONResponse(
        {
            "recorded": done.recorded,
            "replayed": done.replayed,
            "ignored": len(done.unknown) + parsed.foreign + parsed.other,
        }
    )


def _record(site: Site, events: tuple[ProviderEvent, ...], now: datetime) -> EventBatch:
    with site.writing, site.state() as state:
        return state.events.record(events, now)


async def _body(request: Request) -> bytes | None:
    """The raw body, or None past the limit (a Content-Length over it is refused unread)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > BODY_LIMIT:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > BODY_LIMIT:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _log(done: EventBatch, foreign: int, other: int) -> None:
    for e in done.unknown[:UNKNOWN_LOGGED]:
        log.info(
            "sendgrid event %s for %s ignored: issue %s of list %s has no such reader or "
            "issue in the send ledger",
            e.kind,
            mask(e.email),
            e.issue_id,
            e.list_name,
        )
    more = len(done.unknown) - UNKNOWN_LOGGED
    if more > 0:
        log.info("%d more sendgrid events of unknown issues or readers ignored", more)
    if foreign or other:
        log.info(
            "sendgrid events ignored: %d without digest's issue_id/list, %d of kinds not counted",
            foreign,
            other,
        )
    log.info("sendgrid events: %d recorded, %d seen before", done.recorded, done.replayed)
