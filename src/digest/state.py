"""The newsletter's memory, in one SQLite file in its state folder (`.digest/state.sqlite3`).

It keeps:

- the HTTP cache of each feed: ETag, Last-Modified *and the entries parsed from the last full
  answer*, so that a 304 gives back the same entries (items not yet sent are never lost);
- when each item was first seen (undated items count as published then) and its canonical URL;
- the health of each source, for `digest sources check`;
- the full text fetched for teaser items, so a page is fetched once;
- the sent ledger: which items went out in which issue of which list. Gathering only reads it;
  the delivery stage writes it with `record_issue` after a send.

WAL mode lets a gather read while a send writes. The schema version is `PRAGMA user_version`.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from .errors import SourceError
from .feeds import Entry

__all__ = ["STATE_FILE", "CachedFeed", "CachedPage", "SourceHealth", "State"]

STATE_FILE = "state.sqlite3"
SCHEMA_VERSION = 1
PAGE_CACHE_DAYS = 30
BUSY_TIMEOUT = 30.0

_SCHEMA_V1 = """
CREATE TABLE http_cache (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    fetched_at TEXT NOT NULL,
    title TEXT,
    format TEXT,
    problems TEXT NOT NULL DEFAULT '[]',
    entries TEXT NOT NULL
);
CREATE TABLE items (
    id TEXT PRIMARY KEY,
    canonical_url TEXT,
    first_seen TEXT NOT NULL
);
CREATE INDEX items_by_url ON items (canonical_url);
CREATE TABLE source_health (
    location TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    status TEXT NOT NULL,
    last_success TEXT,
    items INTEGER NOT NULL DEFAULT 0,
    missing_dates INTEGER NOT NULL DEFAULT 0,
    teasers INTEGER NOT NULL DEFAULT 0,
    feed_url TEXT,
    problem TEXT
);
CREATE TABLE pages (
    url TEXT PRIMARY KEY,
    fetched_at TEXT NOT NULL,
    title TEXT,
    paragraphs TEXT NOT NULL,
    image TEXT
);
CREATE TABLE issues (
    list TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (list, issue_id)
);
CREATE TABLE sent_items (
    list TEXT NOT NULL,
    item_id TEXT NOT NULL,
    issue_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (list, item_id)
);
"""
_MIGRATIONS = {1: _SCHEMA_V1}


def _ts(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("state times must be timezone-aware")
    return dt.astimezone(UTC).isoformat()


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


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


@dataclass(frozen=True)
class SourceHealth:
    """How a source did the last time it was read."""

    name: str
    kind: str
    location: str
    checked_at: datetime
    status: str
    """`200`, `304`, `file`, `folder`, or `error`."""
    last_success: datetime | None
    items: int
    missing_dates: int
    teasers: int
    feed_url: str | None = None
    """Where the feed really is, when the source named a page that links to it."""
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["checked_at"] = self.checked_at.isoformat()
        d["last_success"] = self.last_success.isoformat() if self.last_success else None
        return d


class State:
    """An open state database. Open with `State.open(state_dir)`; use as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, state_dir: Path) -> State:
        """Open (creating or upgrading) the state database in `state_dir`."""
        path = Path(state_dir) / STATE_FILE
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise SourceError(
                f"{path}: cannot open the state database ({exc})",
                "Check that the `state` folder in digest.toml is writable.",
            ) from None
        try:
            _use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            _migrate(conn, path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise SourceError(
                f"{path}: not a usable state database ({exc})",
                "Move the file away; digest makes a new one (feeds are then fetched in full "
                "and the sent ledger starts empty).",
            ) from None
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> State:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # The sent ledger: written by delivery, read by gathering.

    def record_issue(
        self, list_name: str, issue_id: str, item_ids: Iterable[str], sent_at: datetime
    ) -> None:
        """Note that an issue of a list went out with these items. Safe to call twice."""
        at = _ts(sent_at)
        with self._tx() as c:
            c.execute(
                "INSERT INTO issues (list, issue_id, sent_at) VALUES (?, ?, ?) "
                "ON CONFLICT (list, issue_id) DO UPDATE SET "
                "sent_at = max(sent_at, excluded.sent_at)",
                (list_name, issue_id, at),
            )
            c.executemany(
                "INSERT OR IGNORE INTO sent_items (list, item_id, issue_id, sent_at) "
                "VALUES (?, ?, ?, ?)",
                [(list_name, i, issue_id, at) for i in item_ids],
            )

    def last_sent(self, list_name: str) -> datetime | None:
        """When the list's latest issue went out, or None if it never has."""
        row = self.conn.execute(
            "SELECT max(sent_at) FROM issues WHERE list = ?", (list_name,)
        ).fetchone()
        return _dt(row[0])

    def sent_keys(self, list_name: str) -> tuple[frozenset[str], frozenset[str]]:
        """The ids of every item sent to this list, and their canonical URLs where known."""
        ids = frozenset(
            r[0]
            for r in self.conn.execute(
                "SELECT item_id FROM sent_items WHERE list = ?", (list_name,)
            )
        )
        urls = frozenset(
            r[0]
            for r in self.conn.execute(
                "SELECT i.canonical_url FROM sent_items s JOIN items i ON i.id = s.item_id "
                "WHERE s.list = ? AND i.canonical_url IS NOT NULL",
                (list_name,),
            )
        )
        return ids, urls

    # Items: first sighting and canonical URL.

    def note_items(
        self, items: Iterable[tuple[str, str | None]], now: datetime
    ) -> dict[str, datetime]:
        """Record (id, canonical URL) pairs not seen before; return every id's first sighting."""
        pairs = list(items)
        at = _ts(now)
        with self._tx() as c:
            c.executemany(
                "INSERT INTO items (id, canonical_url, first_seen) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET "
                "canonical_url = coalesce(items.canonical_url, excluded.canonical_url)",
                [(i, u, at) for i, u in pairs],
            )
        seen: dict[str, datetime] = {}
        ids = [i for i, _ in pairs]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for i, first in self.conn.execute(
                f"SELECT id, first_seen FROM items WHERE id IN ({marks})", chunk
            ):
                seen[i] = datetime.fromisoformat(first)
        return seen

    # The HTTP cache of feeds.

    def cached_feed(self, url: str) -> CachedFeed | None:
        row = self.conn.execute(
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

    def store_feed(self, feed: CachedFeed) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO http_cache (url, etag, last_modified, body_hash, "
                "fetched_at, title, format, problems, entries) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    feed.url,
                    feed.etag,
                    feed.last_modified,
                    feed.body_hash,
                    _ts(feed.fetched_at),
                    feed.title,
                    feed.format,
                    json.dumps(list(feed.problems)),
                    json.dumps([e.to_json() for e in feed.entries], ensure_ascii=False),
                ),
            )

    # Article pages fetched for full text.

    def cached_page(self, url: str) -> CachedPage | None:
        row = self.conn.execute(
            "SELECT url, fetched_at, title, paragraphs, image FROM pages WHERE url = ?", (url,)
        ).fetchone()
        if row is None:
            return None
        return CachedPage(
            row[0], datetime.fromisoformat(row[1]), row[2], tuple(json.loads(row[3])), row[4]
        )

    def store_page(self, page: CachedPage) -> None:
        cutoff = _ts(page.fetched_at - timedelta(days=PAGE_CACHE_DAYS))
        with self._tx() as c:
            c.execute("DELETE FROM pages WHERE fetched_at < ?", (cutoff,))
            c.execute(
                "INSERT OR REPLACE INTO pages (url, fetched_at, title, paragraphs, image) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    page.url,
                    _ts(page.fetched_at),
                    page.title,
                    json.dumps(list(page.paragraphs), ensure_ascii=False),
                    page.image,
                ),
            )

    # Source health.

    def record_health(self, h: SourceHealth) -> None:
        """Store how a source did; a failure keeps the time of the last success."""
        with self._tx() as c:
            c.execute(
                "INSERT INTO source_health (location, name, kind, checked_at, status, "
                "last_success, items, missing_dates, teasers, feed_url, problem) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (location) DO UPDATE SET name = excluded.name, "
                "kind = excluded.kind, checked_at = excluded.checked_at, "
                "status = excluded.status, "
                "last_success = coalesce(excluded.last_success, source_health.last_success), "
                "items = excluded.items, missing_dates = excluded.missing_dates, "
                "teasers = excluded.teasers, feed_url = excluded.feed_url, "
                "problem = excluded.problem",
                (
                    h.location,
                    h.name,
                    h.kind,
                    _ts(h.checked_at),
                    h.status,
                    _ts(h.last_success) if h.last_success else None,
                    h.items,
                    h.missing_dates,
                    h.teasers,
                    h.feed_url,
                    h.problem,
                ),
            )

    def source_health(self, location: str) -> SourceHealth | None:
        """One source's last recorded health."""
        return self.health(location).get(location)

    def health(self, location: str | None = None) -> dict[str, SourceHealth]:
        """Every source's last recorded health (or just one's), by location."""
        out = {}
        sql = (
            "SELECT name, kind, location, checked_at, status, last_success, items, "
            "missing_dates, teasers, feed_url, problem FROM source_health"
        )
        rows = (
            self.conn.execute(sql + " WHERE location = ?", (location,))
            if location is not None
            else self.conn.execute(sql)
        )
        for row in rows:
            out[row[2]] = SourceHealth(
                name=row[0],
                kind=row[1],
                location=row[2],
                checked_at=datetime.fromisoformat(row[3]),
                status=row[4],
                last_success=_dt(row[5]),
                items=row[6],
                missing_dates=row[7],
                teasers=row[8],
                feed_url=row[9],
                problem=row[10],
            )
        return out


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch a new database to WAL. Two processes doing this at once can meet a lock that
    SQLite reports at once instead of waiting (a deadlock guard), so retry until the timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to date. The version is read again under the write lock, so two
    processes opening a new database at once do not both create it."""
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise SourceError(
                    f"{path}: the state database is from a newer digest (schema {version}, "
                    f"this one knows {SCHEMA_VERSION})",
                    "Upgrade digest, or point `state` in digest.toml at another folder.",
                )
            if version == SCHEMA_VERSION:
                conn.execute("COMMIT")
                return
            for statement in _MIGRATIONS[version + 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
