"""Choose the items of a list's next issue from what its sources gave: recent, new, one copy
each, newest first. Pure: the sources stage read the feeds, the state said what was sent and
when each item was first seen, and the summariser leads and caps what this returns.

The rules, in the order they apply:

1. **The window.** A feed item is recent when it was published at or after the window start:
   `since` when given, else the list's last sent issue or the look-back (`lookback_hours`,
   default 24) before now, whichever is earlier. An item without a date counts as published
   when digest first saw it. Items already sent are excluded by the no-repeat rule, so a
   window that overlaps the last issue repeats nothing; it only catches items published just
   before that issue went out but fetched after. Likewise an item first seen after the last
   issue went out (its feed was down then, or served an old copy) is taken when it was
   published within the look-back before that issue: it was never in an issue.
   **Folder articles** are the user's own and new until sent, whatever their age: the window
   does not apply to them.
2. **No repeats.** An item whose id or canonical URL is in a sent issue of this list is out.
   Gathering itself never marks anything sent: the delivery stage records the issue.
3. **Per source.** A source's `max_items` keeps its newest items.
4. **One copy.** The same id or canonical URL from two sources is one item; the copy with the
   most text is kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .models import Item, SourceRead
from .text import word_count

__all__ = ["History", "choose", "window_start"]


@dataclass(frozen=True)
class History:
    """What the state knows of a list and its items, as gathering needs it."""

    last_sent: datetime | None = None
    """When the list's latest issue went out (None when `since` was given, or never sent)."""
    sent_ids: frozenset[str] = frozenset()
    sent_urls: frozenset[str] = frozenset()
    first_seen: Mapping[str, datetime] = field(default_factory=dict)
    """Each item id's first sighting."""


def window_start(last_sent: datetime | None, lookback_hours: int, now: datetime) -> datetime:
    """The earlier of the last sent issue and the look-back before now."""
    lookback = now - timedelta(hours=lookback_hours)
    return min(last_sent, lookback) if last_sent else lookback


def choose(
    reads: Sequence[SourceRead],
    history: History,
    *,
    start: datetime,
    lookback_hours: int,
    now: datetime,
) -> tuple[Item, ...]:
    """Recent, unsent, one copy each, newest first (the window and the no-repeat rule).

    With `history.last_sent`, an item first seen after that issue went out is recent too when
    it was published within the look-back before it (its feed was down or stale then)."""
    seen_at = history.first_seen
    last = history.last_sent

    def when(item: Item) -> datetime:
        return item.article.published or seen_at.get(item.article.id, now)

    def recent(item: Item) -> bool:
        if item.from_folder or when(item) >= start:
            return True
        if last is None:
            return False
        late = seen_at.get(item.article.id, now) > last
        return late and when(item) >= last - timedelta(hours=lookback_hours)

    def unsent(item: Item) -> bool:
        return item.article.id not in history.sent_ids and (
            item.canonical is None or item.canonical not in history.sent_urls
        )

    per_source: list[Item] = []
    for r in reads:
        fresh = sorted((i for i in r.items if unsent(i) and recent(i)), key=when, reverse=True)
        if r.source.max_items:
            fresh = fresh[: r.source.max_items]
        per_source.extend(fresh)

    kept: list[Item] = []
    seen: set[str] = set()
    for item in sorted(per_source, key=lambda i: -word_count(i.article.paragraphs)):
        keys = {item.article.id} | ({item.canonical} if item.canonical else set())
        if keys & seen:
            continue
        seen |= keys
        kept.append(item)
    kept.sort(key=when, reverse=True)
    return tuple(kept)
