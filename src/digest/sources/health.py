"""How a source is doing: the health record of one reading, and the teaser test it counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..config import LEAD_PARAGRAPHS, LEAD_WORDS, SourceConfig
from ..models import Entry, SourceHealth
from ..state.health import HealthLog
from ..text import word_count

__all__ = ["entries_health", "failed_health", "looks_like_teaser"]


def looks_like_teaser(
    paragraphs: Sequence[str], max_paragraphs: int = LEAD_PARAGRAPHS, words: int = LEAD_WORDS
) -> bool:
    """For source health only, and cheap: fewer real paragraphs (8+ words) and words than a
    default lead needs. The summariser decides with the list's own lead settings."""
    prose = [p for p in paragraphs if word_count(p) >= 8]
    return len(prose) < max_paragraphs and word_count(prose) < words


def last_success(log: HealthLog, source: SourceConfig, ok: bool, now: datetime) -> datetime | None:
    """Now, or for a failure the last success on record (the state keeps it the same way)."""
    if ok:
        return now
    previous = log.get(source.location)
    return previous.last_success if previous else None


def failed_health(log: HealthLog, source: SourceConfig, reason: str, now: datetime) -> SourceHealth:
    """A source that gave nothing this time; recorded."""
    health = SourceHealth(
        name=source.name,
        kind=source.kind,
        location=source.location,
        checked_at=now,
        status="error",
        last_success=last_success(log, source, False, now),
        items=0,
        missing_dates=0,
        teasers=0,
        problem=reason,
    )
    log.record(health)
    return health


def entries_health(
    log: HealthLog,
    source: SourceConfig,
    entries: Sequence[Entry],
    problems: Sequence[str],
    status: str,
    feed_url: str | None,
    ok: bool,
    now: datetime,
) -> SourceHealth:
    """A feed's entries this time (fresh, cached or from its last good answer); recorded."""
    health = SourceHealth(
        name=source.name,
        kind="feed",
        location=source.location,
        checked_at=now,
        status=status,
        last_success=last_success(log, source, ok, now),
        items=len(entries),
        missing_dates=sum(1 for e in entries if e.published is None),
        teasers=sum(1 for e in entries if looks_like_teaser(e.paragraphs)),
        feed_url=feed_url,
        problem="; ".join(problems) or None,
    )
    log.record(health)
    return health
