"""Entries seen between issues (issue 17). A busy feed keeps its last 20 to 50 items, so a story
published at 09:00 can be gone by the next morning's send: every reading of a feed (a poll, an
issue, `digest sources check`) keeps what the feed showed here, and an issue takes every entry
seen since the list's last one, not only what the feed shows at send time.

Entries are stored as the feed cache stores them (`Entry.to_json`), by the source's configured
address and the entry's id (the one identity rule). A row no reading saw for `keep_days`, and
that no issue in that time used, is pruned, so the file stays bounded after months of polls.
`PollTimes` says when each source was last read and how often its feed asks to be read."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from ..models import Entry
from .db import Database, parse_stamp, stamp
from .ledger import Sightings

__all__ = ["KEEP_DAYS", "PollTimes", "PolledEntries"]

KEEP_DAYS = 90
SEEN_BY = ("poll", "issue")
"""Who saw an entry: only polls (and `sources check`), or an issue's own reading too."""


class PolledEntries:
    """Table `polled`: each feed entry seen, by source address and entry id."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        location: str,
        entries: Sequence[Entry],
        now: datetime,
        *,
        seen_by: str,
        unchanged: bool = False,
    ) -> int:
        """Keep the entries a reading of `location` gave at `now`; returns how many were new.
        The newest copy of an entry replaces the stored one; an issue's reading marks it seen
        by an issue (polling was not what caught it). An `unchanged` reading (a 304: the
        entries are those of the last answer) only moves `last_seen`, without rewriting each
        entry's JSON."""
        if seen_by not in SEEN_BY:
            raise ValueError(f"seen_by is one of {SEEN_BY}, not {seen_by!r}")
        at = stamp(now)
        with self.db.tx() as c:
            new = 0
            for e in entries:
                cur = c.execute(
                    "INSERT INTO polled (location, id, first_seen, last_seen, seen_by, entry) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (location, id) DO NOTHING",
                    (location, e.id, at, at, seen_by, _json(e)),
                )
                if cur.rowcount:
                    new += 1
                    continue
                if unchanged:
                    c.execute(
                        "UPDATE polled SET last_seen = max(last_seen, ?), "
                        "seen_by = CASE WHEN ? = 'issue' THEN 'issue' ELSE seen_by END "
                        "WHERE location = ? AND id = ?",
                        (at, seen_by, location, e.id),
                    )
                    continue
                c.execute(
                    "UPDATE polled SET last_seen = max(last_seen, ?), entry = ?, "
                    "seen_by = CASE WHEN ? = 'issue' THEN 'issue' ELSE seen_by END "
                    "WHERE location = ? AND id = ?",
                    (at, _json(e), seen_by, location, e.id),
                )
        return new

    def since(self, location: str, start: datetime) -> tuple[Entry, ...]:
        """The entries of `location` last seen at or after `start`, newest sighting first. A
        row this version cannot read (a hand edit, another version) is skipped."""
        rows = self.db.conn.execute(
            "SELECT entry FROM polled WHERE location = ? AND last_seen >= ? "
            "ORDER BY last_seen DESC",
            (location, stamp(start)),
        )
        return tuple(e for (raw,) in rows if (e := _entry(raw)) is not None)

    def ids(self, location: str) -> frozenset[str]:
        """The ids of every entry kept for `location`."""
        rows = self.db.conn.execute("SELECT id FROM polled WHERE location = ?", (location,))
        return frozenset(r[0] for r in rows)

    def caught(self, location: str, now: datetime, keep_days: int = KEEP_DAYS) -> int:
        """How many entries of `location` only polling caught within `keep_days`: seen by a
        poll, never by an issue's own reading, and gone from the feed by `now`'s reading."""
        cutoff = stamp(now - timedelta(days=keep_days))
        row = self.db.conn.execute(
            "SELECT count(*) FROM polled WHERE location = ? AND seen_by = 'poll' "
            "AND last_seen < ? AND last_seen >= ?",
            (location, stamp(now), cutoff),
        ).fetchone()
        return int(row[0])

    def move(self, old: str, new: str) -> None:
        """A source now configured at `new` (`digest sources update-moved`): its polled entries
        and poll times go with it, so items that left the feed since the last issue stay."""
        with self.db.tx() as c:
            for table in ("polled", "poll_times"):
                c.execute(
                    f"UPDATE OR IGNORE {table} SET location = ? WHERE location = ?", (new, old)
                )
                c.execute(f"DELETE FROM {table} WHERE location = ?", (old,))

    def prune(self, now: datetime, keep_days: int = KEEP_DAYS) -> int:
        """Forget entries no reading saw for `keep_days`, unless an issue sent within them used
        the entry (the id is in `sent_items`), then the sightings of items gone with them
        (`Sightings.forget`); returns how many entries went."""
        cutoff = stamp(now - timedelta(days=keep_days))
        with self.db.tx() as c:
            cur = c.execute(
                "DELETE FROM polled WHERE last_seen < ? AND id NOT IN "
                "(SELECT item_id FROM sent_items WHERE sent_at >= ?)",
                (cutoff, cutoff),
            )
            c.execute(
                "DELETE FROM poll_times WHERE read_at < ? AND location NOT IN "
                "(SELECT DISTINCT location FROM polled)",
                (cutoff,),
            )
            pruned = cur.rowcount
        Sightings(self.db).forget(now - timedelta(days=keep_days))
        return pruned


