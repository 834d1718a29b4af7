"""The state database's one connection: open, WAL, migrations, and transactions.

Everything the newsletter remembers lives in one SQLite file in its state folder
(`.digest/state.sqlite3`); each table has its own module here (`cache`, `health`, `ledger`).
WAL mode lets a gather read while a send writes. The schema version is `PRAGMA user_version`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ..errors import SourceError

__all__ = ["BUSY_TIMEOUT", "SCHEMA_VERSION", "STATE_FILE", "Database", "stamp", "unstamp"]

STATE_FILE = "state.sqlite3"
SCHEMA_VERSION = 1
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


def stamp(when: datetime) -> str:
    """A time as stored: ISO 8601 in UTC. A time without a zone is a bug, not a guess."""
    if when.tzinfo is None:
        raise ValueError("state times must be timezone-aware")
    return when.astimezone(UTC).isoformat()


def unstamp(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Database:
    """An open state database: one connection in autocommit mode, with `tx()` for writes."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, state_dir: Path) -> Database:
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

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE), so two writers queue."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")


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
