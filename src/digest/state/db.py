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

from ..errors import StateError
from .schema import MIGRATIONS as _MIGRATIONS
from .schema import SCHEMA_VERSION

__all__ = [
    "BUSY_TIMEOUT",
    "SCHEMA_VERSION",
    "STATE_FILE",
    "Database",
    "failure",
    "parse_stamp",
    "stamp",
]

STATE_FILE = "state.sqlite3"
BUSY_TIMEOUT = 30.0


def stamp(when: datetime) -> str:
    """A time as stored: ISO 8601 in UTC. A time without a zone is a bug, not a guess."""
    if when.tzinfo is None:
        raise ValueError("state times must be timezone-aware")
    return when.astimezone(UTC).isoformat()


def parse_stamp(value: object) -> datetime | None:
    """A stored time, or None if the value is not one `stamp` could have written (a hand edit,
    another program): not text, not ISO 8601, or without its zone."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


_KEEP = "The file is not damaged: keep it (moving it away would forget which issues were sent)."
_MOVE_AWAY = (
    "Move the file away; digest makes a new one (feeds are then fetched in full "
    "and the sent ledger starts empty)."
)


def failure(exc: sqlite3.Error, path: Path, damaged: str) -> StateError:
    """What an SQLite error means for the user. A full disk, missing permission, a failing disk
    or another process's lock leave the file as it was, so the advice is to fix that; only a
    damaged file (SQLITE_CORRUPT, SQLITE_NOTADB) is worth moving away. `damaged` says what a
    damaged file is called here."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None  # extended codes carry it low
    folder = path.parent
    if primary == sqlite3.SQLITE_FULL:
        problem = "the disk is full, so the state database cannot be written"
        hint = f"Free some space on the disk that holds {folder}, then run digest again."
    elif primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN):
        problem = (
            "the state database cannot be written: the file, its folder or the disk is "
            "read-only, or not the running user's to change"
        )
        hint = (
            f"Make {folder} and the files in it writable for the user who runs digest, or set "
            "`state` in digest.toml to a folder it may write."
        )
    elif primary == sqlite3.SQLITE_IOERR:
        problem = "the disk failed while reading or writing the state database"
        hint = "Check the disk (the system log; a network or USB disk that went away), then retry."
    elif primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        problem = "another process keeps the state database locked"
        hint = "Wait for the other digest run (or sqlite3 session) to end, then run digest again."
    elif primary in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return StateError(f"{path}: {damaged} ({exc})", _MOVE_AWAY)
    else:
        return StateError(
            f"{path}: the state database failed ({exc})",
            "If it was changed by hand or by another program, undo that or restore a backup; "
            f"`sqlite3 {path} 'PRAGMA integrity_check'` checks it.",
        )
    return StateError(f"{path}: {problem} ({exc})", f"{hint} {_KEEP}")


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
        except OSError as exc:
            raise StateError(
                f"{path}: cannot open the state database ({exc})",
                "Check that the `state` folder in digest.toml is writable.",
            ) from None
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except sqlite3.Error as exc:
            raise failure(exc, path, "not a usable state database") from None
        try:
            _use_wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            _migrate(conn, path)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise failure(exc, path, "not a usable state database") from None
        return cls(conn, path)

    def read_time(self, value: object, table: str, column: str) -> datetime:
        """A stored time. One that is not (a hand edit) stops the run with its file, table and
        value: guessing could make the sent ledger forget what went out."""
        when = parse_stamp(value)
        if when is None:
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise StateError(
                f"{self.path}: table {table}, column {column} holds {shown}, which is not a "
                "time with its zone (as 2026-11-24T07:00:00+00:00)",
                f"Correct or delete that row with the sqlite3 tool (sqlite3 {self.path}), or "
                "move the file away: digest then makes a new one, but forgets what was sent.",
            )
        return when

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE), so two writers queue."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            _rollback(self.conn)
            raise
        self.conn.execute("COMMIT")


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is still open: after SQLITE_FULL or an I/O error SQLite has
    already rolled it back, and a second ROLLBACK would hide that error behind its own."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


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
    processes opening a new database at once do not both create it. A current one (the
    common case: every request of `digest serve` opens the database) takes no lock at all."""
    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StateError(
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
            _rollback(conn)
            raise
        conn.execute("COMMIT")
