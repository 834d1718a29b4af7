"""The sent ledger and item sightings: which items went out in which issue of which list, and
when each item was first seen (an undated item counts as published then) with its canonical
URL. Gathering only reads the ledger; the delivery stage writes it with `record_issue`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .db import Database, stamp

__all__ = ["SentKeys", "SentLedger", "Sightings"]


@dataclass(frozen=True)
class SentKeys:
    """What a list has had: the ids of its sent items and their canonical URLs where known."""

    ids: frozenset[str] = frozenset()
    urls: frozenset[str] = frozenset()


class SentLedger:
    """Tables `issues` and `sent_items`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record_issue(
        self, list_name: str, issue_id: str, item_ids: Iterable[str], sent_at: datetime
    ) -> None:
        """Note that an issue of a list went out with these items, at `sent_at` (when it was
        built). Safe to call twice: a later run of the same issue keeps the first time."""
        at = stamp(sent_at)
        with self.db.tx() as c:
            c.execute(
                "INSERT INTO issues (list, issue_id, sent_at) VALUES (?, ?, ?) "
                "ON CONFLICT (list, issue_id) DO UPDATE SET "
                "sent_at = min(sent_at, excluded.sent_at)",
                (list_name, issue_id, at),
            )
            c.executemany(
                "INSERT OR IGNORE INTO sent_items (list, item_id, issue_id, sent_at) "
                "VALUES (?, ?, ?, ?)",
                [(list_name, i, issue_id, at) for i in item_ids],
            )

    def last_sent(self, list_name: str) -> datetime | None:
        """When the list's latest issue went out, or None if it never has. Every issue's time
        is read (one a day), so a hand-edited one is named however it sorts."""
        rows = self.db.conn.execute("SELECT sent_at FROM issues WHERE list = ?", (list_name,))
        return max((self.db.read_time(r[0], "issues", "sent_at") for r in rows), default=None)

    def sent_keys(self, list_name: str) -> SentKeys:
        """The ids of every item sent to this list, and their canonical URLs where known."""
        conn = self.db.conn
        ids = frozenset(
            r[0]
            for r in conn.execute("SELECT item_id FROM sent_items WHERE list = ?", (list_name,))
        )
        urls = frozenset(
            r[0]
            for r in conn.execute(
                "SELECT i.canonical_url FROM sent_items s JOIN items i ON i.id = s.item_id "
                "WHERE s.list = ? AND i.canonical_url IS NOT NULL",
                (list_name,),
            )
        )
        return SentKeys(ids, urls)


class Sightings:
    """Table `items`: each item's first sighting and canonical URL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def note(self, items: Iterable[tuple[str, str | None]], now: datetime) -> dict[str, datetime]:
        """Record (id, canonical URL) pairs not seen before; return every id's first sighting."""
        pairs = list(items)
        at = stamp(now)
        with self.db.tx() as c:
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
            for i, first in self.db.conn.execute(
                f"SELECT id, first_seen FROM items WHERE id IN ({marks})", chunk
            ):
                seen[i] = self.db.read_time(first, "items", "first_seen")
        return seen

    def forget(self, before: datetime) -> int:
        """Forget sightings older than `before` of items never sent and no longer kept by
        polling (`polled`: every feed reading keeps what the feed shows, so an item still in its
        feed stays), so the table does not grow without bound; returns how many went."""
        with self.db.tx() as c:
            cur = c.execute(
                "DELETE FROM items WHERE first_seen < ? "
                "AND id NOT IN (SELECT item_id FROM sent_items) "
                "AND id NOT IN (SELECT id FROM polled)",
                (stamp(before),),
            )
        return cur.rowcount
