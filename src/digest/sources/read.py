"""Read a list's sources, all at once: a feed URL (through the HTTP cache), a local feed file,
or a folder of article files. A source that fails becomes one line in its `SourceRead.problems`;
the others go on. Links and images are kept only when they are http(s). Reading records each
source's health but says nothing of its problems: whoever reads tells them once the reading is
done (`health.report`, with the health recorded before), as warnings only when they changed.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from ..config import SourceConfig
from ..config.topics import topic_name
from ..errors import DigestError, SourceError
from ..models import Article, Entry, Item, SourceHealth, SourceRead
from ..state.cache import FeedCache
from ..state.health import HealthLog
from ..state.polled import PolledEntries, PollTimes
from ..text import site_line
from ..urls import canonical_url, http_url
from .feeds import parse_feed
from .fetch import Fetcher, human_size
from .folder import read_folder
from .health import entries_health, failed_health
from .remote import FeedResult
from .sanitise import pixel_size
from .visit import visit_source

__all__ = ["Progress", "Reading", "read_sources"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""Called as `progress(done, total, source_name)` each time a source has been read."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Reading:
    """What one reading of sources shares: the HTTP client, the state it keeps, the time."""

    fetcher: Fetcher
    feeds: FeedCache
    health: HealthLog
    now: datetime
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Feed category (as `config.topic_name` makes it) → topics: digest.toml's `[topics]`."""
    polled: PolledEntries | None = None
    """Where each feed's entries are kept between issues (None: kept nowhere)."""
    poll_times: PollTimes | None = None
    seen_by: str = "poll"
    """`issue` when an issue reads (polling did not catch what it sees), else `poll`."""
    polled_since: datetime | None = None
    """An issue's reading: also give the entries polls saw since then, gone from the feed now."""
    ask_anyway: bool = False
    """Ask gone and backing-off sources too (`digest sources check`: see `visit`)."""


async def read_sources(
    sources: Sequence[SourceConfig], run: Reading, progress: Progress | None = None
) -> tuple[SourceRead, ...]:
    """Every source read at once (bounded by the fetcher's concurrency), in the given order."""
    done = 0

    async def one(source: SourceConfig) -> SourceRead:
        nonlocal done
        try:
            read = await read_source(source, run)
        except (sqlite3.Error, DigestError):
            raise  # the state failing is the whole run's problem, said once (`open_state`)
        except Exception as exc:  # a bug must not cost the other sources their items
            log.exception("reading %s failed", source.label)
            read = _failed(
                run,
                source,
                f"unexpected error: {type(exc).__name__}: {exc} (a bug in digest; the log "
                "has the details, please report it)",
            )
        done += 1
        if progress:
            progress(done, len(sources), source.name)
        return read

    return tuple(await asyncio.gather(*(one(s) for s in sources)))


async def read_source(source: SourceConfig, run: Reading) -> SourceRead:
    if source.kind == "folder":
        return await _read_folder(source, run)
    if source.is_remote:
        return await _read_remote(source, run)
    return _read_file(source, run)


def _failed(run: Reading, source: SourceConfig, reason: str, line: str | None = None) -> SourceRead:
    health = failed_health(run.health, source, reason, run.now)
    return SourceRead(source, (), (line or f"{source.label}: {reason}",), health)


async def _read_folder(source: SourceConfig, run: Reading) -> SourceRead:
    try:
        articles = await asyncio.to_thread(read_folder, Path(source.location), source.name)
    except SourceError as exc:  # its message names the source and the folder already
        return _failed(run, source, exc.message, line=exc.message)
    # Files may name any "url" or "image" (a saved page's og:image too); only http(s) URLs
    # may reach an email's links and images.
    articles = [_checked(a, source) for a in articles]
    articles.sort(key=lambda a: a.published or _EPOCH, reverse=True)
    health = SourceHealth(
        name=source.name,
        kind="folder",
        location=source.location,
        checked_at=run.now,
        status="folder",
        last_success=run.now,
        items=len(articles),
        missing_dates=0,
        teasers=0,
    )
    run.health.record(health)
    items = tuple(Item(a, canonical_url(a.url), source, True) for a in articles)
    return SourceRead(source, items, (), health)


