"""Gather the articles for a list's next issue: recent, new, deduplicated, newest first, with leads.

The rules, in the order they apply:

1. Every source of the list is read at once (bounded by `FetchLimits.concurrency`): a feed URL
   with a conditional GET, a local feed file, or a folder of article files. A source that fails
   becomes one line in `Gathered.problems` and a logged warning; the others go on. A feed that
   fails, or answers with an empty, broken or HTML document, but was read before gives the
   entries of its last good answer. Links and images are kept only when they are http(s).
2. **The window.** A feed item is recent when it was published at or after the window start:
   `since` when given, else the list's last sent issue or the look-back (`lookback_hours`,
   default 24) before now, whichever is earlier. An item without a date counts as published
   when digest first saw it. Items already sent are excluded by the no-repeat rule, so a
   window that overlaps the last issue repeats nothing; it only catches items published just
   before that issue went out but fetched after. Likewise an item first seen after the last
   issue went out (its feed was down then, or served an old copy) is taken when it was
   published within the look-back before that issue: it was never in an issue.
   **Folder articles** are the user's own and new until sent, whatever their age: the window
   does not apply to them.
3. **No repeats.** An item whose id or canonical URL is in a sent issue of this list is out.
   Gathering itself never marks anything sent: the delivery stage calls `State.record_issue`.
4. **One copy.** The same id or canonical URL from two sources is one item; the copy with the
   most text is kept.
5. **Leads.** Newest first, each item gets its lead from `summarise`. When the feed's text is
   shorter than the lead needs (fewer paragraphs and fewer words than the list asks for) and
   the source's `full_text` is `auto`, or when it is `always`, the article page is fetched and
   its text (trafilatura, via `extract_html`) used if it gives the longer lead. Items with no
   lead at all are left out. At most `max_articles` are returned.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .config import Config, ListConfig, SourceConfig
from .errors import SourceError
from .extract import extract_html
from .feeds import Entry, ParsedFeed, parse_feed
from .fetch import PAGE_ACCEPT, Fetched, Fetcher, FetchLimits, human_size
from .identity import canonical_url, http_url, redact
from .local import read_folder
from .models import Article
from .state import CachedFeed, CachedPage, SourceHealth, State
from .summarise import summarise

__all__ = ["Gathered", "check_sources", "gather", "gather_async"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""Called as `progress(done, total, source_name)` each time a source has been read."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Gathered:
    """The articles of the next issue, and a line for each source problem met on the way."""

    articles: tuple[Article, ...]
    problems: tuple[str, ...] = ()
    since: datetime | None = None
    """The window start used for feed items."""
    sources: tuple[SourceHealth, ...] = ()
    """How each source did in this run."""


@dataclass(frozen=True)
class _Candidate:
    article: Article
    canonical: str | None
    source: SourceConfig
    from_folder: bool


@dataclass(frozen=True)
class _SourceRead:
    source: SourceConfig
    candidates: tuple[_Candidate, ...]
    problems: tuple[str, ...]
    health: SourceHealth


def gather(
    config: Config,
    lst: ListConfig,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    limits: FetchLimits | None = None,
    progress: Progress | None = None,
) -> Gathered:
    """The list's next issue's articles, newest first, each with its lead picked.

    Never raises for a bad feed (see `Gathered.problems`); raises SourceError only when the
    list has no sources at all or the state database cannot be opened.
    """
    return asyncio.run(
        gather_async(config, lst, now=now, since=since, limits=limits, progress=progress)
    )


async def gather_async(
    config: Config,
    lst: ListConfig,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    limits: FetchLimits | None = None,
    progress: Progress | None = None,
) -> Gathered:
    """`gather` for callers that already run an event loop."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    sources = config.sources_for(lst)
    if not sources:
        raise SourceError(
            f"{config.path}: list {lst.name!r} has no sources",
            'Add a [[sources]] block with `feed = "https://…"` or `folder = "articles"`.',
        )
    with _state(config) as state:
        async with Fetcher(limits) as fetcher:
            run = _Run(state, fetcher, now)
            t0 = time.perf_counter()
            reads = await run.read_all(sources, progress)
            t1 = time.perf_counter()
            last = None if since else state.last_sent(lst.name)
            start = since.astimezone(UTC) if since else _window_start(last, lst, now)
            candidates = run.select(reads, lst, start, last)
            t2 = time.perf_counter()
            articles = await run.with_leads(candidates, lst)
            log.info(
                "read %d sources in %.2f s, chose %d new items in %.2f s, leads in %.2f s",
                len(sources),
                t1 - t0,
                len(candidates),
                t2 - t1,
                time.perf_counter() - t2,
            )
    # One line each, whatever an exception or a server put in them.
    problems = [" ".join(p.split()) for r in reads for p in r.problems] + run.late_problems
    return Gathered(
        articles=tuple(articles),
        problems=tuple(problems),
        since=start,
        sources=tuple(r.health for r in reads),
    )


