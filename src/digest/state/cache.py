"""The HTTP cache: each feed's validators *and the entries parsed from its last full answer*,
so a 304 gives back the same entries (items not yet sent are never lost); and the text of
article pages fetched for teaser items, so a page is fetched once (kept `PAGE_CACHE_DAYS`).

A row this version cannot use (another version wrote it, or a hand edit) is a cache miss: the
feed or page is fetched in full again, which loses nothing."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..models import Entry, PageText
from .db import Database, parse_stamp, stamp

__all__ = ["PAGE_CACHE_DAYS", "CachedFeed", "CachedPage", "FeedCache", "PageCache"]

PAGE_CACHE_DAYS = 30


@dataclass(frozen=True)
class CachedFeed:
    """A feed as last fetched in full: its validators and the entries that answer held."""

    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    fetched_at: datetime
    title: str | None
    format: str
    problems: tuple[str, ...]
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class CachedPage:
    """The text of an article page fetched for a teaser item."""

    url: str
    fetched_at: datetime
    title: str | None
    paragraphs: tuple[str, ...]
    image: str | None
    image_alt: str | None = None
    image_width: int | None = None
    image_height: int | None = None
    site: str | None = None

    def text(self) -> PageText:
        """What the summariser asks of a page: the same whether fetched now or cached."""
        return PageText(
            self.title,
            self.paragraphs,
            self.image,
            image_alt=self.image_alt,
            image_width=self.image_width,
            image_height=self.image_height,
            site=self.site,
        )


class FeedCache:
    """Table `http_cache`, by the feed's configured URL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, url: str) -> CachedFeed | None:
        row = self.db.conn.execute(
            "SELECT url, etag, last_modified, body_hash, fetched_at, title, format, problems, "
            "entries FROM http_cache WHERE url = ?",
            (url,),
        ).fetchone()
        return None if row is None else _feed(row)

    def put(self, feed: CachedFeed) -> None:
        with self.db.tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO http_cache (url, etag, last_modified, body_hash, "
                "fetched_at, title, format, problems, entries) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    feed.url,
                    feed.etag,
                    feed.last_modified,
                    feed.body_hash,
                    stamp(feed.fetched_at),
                    feed.title,
                    feed.format,
                    json.dumps(list(feed.problems)),
                    json.dumps([e.to_json() for e in feed.entries], ensure_ascii=False),
                ),
            )


class PageCache:
    """Table `pages`, by the page's canonical URL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, url: str) -> CachedPage | None:
        row = self.db.conn.execute(
            "SELECT url, fetched_at, title, paragraphs, image, image_alt, image_width, "
            "image_height, site FROM pages WHERE url = ?",
            (url,),
        ).fetchone()
        if row is None or not _texts(row[2], row[4], row[5], row[8]):
            return None
        fetched_at, paragraphs = parse_stamp(row[1]), _strings(row[3])
        if fetched_at is None or paragraphs is None:
            return None
        return CachedPage(
            row[0],
            fetched_at,
            row[2],
            paragraphs,
            row[4],
            image_alt=row[5],
            image_width=_size(row[6]),
            image_height=_size(row[7]),
            site=row[8],
        )

    def put(self, page: CachedPage) -> None:
        """Store a page, and forget pages older than `PAGE_CACHE_DAYS`."""
        cutoff = stamp(page.fetched_at - timedelta(days=PAGE_CACHE_DAYS))
        with self.db.tx() as c:
            c.execute("DELETE FROM pages WHERE fetched_at < ?", (cutoff,))
            c.execute(
                "INSERT OR REPLACE INTO pages (url, fetched_at, title, paragraphs, image, "
                "image_alt, image_width, image_height, site) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    page.url,
                    stamp(page.fetched_at),
                    page.title,
                    json.dumps(list(page.paragraphs), ensure_ascii=False),
                    page.image,
                    page.image_alt,
                    page.image_width,
                    page.image_height,
                    page.site,
                ),
            )


def _feed(row: Sequence[Any]) -> CachedFeed | None:
    """A `http_cache` row, or None (a miss) if any of it is not what `put` writes."""
    fetched_at, problems = parse_stamp(row[4]), _strings(row[7])
    if fetched_at is None or problems is None or not _texts(*row[1:4], row[5], row[6]):
        return None
    try:
        raw = json.loads(row[8])
        entries = tuple(Entry.from_json(e) for e in raw) if isinstance(raw, list) else None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if entries is None or any(e.published and e.published.tzinfo is None for e in entries):
        return None  # a time without its zone would fail later, when compared
    return CachedFeed(
        url=row[0],
        etag=row[1],
        last_modified=row[2],
        body_hash=row[3],
        fetched_at=fetched_at,
        title=row[5],
        format=row[6] or "",
        problems=problems,
        entries=entries,
    )


def _size(value: object) -> int | None:
    """A stored image size: a whole number of pixels, else (NULL, a hand edit) none."""
    return value if isinstance(value, int) and 1 <= value <= 10_000 else None


def _texts(*values: object) -> bool:
    """Whether each value is text or NULL, as stored."""
    return all(v is None or isinstance(v, str) for v in values)


def _strings(value: object) -> tuple[str, ...] | None:
    """A stored JSON list of strings, or None if the value is not one."""
    try:
        items = json.loads(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return None
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        return None
    return tuple(items)
