"""The HTTP cache: each feed's validators *and the entries parsed from its last full answer*,
so a 304 gives back the same entries (items not yet sent are never lost); and the text of
article pages fetched for teaser items, so a page is fetched once (kept `PAGE_CACHE_DAYS`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..models import Entry
from .db import Database, stamp

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
        if row is None:
            return None
        try:
            entries = tuple(Entry.from_json(e) for e in json.loads(row[8]))
            problems = tuple(json.loads(row[7]))
        except (ValueError, TypeError, KeyError):
            return None  # written by an incompatible version: fetch the feed in full again
        return CachedFeed(
            url=row[0],
            etag=row[1],
            last_modified=row[2],
            body_hash=row[3],
            fetched_at=datetime.fromisoformat(row[4]),
            title=row[5],
            format=row[6] or "",
            problems=problems,
            entries=entries,
        )

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
            "SELECT url, fetched_at, title, paragraphs, image FROM pages WHERE url = ?", (url,)
        ).fetchone()
        if row is None:
            return None
        return CachedPage(
            row[0], datetime.fromisoformat(row[1]), row[2], tuple(json.loads(row[3])), row[4]
        )

    def put(self, page: CachedPage) -> None:
        """Store a page, and forget pages older than `PAGE_CACHE_DAYS`."""
        cutoff = stamp(page.fetched_at - timedelta(days=PAGE_CACHE_DAYS))
        with self.db.tx() as c:
            c.execute("DELETE FROM pages WHERE fetched_at < ?", (cutoff,))
            c.execute(
                "INSERT OR REPLACE INTO pages (url, fetched_at, title, paragraphs, image) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    page.url,
                    stamp(page.fetched_at),
                    page.title,
                    json.dumps(list(page.paragraphs), ensure_ascii=False),
                    page.image,
                ),
            )
