"""The web version of every sent issue (`/issues/<id>`: the "view in browser" link), each
list's archive (`/archive/<list>`) and its Atom feed. Pages come from the ledger's frozen copy,
so they show the issue exactly as it was sent, with every reader's own parts left out. A list
with `archive = false` has none of these pages (404)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..compose.personalise import Reader, fill
from ..config import ListConfig
from ..state.sends import FrozenSend
from .render import HEADERS, message_page, page
from .site import Site
from .words import words

__all__ = ["archive", "archive_feed", "issue_page", "public_issues"]

FEED_ENTRIES = 20
_PAGE_UNSUBSCRIBE = "../unsubscribe"  # from /issues/<id>, relative: the app may sit under a path
ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Shown:
    """An issue as a web page shows it."""

    id: str
    subject: str
    started: datetime
    html: str
    text: str


def public_issues(site: Site, lst: ListConfig, limit: int, unsubscribe: str) -> list[Shown]:
    """The list's sent issues, newest first (sandbox sends are tests, never shown)."""
    with site.state() as state:
        frozen = state.sends.recent(lst.name, limit + 10)
    return [_shown(lst, f, unsubscribe) for f in frozen if _public(f)][:limit]


async def issue_page(request: Request) -> Response:
    site: Site = request.app.state.site
    issue_id = request.path_params["issue_id"]
    with site.state() as state:
        frozen = state.sends.find(issue_id)
    lst = site.list(frozen.list_name) if frozen else None
    if frozen is None or lst is None or not lst.archive or not _public(frozen):
        return _not_found(site)
    return HTMLResponse(_shown(lst, frozen, _PAGE_UNSUBSCRIBE).html, headers=HEADERS)


async def archive(request: Request) -> Response:
    site: Site = request.app.state.site
    lst = site.list(request.path_params["list"])
    if lst is None or not lst.archive:
        return _not_found(site)
    w = words(lst.language)
    issues = [
        {"url": f"../issues/{quote(i.id)}", "subject": i.subject, "date": f"{i.started:%Y-%m-%d}"}
        for i in public_issues(site, lst, 500, _PAGE_UNSUBSCRIBE)
    ]
    return page(
        "archive",
        language=lst.language,
        page_title=w["archive_title"].format(title=lst.title),
        feed_url=f"{lst.name}/feed.atom",
        issues=issues,
        w=w,
    )


async def archive_feed(request: Request) -> Response:
    site: Site = request.app.state.site
    lst = site.list(request.path_params["list"])
    if lst is None or not lst.archive:
        return _not_found(site)
    base = site.config.base_url
    issues = public_issues(site, lst, FEED_ENTRIES, f"{base}/unsubscribe")
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": lst.language})
    _sub(feed, "title", words(lst.language)["archive_title"].format(title=lst.title))
    _sub(feed, "id", f"{base}/archive/{lst.name}")
    _sub(feed, "updated", (issues[0].started if issues else site_epoch()).isoformat())
    _link(feed, f"{base}/archive/{lst.name}/feed.atom", "self")
    _link(feed, f"{base}/archive/{lst.name}", "alternate")
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _sub(author, "name", lst.title)
    for i in issues:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _sub(entry, "title", i.subject)
        _sub(entry, "id", f"{base}/issues/{quote(i.id)}")
        _sub(entry, "updated", i.started.isoformat())
        _sub(entry, "published", i.started.isoformat())
        _link(entry, f"{base}/issues/{quote(i.id)}", "alternate")
        _sub(entry, "content", i.html, type="html")
    body = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def site_epoch() -> datetime:
    return datetime.fromisoformat("2000-01-01T00:00:00+00:00")


def _public(frozen: FrozenSend) -> bool:
    return not frozen.sandbox


def _shown(lst: ListConfig, frozen: FrozenSend, unsubscribe: str) -> Shown:
    """The frozen letter with the reader's parts filled for nobody in particular: no name, no
    address, and an unsubscribe link (`unsubscribe`: relative on a page, absolute in the feed)
    whose page asks for the reader's own copy."""
    letter = frozen.letter
    nobody = Reader(
        email=words(lst.language)["web_reader"],
        name="",
        unsubscribe_url=f"{unsubscribe}?list={lst.name}&from=web",
    )
    marker = letter["marker"]
    return Shown(
        id=frozen.issue_id,
        subject=letter["subject"],
        started=frozen.started_at,
        html=fill(letter["html"], nobody, marker=marker, escape=True),
        text=fill(letter["text"], nobody, marker=marker, escape=False),
    )


def _sub(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    el.text = text
    return el


def _link(parent: ET.Element, href: str, rel: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", {"href": href, "rel": rel})


def _not_found(site: Site) -> Response:
    return message_page("en", "not_found", "not_found_note", status=404)