def _checked(a: Article, source: SourceConfig) -> Article:
    """A folder's article with only http(s) links and images, and its source's section; an
    image that is not kept takes its size and alt text with it."""
    image = http_url(a.image)
    kept = {} if image else {"image_alt": None, "image_width": None, "image_height": None}
    return replace(
        a,
        url=http_url(a.url),
        image=image,
        section=source.section,
        topics=tuple(sorted({*source.topics, *a.topics})),
        **kept,
    )


def _read_file(source: SourceConfig, run: Reading) -> SourceRead:
    cap = run.fetcher.limits.max_bytes
    try:
        # Read at most one byte past the cap: a file that grows, or a pipe or device that
        # never ends, cannot fill the memory.
        with open(source.location, "rb") as f:
            body = f.read(cap + 1)
    except OSError as exc:
        return _failed(
            run,
            source,
            f"cannot read the feed file ({exc.strerror}); check the path in digest.toml",
        )
    if len(body) > cap:
        return _failed(run, source, f"the file is over the {human_size(cap)} cap; not read")
    parsed = parse_feed(body, url=source.location, max_bytes=cap)
    result = FeedResult(
        parsed.entries, parsed.problems, "file", True, parsed.title, every=parsed.every
    )
    return _from_entries(run, source, result)


async def _read_remote(source: SourceConfig, run: Reading) -> SourceRead:
    # A page's feed is said by `health.report` when it is new (the health keeps `feed_url`).
    visit = await visit_source(
        source, run.fetcher, run.feeds, run.health.places, run.now, run.ask_anyway
    )
    return _from_entries(run, source, visit.result, feed_url=visit.feed_url)


def _from_entries(
    run: Reading, source: SourceConfig, result: FeedResult, feed_url: str | None = None
) -> SourceRead:
    health = entries_health(
        run.health,
        source,
        result.entries,
        result.problems,
        result.status,
        feed_url,
        result.ok,
        run.now,
    )
    site = site_line(result.title)
    items = tuple(
        Item(_article(e, source, site, run.categories), e.canonical_url, source, False)
        for e in _with_polled(run, source, result)
    )
    lines = tuple(f"{source.label}: {p}" for p in result.problems)
    return SourceRead(source, items, lines, health)


def _with_polled(run: Reading, source: SourceConfig, result: FeedResult) -> tuple[Entry, ...]:
    """Keep what the feed shows now (a good reading only: a failed one shows the cache), and
    for an issue add the entries polls saw since `polled_since` that the feed no longer
    shows. The same id is one entry, the feed's copy of now first."""
    if run.polled is None:
        return result.entries
    if result.ok:
        run.polled.record(
            source.location,
            result.entries,
            run.now,
            seen_by=run.seen_by,
            unchanged=result.status == "304",
        )
    if run.poll_times is not None:
        run.poll_times.mark(
            source.location, run.now, result.every, unchanged=result.status == "304"
        )
    if run.polled_since is None:
        return result.entries
    shown = {e.id for e in result.entries}
    earlier = tuple(
        e for e in run.polled.since(source.location, run.polled_since) if e.id not in shown
    )
    if earlier:
        log.debug("%s: %d item(s) polled earlier, gone from the feed", source.label, len(earlier))
    return result.entries + earlier


def topics_of(
    e: Entry, source: SourceConfig, categories: Mapping[str, tuple[str, ...]]
) -> tuple[str, ...]:
    """The story's topics: its source's, and those its feed categories mean (`[topics]`)."""
    mapped = (t for c in e.categories for t in categories.get(topic_name(c), ()))
    return tuple(sorted({*source.topics, *mapped}))


def _article(
    e: Entry, source: SourceConfig, site: str | None, categories: Mapping[str, tuple[str, ...]]
) -> Article:
    image = http_url(e.image)
    return Article(
        id=e.id,
        title=e.title,
        source=source.name,
        # Checked by the parser; again here for entries cached by older versions.
        url=http_url(e.url),
        published=e.published,
        author=e.author,
        paragraphs=e.paragraphs,
        image=image,
        image_alt=e.image_alt if image else None,
        image_width=pixel_size(e.image_width) if image else None,
        image_height=pixel_size(e.image_height) if image else None,
        site=site,
        section=source.section,
        topics=topics_of(e, source, categories),
    )
