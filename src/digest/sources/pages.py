"""Article pages from the web: one page as an `Article` (`digest summarise URL`), and the
text of the page behind a teaser item, which the summariser asks for (`PageReader`).

The body is read as a stream and cut off at `max_bytes`, so a huge or endless answer cannot
fill memory; an article's text sits near the top of its page, so what arrived is extracted and
the cut is logged. Every failure a user can act on (no connection, an HTTP error, an answer
that is not a web page, a page without article text) is a `SourceError` naming the URL.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import datetime
from email.message import Message
from urllib.parse import urlsplit

from ..errors import SourceError
from ..models import Article, Item, PageText
from ..state.cache import CachedPage, PageCache
from ..state.db import failure
from ..text import title_line
from ..urls import http_url
from .extract import extract_html
from .fetch import PAGE_ACCEPT, Fetched, Fetcher, FetchLimits
from .identity import item_id, item_key

__all__ = ["PageReader", "article_from_html", "fetch_article"]

log = logging.getLogger(__name__)

_HTML_TYPES = ("text/html", "application/xhtml+xml")


def fetch_article(
    url: str, *, timeout: float = 15.0, max_bytes: int = 5_000_000, source: str | None = None
) -> Article:
    """Fetch `url` (following redirects) and extract its article.

    The page comes through the gatherer's own `Fetcher` (same User-Agent, redirects, gzip and
    size cap). `timeout` bounds connecting and each read; `source` defaults to the host name.
    """
    if http_url(url) is None:
        raise SourceError(f"{url}: not a web address", "Give a full http:// or https:// URL.")
    limits = FetchLimits(
        concurrency=1, connect_timeout=timeout, read_timeout=timeout, max_bytes=max_bytes
    )
    r = asyncio.run(_get(url, limits))
    if r.status is not None and r.status >= 400:
        raise SourceError(
            f"{url}: the server answered {r.error.removeprefix('HTTP ') if r.error else r.status}",
            "Check the address; the page may have moved, be gone or need a login.",
        )
    if r.status is None or (r.error and not r.body):
        raise SourceError(
            f"{url}: cannot fetch it ({r.error})", "Check the address and your network connection."
        )
    content_type = r.headers.get("content-type", "")
    _check_html(url, content_type)
    if r.error:
        log.warning("%s: page larger than %d bytes; using its first %d", url, max_bytes, max_bytes)
    html: str | bytes = r.body
    charset = _charset(content_type)
    if charset:
        try:
            html = r.body.decode(charset, errors="replace")
        except LookupError:
            html = r.body
    return article_from_html(html, r.final_url, source or _host(r.final_url))


async def _get(url: str, limits: FetchLimits) -> Fetched:
    async with Fetcher(limits) as fetcher:
        return await fetcher.get(url, accept=PAGE_ACCEPT, keep_partial=True, source_url=url)


def _charset(content_type: str) -> str | None:
    m = Message()
    m["content-type"] = content_type or "application/octet-stream"
    return m.get_content_charset()


def article_from_html(html: bytes | str, url: str | None, source: str) -> Article:
    """An `Article` from a page's HTML. Its id follows the one rule (`identity`): the URL (the
    page's own canonical URL when `url` is None), else its text, as for feed items and files."""
    page = extract_html(html, url=url)
    where = url or page.url or "the page"
    if not page.paragraphs:
        raise SourceError(
            f"{where}: no article text found in the page",
            "Check that the address is an article, not a home or index page.",
        )
    link = url or page.url
    title = title_line(page.title or _title_from_url(link) or "") or "Untitled"
    return Article(
        id=item_id(item_key(url=link, title=title, text="\n".join(page.paragraphs))),
        title=title,
        source=source,
        url=link,
        published=page.published,
        author=page.author,
        paragraphs=page.paragraphs,
        image=page.image,
        image_alt=page.image_alt,
        image_width=page.image_width,
        image_height=page.image_height,
        site=page.site,
    )


def _check_html(url: str, content_type: str) -> None:
    kind = content_type.split(";")[0].strip().lower()
    if kind and kind not in _HTML_TYPES:
        raise SourceError(
            f"{url}: the answer is {kind}, not a web page",
            "Give the address of an article's HTML page (not a feed, PDF or image).",
        )


def _host(url: str) -> str:
    return urlsplit(url).hostname or "web"


def _title_from_url(url: str | None) -> str | None:
    if not url:
        return None
    slug = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    slug = slug.rsplit(".", 1)[0].replace("-", " ").replace("_", " ").strip()
    return slug.capitalize() or None


class PageReader:
    """The text of the page behind a teaser item: from the page cache, else fetched (through
    the run's `Fetcher`) and extracted, then cached. Called as the summariser's page source."""

    def __init__(self, fetcher: Fetcher, cache: PageCache, now: datetime) -> None:
        self.fetcher = fetcher
        self.cache = cache
        self.now = now

    async def __call__(self, item: Item) -> PageText | str:
        """The text of the item's page, or why it could not be had (an HTTP error, not a web
        page, a private host that the item's source may not reach)."""
        url, canonical = item.article.url, item.canonical
        if url is None or canonical is None:
            return "no link to follow"
        try:
            return await self._text(item, url, canonical)
        except sqlite3.Error as exc:  # the page cache: the state's trouble, said as such
            raise failure(exc, self.cache.db.path, "the state database is damaged") from None

    async def _text(self, item: Item, url: str, canonical: str) -> PageText | str:
        cached = self.cache.get(canonical)
        if cached is None:
            source_url = item.source.location if item.source.is_remote else None
            r = await self.fetcher.get(url, accept=PAGE_ACCEPT, source_url=source_url)
            reason = r.error
            if reason is None and not r.ok:
                reason = f"HTTP {r.status}"
            ctype = r.headers.get("content-type", "text/html").lower()
            if reason is None and "html" not in ctype:
                reason = f"not an HTML page ({ctype.split(';')[0]})"
            if reason is not None:
                return reason
            page = await asyncio.to_thread(extract_html, r.body, r.final_url)
            cached = CachedPage(
                canonical,
                self.now,
                page.title,
                page.paragraphs,
                page.image,
                image_alt=page.image_alt,
                image_width=page.image_width,
                image_height=page.image_height,
                site=page.site,
            )
            self.cache.put(cached)
        return cached.text()
