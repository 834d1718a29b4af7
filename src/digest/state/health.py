"""Source health, for `digest sources check`: how each source did the last time it was read,
and when it last succeeded (a failure keeps the time of the last success)."""

from __future__ import annotations

from datetime import datetime

from ..models import SourceHealth
from .db import Database, stamp, unstamp

__all__ = ["HealthLog"]

_COLUMNS = (
    "name, kind, location, checked_at, status, last_success, items, missing_dates, teasers, "
    "feed_url, problem"
)


class HealthLog:
    """Table `source_health`, by the source's location."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, h: SourceHealth) -> None:
        """Store how a source did; a failure keeps the time of the last success."""
        with self.db.tx() as c:
            c.execute(
                f"INSERT INTO source_health ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (location) DO UPDATE SET name = excluded.name, "
                "kind = excluded.kind, checked_at = excluded.checked_at, "
                "status = excluded.status, "
                "last_success = coalesce(excluded.last_success, source_health.last_success), "
                "items = excluded.items, missing_dates = excluded.missing_dates, "
                "teasers = excluded.teasers, feed_url = excluded.feed_url, "
                "problem = excluded.problem",
                (
                    h.name,
                    h.kind,
                    h.location,
                    stamp(h.checked_at),
                    h.status,
                    stamp(h.last_success) if h.last_success else None,
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
            out[row[2]] = SourceHealth(
                name=row[0],
                kind=row[1],
                location=row[2],
                checked_at=datetime.fromisoformat(row[3]),
                status=row[4],
                last_success=unstamp(row[5]),
                items=row[6],
                missing_dates=row[7],
                teasers=row[8],
                feed_url=row[9],
                problem=row[10],
            )
        return out