def check_sources(
    config: Config,
    *,
    now: datetime | None = None,
    limits: FetchLimits | None = None,
    progress: Progress | None = None,
) -> tuple[SourceHealth, ...]:
    """Read every configured source now (conditional GET) and report its health."""

    async def run() -> tuple[SourceHealth, ...]:
        when = (now or datetime.now(UTC)).astimezone(UTC)
        with _state(config) as state:
            async with Fetcher(limits) as fetcher:
                run = _Run(state, fetcher, when)
                reads = await run.read_all(config.sources, progress)
        return tuple(r.health for r in reads)

    if not config.sources:
        raise SourceError(
            f"{config.path}: no sources are configured",
            'Add a [[sources]] block with `feed = "https://…"` or `folder = "articles"`.',
        )
    return asyncio.run(run())


@contextmanager
def _state(config: Config) -> Iterator[State]:
    """The state database, open for one run. A database that fails under way (a damaged file,
    tables missing) is a user error naming the file, not a traceback."""
    with State.open(config.state_dir) as state:
        try:
            yield state
        except sqlite3.DatabaseError as exc:
            raise SourceError(
                f"{state.path}: the state database failed ({exc})",
                "Move the file away; digest makes a new one (feeds are then fetched in full "
                "and the sent ledger starts empty).",
            ) from None


def _window_start(last: datetime | None, lst: ListConfig, now: datetime) -> datetime:
    lookback = now - timedelta(hours=lst.lookback_hours)
    return min(last, lookback) if last else lookback


def _words(paragraphs: Sequence[str]) -> int:
    return sum(len(p.split()) for p in paragraphs)


def looks_like_teaser(paragraphs: Sequence[str], max_paragraphs: int = 2, words: int = 90) -> bool:
    """For source health only, and cheap: fewer real paragraphs (8+ words) and words than a
    default lead needs. Gathering itself decides with the list's own lead settings."""
    prose = [p for p in paragraphs if len(p.split()) >= 8]
    return len(prose) < max_paragraphs and _words(prose) < words


def _label(source: SourceConfig) -> str:
    """How a problem line names a source: its name, and its address when that differs.
    A password in a feed URL is never shown."""
    if source.kind == "feed" and source.name != source.location:
        return f"{redact(source.name)} ({redact(source.location)})"
    return redact(source.name)


def _fetch_hint(r: Fetched) -> str:
    """What to check, for a feed that could not be fetched."""
    if r.status in (401, 403):
        return "the site refuses digest; check the URL, or whether the feed needs a login"
    if r.status in (404, 410):
        return "check the feed's URL in digest.toml"
    if r.status is not None and (r.status == 429 or r.status >= 500):
        return "the site has trouble; digest tries again next run"
    if r.error and "cap" in r.error:
        return "check that the URL is a feed, not a large file"
    if r.error and ("within" in r.error or "timed out" in r.error):
        return "the site is slow or down; digest tries again next run"
    if r.error and r.error.startswith(("cannot connect", "not a", "more than")):
        return "check the feed's URL in digest.toml and the network"
    return "check the feed's URL in digest.toml"


