"""Source health, for `digest sources check`: how each source did the last time it was read,
and when it last succeeded (a failure keeps the time of the last success). It is also what a
run compares a new reading with, so a source's problems are warnings only when they changed
(the rule is in `sources.health`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ..models import SourceHealth
from .db import Database, parse_stamp, stamp
from .places import Places

__all__ = ["HealthLog"]

log = logging.getLogger(__name__)

_COLUMNS = (
    "name, kind, location, checked_at, status, last_success, items, missing_dates, teasers, "
    "feed_url, problem"
)


class HealthLog:
    """Table `source_health`, by the source's location."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.places = Places(db)
        """Where each remote source is and when it may be asked next (`state.places`)."""
        self._named: set[str] = set()
        """Locations whose bad row was already named: one warning per row and run."""

    def record(self, h: SourceHealth) -> None:
        """Store how a source did; a failure keeps the time of the last success (if the stored
        one is a time: a hand-edited one is written over, so the row heals)."""
        with self.db.tx() as c:
            last = h.last_success
            if last is None:
                row = c.execute(
                    "SELECT last_success FROM source_health WHERE location = ?", (h.location,)
                ).fetchone()
                last = parse_stamp(row[0]) if row else None
            c.execute(
                f"INSERT INTO source_health ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (location) DO UPDATE SET name = excluded.name, "
                "kind = excluded.kind, checked_at = excluded.checked_at, "
                "status = excluded.status, "
                "last_success = excluded.last_success, "
                "items = excluded.items, missing_dates = excluded.missing_dates, "
                "teasers = excluded.teasers, feed_url = excluded.feed_url, "
                "problem = excluded.problem",
                (
                    h.name,
                    h.kind,
                    h.location,
                    stamp(h.checked_at),
                    h.status,
                    stamp(last) if last else None,
                    h.items,
                    h.missing_dates,
                    h.teasers,
                    h.feed_url,
                    h.problem,
                ),
            )

    def get(self, location: str) -> SourceHealth | None:
        """One source's last recorded health."""
        return self.all(location).get(location)

    def all(self, location: str | None = None) -> dict[str, SourceHealth]:
        """Every source's last recorded health (or just one's), by location."""
        sql = f"SELECT {_COLUMNS} FROM source_health"
        rows = (
            self.db.conn.execute(sql + " WHERE location = ?", (location,))
            if location is not None
            else self.db.conn.execute(sql)
        )
        out = {}
        for row in rows:
            health = self._health(row)
            if health is not None:
                out[row[2]] = health
        return out

    def _health(self, row: Sequence[Any]) -> SourceHealth | None:
        """A row, or None (with a warning naming it) when a time in it is not one: a hand edit.
        The source's next reading writes the row anew, so only its last success is lost."""
        checked_at = parse_stamp(row[3])
        last_success = parse_stamp(row[5])
        if checked_at is None or (row[5] is not None and last_success is None):
            if row[2] in self._named:
                return None
            self._named.add(row[2])
            column, value = (
                ("checked_at", row[3]) if checked_at is None else ("last_success", row[5])
            )
            log.warning(
                "%s: table source_health, column %s holds %r, which is not a time; the row of "
                "%s is ignored and written anew",
                self.db.path,
                column,
                value,
                row[2],
            )
            return None
        return SourceHealth(
            name=row[0],
            kind=row[1],
            location=row[2],
            checked_at=checked_at,
            status=row[4],
            last_success=last_success,
            items=row[6],
            missing_dates=row[7],
            teasers=row[8],
            feed_url=row[9],
            problem=row[10],
        )