class PollTimes:
    """Table `poll_times`: when each source was last read, and its feed's hint."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def mark(
        self, location: str, now: datetime, hint: timedelta | None, *, unchanged: bool = False
    ) -> None:
        """A reading of `location` at `now`; `hint` is how often the feed asks to be read
        (None: it said nothing this time, and the last hint stands). An `unchanged` answer
        (304) has no body, so its `max-age` only lengthens the hint the feed itself gave."""
        seconds = None if hint is None else int(hint.total_seconds())
        with self.db.tx() as c:
            c.execute(
                "INSERT INTO poll_times (location, read_at, hint_seconds) VALUES (?, ?, ?) "
                "ON CONFLICT (location) DO UPDATE SET read_at = excluded.read_at, "
                "hint_seconds = CASE WHEN ? AND poll_times.hint_seconds IS NOT NULL AND "
                "(excluded.hint_seconds IS NULL OR excluded.hint_seconds < "
                "poll_times.hint_seconds) THEN poll_times.hint_seconds "
                "ELSE coalesce(excluded.hint_seconds, poll_times.hint_seconds) END",
                (location, stamp(now), seconds, unchanged),
            )

    def next_at(self, location: str, every: timedelta) -> datetime | None:
        """When `location` is due again: its last reading plus the longer of `every` and its
        feed's hint; None when it was never read (due now)."""
        row = self.db.conn.execute(
            "SELECT read_at, hint_seconds FROM poll_times WHERE location = ?", (location,)
        ).fetchone()
        if row is None:
            return None
        last = parse_stamp(row[0])
        if last is None:  # a hand edit: read it again, which loses nothing
            return None
        hint = timedelta(seconds=row[1]) if isinstance(row[1], int) and row[1] > 0 else every
        return last + max(every, hint)

    def all(self) -> Iterable[tuple[str, datetime | None]]:
        for location, read_at in self.db.conn.execute("SELECT location, read_at FROM poll_times"):
            yield location, parse_stamp(read_at)


def _json(e: Entry) -> str:
    return json.dumps(e.to_json(), ensure_ascii=False)


def _entry(raw: object) -> Entry | None:
    """A stored entry, or None if it is not what `record` writes."""
    try:
        d = json.loads(raw)  # type: ignore[arg-type]
        e = Entry.from_json(d) if isinstance(d, dict) else None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if e is None or (e.published and e.published.tzinfo is None):
        return None  # a time without its zone would fail later, when compared
    return e
