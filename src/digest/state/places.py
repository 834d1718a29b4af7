"""Where a remote source really is and when it may be asked next (schema v8), by its configured
URL: a permanent redirect's new address, a 410's mark, the feed an HTML page links to, and the
failures in a row that put a source on a back-off. What the rules are is `sources.visit`'s; this
only keeps them, so the next run starts from what the last one learnt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .db import Database, parse_stamp, stamp

__all__ = ["Place", "Places"]

_COLUMNS = "location, moved_to, moved_at, gone_at, feed_url, failures, failing_since, next_try"


@dataclass(frozen=True)
class Place:
    """What digest learnt about one configured source URL."""

    location: str
    moved_to: str | None = None
    """Where a 301 or 308 sent it; fetched instead of `location` from then on."""
    moved_at: datetime | None = None
    gone_at: datetime | None = None
    """When it answered 410 Gone; not asked again by a gathering run."""
    feed_url: str | None = None
    """The feed the page at `location` links to; asked directly until it fails."""
    failures: int = 0
    """Failed readings in a row."""
    failing_since: datetime | None = None
    next_try: datetime | None = None
    """Before this, a gathering run does not ask the source (it uses its cached entries)."""


class Places:
    """Table `source_places`, by the source's configured location."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, location: str) -> Place:
        """The place on record, or a blank one."""
        row = self.db.conn.execute(
            f"SELECT {_COLUMNS} FROM source_places WHERE location = ?", (location,)
        ).fetchone()
        return _place(row) if row else Place(location)

    def all(self) -> dict[str, Place]:
        rows = self.db.conn.execute(f"SELECT {_COLUMNS} FROM source_places")
        return {row[0]: _place(row) for row in rows}

    def put(self, place: Place) -> None:
        with self.db.tx() as c:
            c.execute(
                f"INSERT OR REPLACE INTO source_places ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    place.location,
                    place.moved_to,
                    _stamp(place.moved_at),
                    _stamp(place.gone_at),
                    place.feed_url,
                    place.failures,
                    _stamp(place.failing_since),
                    _stamp(place.next_try),
                ),
            )

    def forget(self, location: str) -> None:
        """Drop what was learnt of a source (its URL was changed or removed in digest.toml)."""
        with self.db.tx() as c:
            c.execute("DELETE FROM source_places WHERE location = ?", (location,))


def _stamp(when: datetime | None) -> str | None:
    return stamp(when) if when else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _place(row: Sequence[Any]) -> Place:
    """A row; a value a hand edit spoilt counts as not known (the next reading writes it anew)."""
    failures = row[5] if isinstance(row[5], int) and row[5] >= 0 else 0
    return Place(
        location=row[0],
        moved_to=_text(row[1]),
        moved_at=parse_stamp(row[2]),
        gone_at=parse_stamp(row[3]),
        feed_url=_text(row[4]),
        failures=failures,
        failing_since=parse_stamp(row[6]),
        next_try=parse_stamp(row[7]),
    )
