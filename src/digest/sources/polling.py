"""A feed's own hints on how often to read it: RSS `<ttl>` (minutes), the syndication module's
`sy:updatePeriod` and `sy:updateFrequency`, and the answer's `Cache-Control: max-age`. Polling
takes them as a floor: a source is not asked again before the longest of its `poll_minutes` and
its hint (`state.polled.PollTimes.next_at`). A hint over `MAX_HINT` is taken as `MAX_HINT`, so a
typo in a feed (a ttl of a year) cannot stop polling it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

__all__ = ["MAX_HINT", "feed_hint", "longest", "max_age"]

MAX_HINT = timedelta(days=1)
_PERIODS = {
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
    "weekly": timedelta(weeks=1),
    "monthly": timedelta(days=30),
    "yearly": timedelta(days=365),
}
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d{1,10})\"?", re.I)


def feed_hint(feed: Mapping[str, Any]) -> timedelta | None:
    """The longest of the feed's `<ttl>` and `sy:updatePeriod`/`sy:updateFrequency` (as
    feedparser gives them in `parsed.feed`), or None when it gives neither."""
    ttl = _whole(feed.get("ttl"))
    by_ttl = timedelta(minutes=ttl) if ttl else None
    period = _PERIODS.get(str(feed.get("sy_updateperiod") or "").strip().lower())
    by_sy = None
    if period is not None:
        times = _whole(feed.get("sy_updatefrequency")) or 1
        by_sy = period / times
    return longest(by_ttl, by_sy)


def max_age(headers: Mapping[str, str]) -> timedelta | None:
    """`Cache-Control: max-age` of an answer (lower-case header names), unless the answer also
    says not to keep it (`no-store`, `no-cache`)."""
    value = headers.get("cache-control", "")
    if "no-store" in value.lower() or "no-cache" in value.lower():
        return None
    m = _MAX_AGE.search(value)
    return timedelta(seconds=int(m.group(1))) if m and int(m.group(1)) > 0 else None


def longest(*hints: timedelta | None) -> timedelta | None:
    """The longest hint given, at most `MAX_HINT`; None when none was."""
    given = [h for h in hints if h is not None and h > timedelta(0)]
    return min(max(given), MAX_HINT) if given else None


def _whole(value: object) -> int | None:
    """A positive whole number written as text (as feeds give them), else None."""
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() and 0 < int(text) < 10**7 else None
