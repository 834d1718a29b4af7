"""Choose the items of a list's next issue from what its sources gave: recent, new, one copy
each, newest first, and the order a full issue takes them in. Pure: the sources stage read the
feeds, the state said what was sent, when each issue went out and when each item was first
seen, and the summariser leads and caps what this returns.

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
2. **Held over.** An item the last sent issue was offered (by these rules, applied as they
   stood when it went out) and did not carry, because `max_articles` was reached or it was
   left out for size, is offered again while it was published within the hold
   (`hold_over_hours`) before now, however far back the window starts. Past the hold it is
   dropped, and counted (`Choice.dropped`) by the first gathering after the hold ended. With
   `since` there is no hold: the window is given by hand.
3. **No repeats.** An item whose id or canonical URL is in a sent issue of this list is out.
   Gathering itself never marks anything sent: the delivery stage records the issue.
4. **Per source.** A source's `max_items` keeps its newest items.
5. **One copy.** The same id or canonical URL from two sources is one item; the copy with the
   most text is kept.
6. **A fair share.** When an issue cannot hold every item, it takes them in `fair_share`
   order: a round over the sources (the one with the newest item first), each source's newest
   first, so every source gets an equal part of the issue and a busy feed never crowds the
   others out. The issue shows what it took newest first (`issue_order`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .config import SourceConfig
from .models import Article, Held, Item, SourceRead
from .text import word_count

__all__ = [
    "Choice",
    "History",
    "choose",
    "fair_share",
    "held_over",
    "issue_order",
    "newest_first",
    "window_start",
]


@dataclass(frozen=True)
class History:
    """What the state knows of a list and its items, as gathering needs it."""

    last_sent: datetime | None = None
    """When the list's latest issue went out (None when `since` was given, or never sent)."""
    sent_ids: frozenset[str] = frozenset()
    sent_urls: frozenset[str] = frozenset()
    first_seen: Mapping[str, datetime] = field(default_factory=dict)
    """Each item id's first sighting."""
    sent_times: tuple[datetime, ...] = ()
    """When each of the list's issues went out (empty when `since` was given). Without them,
    `last_sent` alone is the list's one issue."""


@dataclass(frozen=True)
class Choice:
    """The items an issue may take, and what the hold-over rule made of earlier leftovers."""

    items: tuple[Item, ...]
    """Recent or held over, unsent, one copy each, newest first."""
    carried: frozenset[str] = frozenset()
    """The ids of `items` offered only because an earlier issue left them out (the hold)."""
    over_max: tuple[Item, ...] = ()
    """Items past their source's `max_items`: left out of this issue, held over like those
    the issue has no room for."""
    dropped: tuple[Item, ...] = ()
    """Items the last sent issue was offered and left out, now past the hold: gone for good."""
    until: Mapping[str, datetime | None] = field(default_factory=dict)
    """How long each of `items` and `over_max` stays on offer should this issue leave it out:
    for an issue sent before then (None: a folder article, offered until sent)."""


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
    hold_hours: int = 0,
) -> Choice:
    """Recent or held over, unsent, one copy each, newest first (rules 1 to 5 above).

    With `history.last_sent`, an item first seen after that issue went out is recent too when
    it was published within the look-back before it (its feed was down or stale then)."""
    seen_at = history.first_seen
    last = history.last_sent
    times = (tuple(sorted(history.sent_times)) or (last,)) if last else ()
    look = timedelta(hours=lookback_hours)
    hold = timedelta(hours=hold_hours)

    def when(item: Item) -> datetime:
        return item.article.published or seen_at.get(item.article.id, now)

    def seen(item: Item) -> datetime:
        return seen_at.get(item.article.id, now)

    def recent(item: Item) -> bool:
        if item.from_folder or when(item) >= start:
            return True
        if last is None:
            return False
        return seen(item) > last and when(item) >= last - look

    def offered(item: Item, k: int) -> bool:
        """Whether the issue sent at `times[k]` was offered the item: recent then, or held
        over from the issue before it."""
        w, s = when(item), seen(item)
        while k >= 0:
            t, prev = times[k], times[k - 1] if k else None
            if s > t:
                return False  # not seen yet when that issue went out
            late = prev is not None and s > prev and w >= prev - look
            if w >= window_start(prev, lookback_hours, t) or late:
                return True
            if w < t - hold:
                return False
            k -= 1
        return False

    def held(item: Item) -> bool:
        return bool(times) and when(item) >= now - hold and offered(item, len(times) - 1)

    def unsent(item: Item) -> bool:
        return item.article.id not in history.sent_ids and (
            item.canonical is None or item.canonical not in history.sent_urls
        )

    per_source: list[Item] = []
    over_max: list[Item] = []
    carried: set[str] = set()
    lapsed: list[Item] = []
    for r in reads:
        fresh: list[Item] = []
        for i in r.items:
            if not unsent(i):
                continue
            if recent(i):
                fresh.append(i)
            elif held(i):
                fresh.append(i)
                carried.add(i.article.id)
            elif times and offered(i, len(times) - 1):
                lapsed.append(i)
        fresh.sort(key=when, reverse=True)
        if r.source.max_items:
            over_max.extend(fresh[r.source.max_items :])
            fresh = fresh[: r.source.max_items]
        per_source.extend(fresh)

    kept: list[Item] = []
    taken: set[str] = set()
    for item in sorted(per_source, key=lambda i: -word_count(i.article.paragraphs)):
        if _keys(item) & taken:
            continue
        taken |= _keys(item)
        kept.append(item)
    # Newest first; items of the same time by id, so the order never depends on which source
    # answered first (two runs at once must agree).
    kept.sort(key=lambda i: (when(i), i.article.id), reverse=True)
    # Left for later or lost, once each, and not when another source's copy is offered.
    waiting = _distinct(sorted(over_max, key=when, reverse=True), taken)
    dropped = _distinct(sorted(lapsed, key=when, reverse=True), taken)

    span = max(look, hold)
    ids = {i.article.id for i in kept}
    return Choice(
        items=tuple(kept),
        carried=frozenset(carried & ids),
        over_max=tuple(waiting),
        dropped=tuple(dropped),
        until={i.article.id: None if i.from_folder else when(i) + span for i in (*kept, *waiting)},
    )


def fair_share(items: Sequence[Item]) -> tuple[Item, ...]:
    """`items` (newest first) in the order a full issue takes them: a round over the sources,
    the source with the newest item first, each source's newest first. The first n are then
    an equal share of each source, and a source with fewer items leaves its share to the
    others."""
    queues: dict[SourceConfig, list[Item]] = {}
    for item in items:
        queues.setdefault(item.source, []).append(item)
    order: list[Item] = []
    for rank in range(max((len(q) for q in queues.values()), default=0)):
        order.extend(q[rank] for q in queues.values() if rank < len(q))
    return tuple(order)


def issue_order(articles: Sequence[Article], choice: Choice) -> tuple[Article, ...]:
    """The articles an issue took (in `fair_share` order), newest first again, as `choice`
    ranks them."""
    rank = {item.article.id: n for n, item in enumerate(choice.items)}
    return tuple(sorted(articles, key=lambda a: rank.get(a.id, len(rank))))


def held_over(left: Sequence[Item], choice: Choice) -> tuple[Held, ...]:
    """What an issue leaves for later: the items it had no room for (`left`) and those past
    their source's `max_items`, newest first (folder articles first), each with how long it is
    kept."""
    until = choice.until
    return newest_first(Held(i.article, until.get(i.article.id)) for i in (*left, *choice.over_max))


def newest_first(held: Iterable[Held]) -> tuple[Held, ...]:
    """Folder articles (kept until sent) first, then by expiry: `until` is publication plus
    the same span for every item, so the latest expiry is the newest item."""
    return tuple(
        sorted(held, key=lambda h: (0, 0.0) if h.until is None else (1, -h.until.timestamp()))
    )


def _distinct(items: Sequence[Item], taken: set[str]) -> list[Item]:
    """`items` without a second copy of one item or a copy of one in `taken` (which grows)."""
    out = []
    for item in items:
        if not _keys(item) & taken:
            taken |= _keys(item)
            out.append(item)
    return out


def _keys(item: Item) -> set[str]:
    return {item.article.id} | ({item.canonical} if item.canonical else set())
