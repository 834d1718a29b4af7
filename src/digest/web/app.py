"""The web app of `digest serve` (Starlette): its routes, and what it does at start and stop.

Nothing here trusts a request: every page is escaped, an unsubscribe needs its signed token,
SendGrid's events need their ECDSA signature, and an error is a page with one clear line,
never a traceback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import DigestError
from .flusher import Flusher
from .home import home
from .issues import archive, archive_feed, issue_page
from .preview import preview, preview_stamp
from .render import message_page, page
from .site import Site
from .unsubscribe import resubscribe, unsubscribe
from .webhooks import sendgrid_webhook

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(site: Site, flusher: Flusher | None = None) -> Starlette:
    """The app for one newsletter folder. `flusher` writes clicks into the CSV files (one
    is made with the defaults when not given)."""
    flusher = flusher or Flusher(site)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        flusher.start()
        try:
            yield
        finally:
            flusher.stop()  # what is pending reaches the files before the process ends

    routes = [
        Route("/", home),
        Route("/preview/{list}", preview),
        Route("/preview/{list}/stamp", preview_stamp),
        Route("/issues/{issue_id}", issue_page),
        Route("/archive/{list}", archive),
        Route("/archive/{list}/feed.atom", archive_feed),
        Route("/unsubscribe", unsubscribe, methods=["GET", "POST"]),
        Route("/resubscribe", resubscribe, methods=["POST"]),
        Route("/webhooks/sendgrid", sendgrid_webhook, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, DigestError: _digest_error},
    )
    app.state.site = site
    app.state.flusher = flusher
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return message_page("en", "not_found", "not_found_note", status=404)
    return Response(exc.detail, status_code=exc.status_code, headers=exc.headers)


async def _digest_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DigestError)
    log.error("%s %s: %s", request.method, request.url.path, exc.message)
    return page(
        "message",
        500,
        language="en",
        page_title="Something went wrong",
        heading="Something went wrong",
        note=exc.message + (f" {exc.hint}" if exc.hint else ""),
        form=None,
        error=True,
    )
