"""Status changes that come from outside the list's CSV file (an unsubscribe click in `digest
serve`; a provider's bounce report), recorded here first and written into the file in batches.

A click must hold the moment it is answered, but a change rewrites the whole CSV file (seconds
for a million rows), so a burst of clicks after a send would cost a rewrite each. Instead each
change is a row here, committed with a full sync before the answer goes out, and every send
and `digest subscribers` command sees it at once (`held`, `pending`); `apply` later writes all
of a list's pending changes into the file in one rewrite and marks them applied. Applied rows
are kept for `KEEP_DAYS`, so an unsubscribe can be undone for a while (`last`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .db import Database, stamp

__all__ = ["HARD_STOP", "KEEP_DAYS", "Change", "StatusChanges", "insert_change"]

KEEP_DAYS = 30
STOP = ("unsubscribed", "bounced", "complained")
HARD_STOP = ("bounced", "complained")
"""What a provider reports: no later click or undo takes it back (a dead address stays dead)."""


@dataclass(frozen=True)
class Change:
    """One reader's new status for one list, as recorded."""

    id: int
    list_name: str
    reader: str
    """The reader's key: the address in its casefolded form."""
    email: str
    status: str
    at: datetime
    origin: str
    """Where it came from: `web` (a click), `one-click` (RFC 8058 POST), `undo`, …"""
    applied_at: datetime | None = None
    outcome: str | None = None
    """What `apply` did: `changed`, `unchanged`, `not on the list`, or a refusal."""


class StatusChanges:
    """Table `status_changes`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self, list_name: str, reader: str, email: str, status: str, at: datetime, origin: str
    ) -> int:
        """Record a change durably. Returns its id."""
        change_id = self._record(list_name, reader, email, status, at, origin, once=False)
        assert change_id is not None
        return change_id

    def record_stop(
        self, list_name: str, reader: str, email: str, status: str, at: datetime, origin: str
    ) -> int | None:
        """Record a change unless the reader's last change is the same and still pending (a
        second click, a replayed POST: one row, not one per click). None if it was."""
        return self._record(list_name, reader, email, status, at, origin, once=True)

    def _record(
        self,
        list_name: str,
        reader: str,
        email: str,
        status: str,
        at: datetime,
        origin: str,
        *,
        once: bool,
    ) -> int | None:
        """One write transaction (taken at once, so two clicks queue), committed with a full
        sync of the write-ahead log, not only the OS's buffers: the reader is told it is done."""
        conn = self.db.conn
        conn.execute("PRAGMA synchronous=FULL")
        try:
            with self.db.tx() as c:
                if once:
                    last = c.execute(
                        "SELECT status, applied_at FROM status_changes WHERE list = ? AND "
                        "reader = ? ORDER BY id DESC LIMIT 1",
                        (list_name, reader),
                    ).fetchone()
                    if last is not None and last[0] == status and last[1] is None:
                        return None
                change_id = insert_change(c, list_name, reader, email, status, at, origin)
        finally:
            conn.execute("PRAGMA synchronous=NORMAL")
        return change_id

    def pending(self, list_name: str) -> list[Change]:
        """The list's changes not yet in its file, oldest first."""
        rows = self.db.conn.execute(
            "SELECT id, list, reader, email, status, at, origin, applied_at, outcome "
            "FROM status_changes WHERE list = ? AND applied_at IS NULL ORDER BY id",
            (list_name,),
        )
        return [self._change(r) for r in rows]

    def latest_pending(self, list_name: str) -> dict[str, Change]:
        """Each reader's last pending change: the status the file will have once applied."""
        return {c.reader: c for c in self.pending(list_name)}

    def held(self, list_name: str, applied_since: datetime) -> frozenset[str]:
        """The readers (keys) whose latest change stops their mail and is pending, or was
        written into the file after `applied_since` (when a send opened its copy of the file,
        which still lists them as subscribed). A send leaves them out of every batch it has
        not sent yet. One small query; the table is short."""
        rows = self.db.conn.execute(
            "SELECT reader, status FROM status_changes WHERE list = ? AND "
            "(applied_at IS NULL OR applied_at >= ?) ORDER BY id",
            (list_name, stamp(applied_since)),
        )
        last: dict[str, str] = {}
        hard: set[str] = set()
        for reader, status in rows:
            last[reader] = status
            if status in HARD_STOP:
                hard.add(reader)  # a click's undo after a bounce does not bring the reader back
        return frozenset(r for r, s in last.items() if s in STOP) | hard

    def last(self, list_name: str, reader: str) -> Change | None:
        """The reader's latest change (applied or not), or None."""
        row = self.db.conn.execute(
            "SELECT id, list, reader, email, status, at, origin, applied_at, outcome "
            "FROM status_changes WHERE list = ? AND reader = ? ORDER BY id DESC LIMIT 1",
            (list_name, reader),
        ).fetchone()
        return self._change(row) if row else None

    def mark_applied(self, outcomes: Iterable[tuple[int, str]], now: datetime) -> None:
        """Note what `apply` did with each change (id, outcome)."""
        with self.db.tx() as c:
            c.executemany(
                "UPDATE status_changes SET applied_at = ?, outcome = ? WHERE id = ?",
                [(stamp(now), outcome, change_id) for change_id, outcome in outcomes],
            )

    def prune(self, now: datetime, keep_days: int = KEEP_DAYS) -> int:
        """Forget applied changes older than `keep_days`: the file has them."""
        with self.db.tx() as c:
            cur = c.execute(
                "DELETE FROM status_changes WHERE applied_at IS NOT NULL AND applied_at < ?",
                (stamp(now - timedelta(days=keep_days)),),
            )
            return cur.rowcount

    def _change(self, row: tuple[object, ...]) -> Change:
        where = "status_changes"
        return Change(
            id=row[0],  # type: ignore[arg-type]
            list_name=row[1],  # type: ignore[arg-type]
            reader=row[2],  # type: ignore[arg-type]
            email=row[3],  # type: ignore[arg-type]
            status=row[4],  # type: ignore[arg-type]
            at=self.db.read_time(row[5], where, "at"),
            origin=row[6],  # type: ignore[arg-type]
            applied_at=self.db.read_time(row[7], where, "applied_at") if row[7] else None,
            outcome=row[8],  # type: ignore[arg-type]
        )


def insert_change(
    conn: sqlite3.Connection,
    list_name: str,
    reader: str,
    email: str,
    status: str,
    at: datetime,
    origin: str,
) -> int:
    """One row of `status_changes`, inside the caller's transaction (a click's own, or a
    provider's batch of events with their ids)."""
    cur = conn.execute(
        "INSERT INTO status_changes (list, reader, email, status, at, origin) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (list_name, reader, email, status, stamp(at), origin),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid
