"""One remote source, asked politely: where to ask, whether to ask at all, and what its answer
teaches for next time (kept in `state.places`, by the configured URL).

- **Moved for good** (301, 308, answered well at the end): the new address is asked from then
  on, said once; `digest sources update-moved` writes it into digest.toml. 302 and 307 change
  nothing.
- **Gone** (410 at the source's own address): not asked again by a gathering run, and a warning
  every run saying to remove it. `digest sources check` asks it anyway, and a good answer
  there clears the mark.
- **A page that links to a feed**: the feed is remembered and asked directly (one request a
  run); the page is asked again only when that feed fails.
- **Asked to wait** (`Retry-After` past the run's cap, on 429 or 503): not asked again before
  that time (at most a week), by any run: a poll round every minute does not knock again.
- **Failing run after run**: once a source failed `BACKOFF_AFTER` runs in a row over at
  least `BACKOFF_SINCE` (so gather, preview and send on one bad morning do not count thrice),
  it is left alone for half as long as it has been failing (at least `BACKOFF_MIN`, at most
  `BACKOFF_MAX`): a day's outage costs a few hours, a dead feed about one request a week. In
  between, a run uses its cached entries and says "failing since …, next try …". `digest
  sources check` always asks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..config import SourceConfig
from ..state.cache import FeedCache
from ..state.places import Place, Places
from ..urls import redact
from .fetch import Fetcher
from .remote import FeedResult, failed_feed, fetch_feed

__all__ = ["BACKOFF_AFTER", "BACKOFF_MAX", "BACKOFF_MIN", "Visit", "backoff", "visit_source"]

log = logging.getLogger(__name__)

BACKOFF_AFTER = 3
"""Failures in a row before a source is asked less often."""
BACKOFF_SINCE = timedelta(days=1)
"""And for at least this long: a bad hour is not a broken feed."""
BACKOFF_MIN = timedelta(hours=6)
BACKOFF_MAX = timedelta(days=7)


@dataclass(frozen=True)
class Visit:
    """What asking (or not asking) a remote source gave."""

    result: FeedResult
    feed_url: str | None = None
    """The feed the source's page links to, when it is a page."""


def backoff(failures: int, failing_for: timedelta) -> timedelta | None:
    """How long to leave a source alone after `failures` failures in a row over `failing_for`
    (None: ask it next run), by the module's rule."""
    if failures < BACKOFF_AFTER or failing_for < BACKOFF_SINCE:
        return None
    return min(max(failing_for / 2, BACKOFF_MIN), BACKOFF_MAX)


def _when(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC")


def gone_line(source: SourceConfig) -> str:
    return (
        f"gone: {redact(source.location)} answered 410 Gone, so digest no longer asks it; remove "
        f'it with `digest sources remove "{source.name}"`'
    )


async def visit_source(
    source: SourceConfig,
    fetcher: Fetcher,
    cache: FeedCache,
    places: Places,
    now: datetime,
    ask_anyway: bool = False,
) -> Visit:
    """Read one feed URL source the polite way (the module's rules). `ask_anyway` (`digest
    sources check`) asks a gone or backing-off source all the same."""
    location = source.location
    place = places.get(location)
    if not ask_anyway and place.gone_at:
        cached = cache.get(place.feed_url or location)
        return Visit(replace(failed_feed(gone_line(source), cached), status="gone", gone=True))
    if not ask_anyway and place.next_try and now < place.next_try:
        since = place.failing_since or place.next_try
        reason = (
            f"its host asked digest to wait (Retry-After); next try {_when(place.next_try)}"
            if place.failures < BACKOFF_AFTER
            else f"failing since {_when(since)} ({place.failures} times in a row), so asked "
            f"less often; next try {_when(place.next_try)}"
        )
        return Visit(failed_feed(reason, cache.get(place.feed_url or location)), place.feed_url)
    visit, place = await _ask(source, fetcher, cache, place, now)
    place = _counted(place, visit, now)
    places.put(place)
    note = backoff_note(place)
    if note and visit.result.problems:
        first, *rest = visit.result.problems
        visit = replace(visit, result=replace(visit.result, problems=(f"{first}; {note}", *rest)))
    return visit


async def _ask(
    source: SourceConfig, fetcher: Fetcher, cache: FeedCache, place: Place, now: datetime
) -> tuple[Visit, Place]:
    location = source.location
    remembered = None
    if place.feed_url:  # a page's feed, remembered: one request, unless it fails
        remembered = await _feed(place.feed_url, fetcher, cache, now, location)
        if remembered.ok:
            if remembered.moved_to:
                place = replace(place, feed_url=remembered.moved_to)
            return Visit(remembered, place.feed_url), place
    first = await fetch_feed(
        location, fetcher, cache, now, address=place.moved_to or location, source_url=location
    )
    place = _moved(source, place, first.moved_to, now)
    if isinstance(first, FeedResult):
        if first.gone:
            gone = failed_feed(gone_line(source), cache.get(location))
            return Visit(replace(gone, status="gone", gone=True)), replace(
                place, gone_at=now, feed_url=None
            )
        if first.ok:  # a feed now, not a page
            place = replace(place, feed_url=None)
        elif remembered is not None:  # the page is down too: its feed's last good entries
            return Visit(remembered, place.feed_url), replace(place, gone_at=None)
        return Visit(first, None if first.ok else place.feed_url), replace(place, gone_at=None)
    linked = await _feed(first.feed_url, fetcher, cache, now, location)
    place = replace(place, gone_at=None)
    if linked.ok:
        place = replace(place, feed_url=linked.moved_to or first.feed_url)
    return Visit(linked, first.feed_url), place


async def _feed(
    url: str, fetcher: Fetcher, cache: FeedCache, now: datetime, location: str
) -> FeedResult:
    result = await fetch_feed(url, fetcher, cache, now, follow_links=False, source_url=location)
    assert isinstance(result, FeedResult)  # follow_links=False never gives a LinkedFeed
    return result


def _moved(source: SourceConfig, place: Place, moved_to: str | None, now: datetime) -> Place:
    """Remember a permanent move of the source's own URL, and say it once."""
    if not moved_to or moved_to in (place.moved_to, source.location):
        return place
    log.warning(
        "%s: %s moved permanently to %s; digest asks there from now on (`digest sources "
        "update-moved` writes the new address into digest.toml)",
        redact(source.name),
        redact(source.location),
        redact(moved_to),
    )
    return replace(place, moved_to=moved_to, moved_at=now)


def _counted(place: Place, visit: Visit, now: datetime) -> Place:
    """The failures in a row, and when to ask next; a failure notes the back-off it starts."""
    if visit.result.ok or visit.result.gone:
        return replace(place, failures=0, failing_since=None, next_try=None)
    failures = place.failures + 1
    since = place.failing_since or now
    wait = backoff(failures, now - since)
    rest = visit.result.rest  # the host's own Retry-After, kept across runs
    if rest is not None and (wait is None or rest > wait):
        wait = rest
    return replace(
        place, failures=failures, failing_since=since, next_try=now + wait if wait else None
    )


def backoff_note(place: Place) -> str | None:
    """The back-off a failure starts, as the end of its problem line."""
    if not place.next_try:
        return None
    if place.failures < BACKOFF_AFTER:  # not a back-off: the host's Retry-After
        return f"not asked again before {_when(place.next_try)}"
    since = _when(place.failing_since) if place.failing_since else "now"
    return (
        f"failing since {since} ({place.failures} times in a row), so asked less often; "
        f"next try {_when(place.next_try)}"
    )