class _Run:
    """One gathering run: the state, the HTTP client and the problems met after reading."""

    def __init__(self, state: State, fetcher: Fetcher, now: datetime) -> None:
        self.state = state
        self.fetcher = fetcher
        self.now = now
        self.late_problems: list[str] = []

    # Reading sources.

    async def read_all(
        self, sources: Sequence[SourceConfig], progress: Progress | None
    ) -> list[_SourceRead]:
        done = 0

        async def one(source: SourceConfig) -> _SourceRead:
            nonlocal done
            try:
                read = await self.read(source)
            except Exception as exc:  # a bug must not cost the other sources their items
                log.exception("reading %s failed", _label(source))
                read = self._failed(
                    source,
                    f"unexpected error: {type(exc).__name__}: {exc} (a bug in digest; the log "
                    "has the details, please report it)",
                )
            for line in read.problems:
                log.warning("%s", line)
            done += 1
            if progress:
                progress(done, len(sources), source.name)
            return read

        return list(await asyncio.gather(*(one(s) for s in sources)))

    async def read(self, source: SourceConfig) -> _SourceRead:
        if source.kind == "folder":
            return await self._read_folder(source)
        if source.is_remote:
            return await self._read_remote(source)
        return await self._read_file(source)

    def _last_success(self, source: SourceConfig, ok: bool) -> datetime | None:
        """Now, or for a failure the last success on record (the state keeps it the same way)."""
        if ok:
            return self.now
        previous = self.state.source_health(source.location)
        return previous.last_success if previous else None

    def _failed(self, source: SourceConfig, reason: str, line: str | None = None) -> _SourceRead:
        health = SourceHealth(
            name=source.name,
            kind=source.kind,
            location=source.location,
            checked_at=self.now,
            status="error",
            last_success=self._last_success(source, ok=False),
            items=0,
            missing_dates=0,
            teasers=0,
            problem=reason,
        )
        self.state.record_health(health)
        return _SourceRead(source, (), (line or f"{_label(source)}: {reason}",), health)

    async def _read_folder(self, source: SourceConfig) -> _SourceRead:
        try:
            articles = await asyncio.to_thread(read_folder, Path(source.location), source.name)
        except SourceError as exc:  # its message names the source and the folder already
            return self._failed(source, exc.message, line=exc.message)
        # Files may name any "url" or "image" (a saved page's og:image too); only http(s) URLs
        # may reach an email's links and images.
        articles = [replace(a, url=http_url(a.url), image=http_url(a.image)) for a in articles]
        articles.sort(key=lambda a: a.published or _EPOCH, reverse=True)
        health = SourceHealth(
            name=source.name,
            kind="folder",
            location=source.location,
            checked_at=self.now,
            status="folder",
            last_success=self.now,
            items=len(articles),
            missing_dates=0,
            teasers=0,
        )
        self.state.record_health(health)
        cands = tuple(_Candidate(a, canonical_url(a.url), source, True) for a in articles)
        return _SourceRead(source, cands, (), health)

    async def _read_file(self, source: SourceConfig) -> _SourceRead:
        cap = self.fetcher.limits.max_bytes
        try:
            # Read at most one byte past the cap: a file that grows, or a pipe or device that
            # never ends, cannot fill the memory.
            with open(source.location, "rb") as f:
                body = f.read(cap + 1)
        except OSError as exc:
            return self._failed(
                source, f"cannot read the feed file ({exc.strerror}); check the path in digest.toml"
            )
        if len(body) > cap:
            return self._failed(source, f"the file is over the {human_size(cap)} cap; not read")
        parsed = parse_feed(body, url=source.location, max_bytes=cap)
        return self._from_entries(source, parsed.entries, parsed.problems, "file", None)

    async def _read_remote(self, source: SourceConfig) -> _SourceRead:
        url = source.location
        result = await self._fetch_feed(url)
        if isinstance(result, _Page):
            log.warning(
                "%s: %s is a web page; using the feed it links to, %s (put that URL in "
                "digest.toml to save a request)",
                redact(source.name),
                redact(url),
                redact(result.feed_url),
            )
            page_url = result.feed_url
            result = await self._fetch_feed(page_url, follow_links=False)
            assert isinstance(result, _FeedResult)  # follow_links=False never gives a _Page
            return self._from_entries(
                source, result.entries, result.problems, result.status, page_url, result.ok
            )
        return self._from_entries(
            source, result.entries, result.problems, result.status, None, result.ok
        )

    async def _fetch_feed(self, url: str, follow_links: bool = True) -> _FeedResult | _Page:
        """Fetch and parse one feed URL through the HTTP cache."""
        cached = self.state.cached_feed(url)
        r = await self.fetcher.get(
            url,
            etag=cached.etag if cached else None,
            last_modified=cached.last_modified if cached else None,
        )
        if r.not_modified and cached:
            return _FeedResult(cached.entries, cached.problems, "304", True)
        if r.error or not r.ok:
            reason = f"{r.error or f'HTTP {r.status}'}; {_fetch_hint(r)}"
            return self._failed_feed(reason, cached)
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
                max_bytes=self.fetcher.limits.max_bytes,
            )
        if parsed.is_html:
            if parsed.feed_links and follow_links:
                return _Page(parsed.feed_links[0])
            reason = (
                "an HTML page, not a feed"
                + ("" if parsed.feed_links else ", and it links to no feed")
                + "; put the feed's own URL in digest.toml"
            )
            return self._failed_feed(reason, cached)
        if not parsed.entries and parsed.problems and cached and cached.entries:
            # A broken answer (empty, truncated, not a feed) is a failed fetch: it must not
            # replace the entries of the last good one, or unsent items would be lost.
            return self._failed_feed("; ".join(parsed.problems), cached)
        self.state.store_feed(
            CachedFeed(
                url=url,
                etag=r.etag,
                last_modified=r.last_modified,
                body_hash=body_hash,
                fetched_at=self.now,
                title=parsed.title,
                format=parsed.format,
                problems=parsed.problems,
                entries=parsed.entries,
            )
        )
        return _FeedResult(parsed.entries, parsed.problems, str(r.status), True)

    @staticmethod
    def _failed_feed(reason: str, cached: CachedFeed | None) -> _FeedResult:
        """A feed that could not be read now gives the entries of its last good answer."""
        if cached and cached.entries:
            when = cached.fetched_at.strftime("%Y-%m-%d %H:%M UTC")
            reason += f" (using the {len(cached.entries)} entries fetched {when})"
            return _FeedResult(cached.entries, (reason,), "error", False)
        return _FeedResult((), (reason,), "error", False)

    def _from_entries(
        self,
        source: SourceConfig,
        entries: Sequence[Entry],
        problems: Sequence[str],
        status: str,
        feed_url: str | None,
        ok: bool = True,
    ) -> _SourceRead:
        health = SourceHealth(
            name=source.name,
            kind="feed",
            location=source.location,
            checked_at=self.now,
            status=status,
            last_success=self._last_success(source, ok),
            items=len(entries),
            missing_dates=sum(1 for e in entries if e.published is None),
            teasers=sum(1 for e in entries if looks_like_teaser(e.paragraphs)),
            feed_url=feed_url,
            problem="; ".join(problems) or None,
        )
        self.state.record_health(health)
        cands = tuple(
            _Candidate(
                Article(
                    id=e.id,
                    title=e.title,
                    source=source.name,
                    # Checked by the parser; again here for entries cached by older versions.
                    url=http_url(e.url),
                    published=e.published,
                    author=e.author,
                    paragraphs=e.paragraphs,
                    image=http_url(e.image),
                    image_alt=e.image_alt,
                ),
                e.canonical_url,
                source,
                False,
            )
            for e in entries
        )
        lines = tuple(f"{_label(source)}: {p}" for p in problems)
        return _SourceRead(source, cands, lines, health)

    # Choosing items.

    def select(
        self,
        reads: Sequence[_SourceRead],
        lst: ListConfig,
        start: datetime,
        last_sent: datetime | None = None,
    ) -> list[_Candidate]:
        """Recent, unsent, one copy each, newest first (the window and the no-repeat rule).

        With `last_sent`, an item first seen after that issue went out is recent too when it
        was published within the look-back before it (its feed was down or stale then)."""
        everything = [c for r in reads for c in r.candidates]
        first_seen = self.state.note_items(
            ((c.article.id, c.canonical) for c in everything), self.now
        )
        sent_ids, sent_urls = self.state.sent_keys(lst.name)

        def when(c: _Candidate) -> datetime:
            return c.article.published or first_seen.get(c.article.id, self.now)

        def recent(c: _Candidate) -> bool:
            if c.from_folder or when(c) >= start:
                return True
            if last_sent is None:
                return False
            late = first_seen.get(c.article.id, self.now) > last_sent
            return late and when(c) >= last_sent - timedelta(hours=lst.lookback_hours)

        per_source: list[_Candidate] = []
        for r in reads:
            fresh = [
                c
                for c in r.candidates
                if c.article.id not in sent_ids
                and (c.canonical is None or c.canonical not in sent_urls)
                and recent(c)
            ]
            fresh.sort(key=when, reverse=True)
            if r.source.max_items:
                fresh = fresh[: r.source.max_items]
            per_source.extend(fresh)

        kept: list[_Candidate] = []
        seen: set[str] = set()
        for c in sorted(per_source, key=lambda c: -_words(c.article.paragraphs)):
            keys = {c.article.id} | ({c.canonical} if c.canonical else set())
            if keys & seen:
                continue
            seen |= keys
            kept.append(c)
        kept.sort(key=when, reverse=True)
        return kept

    # Leads and full text.

    async def with_leads(self, candidates: Sequence[_Candidate], lst: ListConfig) -> list[Article]:
        """Leads for the newest items, fetching pages where needed, until the issue is full."""
        chosen: list[Article] = []
        index = 0
        no_lead: dict[str, int] = {}
        while len(chosen) < lst.max_articles and index < len(candidates):
            batch = candidates[index : index + lst.max_articles - len(chosen)]
            index += len(batch)
            done = await asyncio.gather(*(self._lead(c, lst) for c in batch))
            for c, article in zip(batch, done, strict=True):
                if article.lead:
                    chosen.append(article)
                else:
                    no_lead[_label(c.source)] = no_lead.get(_label(c.source), 0) + 1
        for label, n in no_lead.items():
            line = f"{label}: {n} item(s) had no text to quote as a lead; left out"
            log.warning("%s", line)
            self.late_problems.append(line)
        return chosen

    async def _lead(self, c: _Candidate, lst: ListConfig) -> Article:
        article = summarise(c.article, max_paragraphs=lst.paragraphs, max_words=lst.lead_words)
        try:
            return await self._full_lead(c, lst, article)
        except Exception as exc:  # one odd page must not stop the issue: keep the feed's text
            log.exception("full text of %s failed", redact(c.article.url or c.article.id))
            line = (
                f"{_label(c.source)}: full text of {redact(c.article.url or '')}: unexpected "
                f"error ({type(exc).__name__}); used the feed's text"
            )
            self.late_problems.append(" ".join(line.split()))
            return article

    async def _full_lead(self, c: _Candidate, lst: ListConfig, article: Article) -> Article:
        """The lead from the article page, when the source and the feed's text call for it."""
        mode = c.source.full_text
        if c.from_folder or mode == "never" or not c.canonical:
            return article
        short = len(article.lead) < lst.paragraphs and _words(article.lead) < lst.lead_words
        if mode == "auto" and not short:
            return article
        page = await self._page(c)
        if page is None or not page.paragraphs:
            return article
        full = summarise(
            replace(
                c.article,
                paragraphs=page.paragraphs,
                image=c.article.image or http_url(page.image, c.article.url),
            ),
            max_paragraphs=lst.paragraphs,
            max_words=lst.lead_words,
        )
        if full.lead and (mode == "always" or _words(full.lead) > _words(article.lead)):
            return full
        return article

    async def _page(self, c: _Candidate) -> CachedPage | None:
        """The article page's text, from the cache or fetched; None (with a problem) if not."""
        assert c.canonical is not None and c.article.url is not None
        cached = self.state.cached_page(c.canonical)
        if cached is not None:
            return cached
        r = await self.fetcher.get(c.article.url, accept=PAGE_ACCEPT)
        reason = r.error
        if reason is None and not r.ok:
            reason = f"HTTP {r.status}"
        ctype = r.headers.get("content-type", "text/html").lower()
        if reason is None and "html" not in ctype:
            reason = f"not an HTML page ({ctype.split(';')[0]})"
        if reason is not None:
            url = redact(c.article.url)
            line = " ".join(
                f"{_label(c.source)}: full text of {url}: {reason}; used the feed's text".split()
            )
            log.warning("%s", line)
            self.late_problems.append(line)
            return None
        page = await asyncio.to_thread(extract_html, r.body, r.final_url)
        cached = CachedPage(c.canonical, self.now, page.title, page.paragraphs, page.image)
        self.state.store_page(cached)
        return cached


@dataclass(frozen=True)
class _FeedResult:
    entries: tuple[Entry, ...]
    problems: tuple[str, ...]
    status: str
    ok: bool


@dataclass(frozen=True)
class _Page:
    """The URL answered with an HTML page that links to this feed."""

    feed_url: str
