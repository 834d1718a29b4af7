"""Unsubscribe at the link every message carries (RFC 8058 one-click, and by hand).

- GET shows the address (partly masked) and a button, and changes nothing: mail scanners and
  link previews follow every link in a message.
- POST (the button, or a mail client's one-click POST with `List-Unsubscribe=One-Click`)
  records the change durably in the state before it answers. It takes effect for every later
  batch of every send at once, and reaches the list's CSV in batches (`pipeline.changes`).
  It is counted in the list's health against the last issue the ledger sent the reader
  (`state.events.count_click`; the link carries no issue).
  It is idempotent, and answers with a "resubscribe" button that undoes a mistaken click.
- A missing, altered or forged token gets 400 and changes nothing; the check is constant-time
  (`tokens.verify`). The answer never says whether an address is on the list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..config import ListConfig
from ..pipeline.changes import UNDO
from ..tokens import verify
from .render import message_page
from .site import Site
from .words import words

__all__ = ["UNDO_DAYS", "mask", "resubscribe", "unsubscribe"]

log = logging.getLogger(__name__)

UNDO_DAYS = 7
"""How long after a click its "resubscribe" button still works."""
BODY_LIMIT = 4096
ONE_CLICK = "One-Click"


@dataclass(frozen=True)
class Link:
    """A checked link: the list, the address as the link gives it, and its ledger key."""

    lst: ListConfig
    email: str
    fields: dict[str, str]

    @property
    def reader(self) -> str:
        return self.email.casefold()


def mask(address: str) -> str:
    """`a***@example.com`: enough for the reader to recognise, little for a shoulder-surfer."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else address


async def unsubscribe(request: Request) -> Response:
    site: Site = request.app.state.site
    if request.method != "POST":  # GET, and HEAD (link checkers): they change nothing
        return await run_in_threadpool(_confirm, site, dict(request.query_params))
    return await _post(request, _unsubscribe)


async def resubscribe(request: Request) -> Response:
    return await _post(request, _resubscribe)


async def _post(request: Request, change: Callable[[Site, dict[str, str]], Response]) -> Response:
    """A POST of the link's fields: the change made in a worker thread (SQLite and its sync
    must not block the event loop), then the flusher told the list has something to write."""
    params = await _params(request)
    if isinstance(params, Response):
        return params
    answer = await run_in_threadpool(change, request.app.state.site, params)
    if answer.status_code == 200:
        request.app.state.flusher.poke(params["list"])
    return answer


def _unsubscribe(site: Site, params: dict[str, str]) -> Response:
    link = _check(site, params)
    if isinstance(link, Response):
        return link
    one_click = params.get("List-Unsubscribe") == ONE_CLICK
    origin = "one-click" if one_click else "web"
    with site.writing, site.state() as state:
        recorded = state.changes.record_stop(
            link.lst.name, link.reader, link.email, "unsubscribed", _now(), origin
        )
        if recorded is not None:  # the list's health: against the last issue the reader got
            state.events.count_click(link.lst.name, link.reader, recorded)
    log.info(
        "%s: unsubscribe %s (%s)%s",
        link.lst.name,
        mask(link.email),
        origin,
        "" if recorded else ", already pending",
    )
    return _done(link, "unsubscribed", "unsubscribed_note", undo=True)


def _resubscribe(site: Site, params: dict[str, str]) -> Response:
    """Undo a recent click of this same link; nothing older (a token never expires, and a
    forwarded email must not let anyone sign its reader up again months later)."""
    link = _check(site, params)
    if isinstance(link, Response):
        return link
    with site.writing, site.state() as state:
        last = state.changes.last(link.lst.name, link.reader)
        if last is not None and last.status == "subscribed" and last.origin == UNDO:
            return _done(link, "resubscribed", "resubscribed_note", undo=False)  # a second click
        if (
            last is None
            or last.status != "unsubscribed"
            or last.origin not in ("web", "one-click")
            or last.outcome not in (None, "changed")  # it took nobody off the list: no undo
            or last.at < _now() - timedelta(days=UNDO_DAYS)
        ):
            return message_page(
                link.lst.language,
                "undo_refused",
                "undo_refused_note",
                status=409,
                address=mask(link.email),
                title=link.lst.title,
            )
        state.changes.record(link.lst.name, link.reader, link.email, "subscribed", _now(), UNDO)
    log.info("%s: resubscribe %s (undo)", link.lst.name, mask(link.email))
    return _done(link, "resubscribed", "resubscribed_note", undo=False)


def _confirm(site: Site, params: dict[str, str]) -> Response:
    if "token" not in params and ("preview" in params or "from" in params):
        lst = site.list(params.get("list", ""))
        language = lst.language if lst else "en"
        if "preview" in params:
            return message_page(language, "preview_link", "preview_link_note", status=400)
        return message_page(language, "in_your_copy", status=400)
    link = _check(site, params)
    if isinstance(link, Response):
        return link
    with site.state() as state:
        held = link.reader in state.changes.held(link.lst.name, _now())
    if held:
        return _done(link, "already", "unsubscribed_note", undo=True)
    return message_page(
        link.lst.language,
        "unsubscribe_ask",
        "unsubscribe_note",
        form=_form(link, "unsubscribe", "unsubscribe_button"),
        address=mask(link.email),
        title=link.lst.title,
    )


def _done(link: Link, heading: str, note: str, *, undo: bool) -> Response:
    form = _form(link, "resubscribe", "resubscribe_button", quiet=True) if undo else None
    return message_page(
        link.lst.language, heading, note, form=form, address=mask(link.email), title=link.lst.title
    )


def _form(link: Link, action: str, button: str, quiet: bool = False) -> dict[str, object]:
    """A button posting the link's fields to `action`, relative to the page (so the app works
    behind a proxy that serves it under a path of `base_url`)."""
    return {
        "action": action,
        "fields": link.fields,
        "button": words(link.lst.language)[button],
        "quiet": quiet,
    }


async def _params(request: Request) -> dict[str, str] | Response:
    """The link's fields: from the query string (a one-click POST goes to the link itself),
    then from the form the page posted. A body over 4 KB is no form of ours. parse_qsl's
    field limit raises on a body of many fields: that is no form of ours either."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_LIMIT:
            return Response("request body too large", status_code=413)
    text = body.decode("utf-8", "replace")
    try:
        params = dict(parse_qsl(text, max_num_fields=20))
    except ValueError:
        return Response("too many form fields", status_code=400)
    params.update(request.query_params)
    if "List-Unsubscribe=One-Click" in text or 'name="List-Unsubscribe"' in text:
        params["List-Unsubscribe"] = ONE_CLICK  # RFC 8058 allows a multipart body too
    return params


def _check(site: Site, params: dict[str, str]) -> Link | Response:
    """The link, if its token is the one digest made for this list and address."""
    lst = site.list(params.get("list", ""))
    email = params.get("email", "")
    token = params.get("token", "")
    language = lst.language if lst else "en"
    if lst is None or not email or not token or not site.secret:
        return _bad(language)
    if not verify(site.secret, lst.name, email, token):
        return _bad(language)
    return Link(lst, email, {"list": lst.name, "email": email, "token": token})


def _bad(language: str) -> Response:
    return message_page(language, "bad_link", "bad_link_note", status=400, error=True)


def _now() -> datetime:
    return datetime.now(UTC)
