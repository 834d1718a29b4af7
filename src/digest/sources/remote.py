"""A feed URL read through the HTTP cache: conditional GET, a 304 or an unchanged body gives
the cached entries, and a failure or a broken answer gives the entries of the last good one,
so unsent items are never lost to an outage. What the answer says of the address (moved for
good, gone) rides along for `visit` to remember."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..models import Entry
from ..state.cache import CachedFeed, FeedCache
from .feeds import ParsedFeed, parse_feed
from .fetch import Fetched, Fetcher
from .polling import longest, max_age

__all__ = ["FeedResult", "LinkedFeed", "failed_feed", "fetch_feed", "fetch_hint"]


REST_MAX = timedelta(days=7)
"""The longest `Retry-After` digest keeps to (a longer one is a typo or a ban)."""


@dataclass(frozen=True)
class FeedResult:
    entries: tuple[Entry, ...]
    problems: tuple[str, ...]
    status: str
    ok: bool
    title: str | None = None
    """The feed's own title (its site's name), from the answer or the cache."""
    every: timedelta | None = None
    """How often the feed asks to be read (`polling.hint`); None when it said nothing now."""
    moved_to: str | None = None
    """Where a 301 or 308 led, when the answer there was good."""
    gone: bool = False
    """The address answered 410 Gone."""
    rest: timedelta | None = None
    """The host asked for a wait (`Retry-After`) longer than a run waits: not asked before."""


@dataclass(frozen=True)
class LinkedFeed:
    """The URL answered with an HTML page that links to this feed."""

    feed_url: str
    moved_to: str | None = None
    """Where a 301 or 308 led the page's URL."""


def fetch_hint(r: Fetched) -> str:
    """What to check, for a feed that could not be fetched."""
    if r.retry_after is not None and r.error and "cap" in r.error:
        return "skipped; digest asks again once that wait is over"
    if r.status in (401, 403):
        return "the site refuses digest; check the URL, or whether the feed needs a login"
    if r.status == 410:
        return "the site says the feed is gone for good"
    if r.status == 404:
        return "check the feed's URL in digest.toml"
    if r.status is not None and (r.status == 429 or r.status >= 500):
        return "the site has trouble; digest tries again next run"
    if r.error and "cap" in r.error:
        return "check that the URL is a feed, not a large file"
    if r.error and ("within" in r.error or "timed out" in r.error):
        return "the site is slow or down; digest tries again next run"
    if r.error and r.error.startswith("refused:"):
        return "put a feed on a public host in digest.toml"
    if r.error and r.error.startswith(("cannot connect", "not a", "more than")):
        return "check the feed's URL in digest.toml and the network"
    return "check the feed's URL in digest.toml"


async def fetch_feed(
    url: str,
    fetcher: Fetcher,
    cache: FeedCache,
    now: datetime,
    follow_links: bool = True,
    source_url: str | None = None,
    address: str | None = None,
) -> FeedResult | LinkedFeed:
    """Fetch and parse one feed URL through the HTTP cache. `source_url` is the configured
    address (default `url`), which decides whether private hosts may be reached. `address` is
    where to ask, when the feed moved: the cache and the items' ids stay those of `url`."""
    cached = cache.get(url)
    r = await fetcher.get(
        address or url,
        etag=cached.etag if cached else None,
        last_modified=cached.last_modified if cached else None,
        source_url=source_url or url,
    )
    moved = r.moved_to
    if r.not_modified and cached:
        every = max_age(r.headers)
        return FeedResult(cached.entries, cached.problems, "304", True, cached.title, every, moved)
    if r.error or not r.ok:
        failed = failed_feed(f"{r.error or f'HTTP {r.status}'}; {fetch_hint(r)}", cached)
        rest = None
        if r.retry_after is not None and r.retry_after > fetcher.limits.retry_after_cap:
            rest = timedelta(seconds=min(r.retry_after, REST_MAX.total_seconds()))
        return replace(failed, gone=r.status == 410, rest=rest)
    body_hash = hashlib.sha256(r.body).hexdigest()
    if cached and cached.body_hash == body_hash:
        parsed = ParsedFeed(cached.format, cached.title, cached.entries, cached.problems)
    else:
        # Parsed here, not in a thread: feedparser is pure Python, so threads would only
        # take turns on the GIL (and worker processes need a guarded __main__ everywhere).
        parsed = parse_feed(
            r.body,
            url=r.final_url,
            headers=r.headers,
            feed_id=url,
            max_bytes=fetcher.limits.max_bytes,
        )
    if parsed.is_html:
        if parsed.feed_links and follow_links:
            return LinkedFeed(parsed.feed_links[0], moved)
        reason = (
            "an HTML page, not a feed"
            + ("" if parsed.feed_links else ", and it links to no feed")
            + "; put the feed's own URL in digest.toml"
        )
        return failed_feed(reason, cached)
    if not parsed.entries and parsed.problems and cached and cached.entries:
        # A broken answer (empty, truncated, not a feed) is a failed fetch: it must not
        # replace the entries of the last good one, or unsent items would be lost.
        return failed_feed("; ".join(parsed.problems), cached)
    cache.put(
        CachedFeed(
            url=url,
            etag=r.etag,
            last_modified=r.last_modified,
            body_hash=body_hash,
            fetched_at=now,
            title=parsed.title,
            format=parsed.format,
            problems=parsed.problems,
            entries=parsed.entries,
        )
    )
    every = longest(parsed.every, max_age(r.headers))
    return FeedResult(
        parsed.entries, parsed.problems, str(r.status), True, parsed.title, every, moved
    )


def failed_feed(reason: str, cached: CachedFeed | None) -> FeedResult:
    """A feed that could not be read now gives the entries of its last good answer."""
    if cached and cached.entries:
        when = cached.fetched_at.strftime("%Y-%m-%d %H:%M UTC")
        reason += f" (using the {len(cached.entries)} entries fetched {when})"
        return FeedResult(cached.entries, (reason,), "error", False, cached.title)
    return FeedResult((), (reason,), "error", False)
