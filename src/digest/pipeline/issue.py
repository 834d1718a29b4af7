"""One issue through the stages: sources → gather → summarise (`gather`), → compose
(`build_issue`), → preview files (`preview_issue`); and `check_sources` for `digest sources`."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, date, datetime
from pathlib import Path

from ..compose import render
from ..config import Config, ListConfig
from ..deliver import PreviewResult, preview_reader, write_preview
from ..errors import NoArticlesError, SourceError
from ..gather import History, choose, window_start
from ..models import Digest, Gathered, Issue, SourceHealth, SourceRead
from ..sources import Fetcher, FetchLimits, PageReader, Progress, Reading, read_sources
from ..state import State, open_state
from ..summarise import summarise_items

__all__ = ["Issue", "build_issue", "check_sources", "gather", "issue_id", "preview_issue"]

log = logging.getLogger(__name__)

_NO_SOURCES_HINT = 'Add a [[sources]] block with `feed = "https://…"` or `folder = "articles"`.'


def issue_id(lst: ListConfig, now: datetime, day: date | None = None) -> str:
    """Deterministic per list and local day (`day`, else today in the list's zone), so a
    rerun of the same day is the same issue."""
    return f"{lst.name}-{(day or now.astimezone(lst.zone).date()).isoformat()}"


def gather(
    config: Config,
    lst: ListConfig,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    limits: FetchLimits | None = None,
    progress: Progress | None = None,
) -> Gathered:
    """The list's next issue's articles, newest first, each with its lead picked
    (sources → gather → summarise). Records nothing as sent.

    Never raises for a bad feed (see `Gathered.problems`); raises SourceError only when the
    list has no sources at all or the state database cannot be opened.
    """
    when = (now or datetime.now(UTC)).astimezone(UTC)
    if not config.sources_for(lst):
        raise SourceError(f"{config.path}: list {lst.name!r} has no sources", _NO_SOURCES_HINT)
    return asyncio.run(_gather(config, lst, when, since, limits, progress))


async def _gather(
    config: Config,
    lst: ListConfig,
    now: datetime,
    since: datetime | None,
    limits: FetchLimits | None,
    progress: Progress | None,
) -> Gathered:
    sources = config.sources_for(lst)
    with open_state(config.state_dir) as state:
        async with Fetcher(limits) as fetcher:
            t0 = time.perf_counter()
            reading = Reading(fetcher, state.feeds, state.health, now)
            reads = await read_sources(sources, reading, progress)
            t1 = time.perf_counter()
            history = _history(state, lst.name, reads, now, use_last_sent=since is None)
            start = (
                since.astimezone(UTC)
                if since
                else window_start(history.last_sent, lst.lookback_hours, now)
            )
            chosen = choose(reads, history, start=start, lookback_hours=lst.lookback_hours, now=now)
            t2 = time.perf_counter()
            pages = PageReader(fetcher, state.pages, now)
            summed = await summarise_items(chosen, lst.lead, lst.max_articles, pages)
            log.info(
                "read %d sources in %.2f s, chose %d new items in %.2f s, leads in %.2f s",
                len(sources),
                t1 - t0,
                len(chosen),
                t2 - t1,
                time.perf_counter() - t2,
            )
    # One line each, whatever an exception or a server put in them.
    problems = [" ".join(p.split()) for r in reads for p in r.problems] + list(summed.problems)
    return Gathered(
        articles=summed.articles,
        problems=tuple(problems),
        since=start,
        sources=tuple(r.health for r in reads),
    )


def _history(
    state: State,
    list_name: str,
    reads: tuple[SourceRead, ...],
    now: datetime,
    *,
    use_last_sent: bool,
) -> History:
    """What gathering needs from the state: first sightings (noted now), and what was sent."""
    items = [i for r in reads for i in r.items]
    first_seen = state.items.note(((i.article.id, i.canonical) for i in items), now)
    sent = state.sent.sent_keys(list_name)
    return History(
        last_sent=state.sent.last_sent(list_name) if use_last_sent else None,
        sent_ids=sent.ids,
        sent_urls=sent.urls,
        first_seen=first_seen,
    )


def check_sources(
    config: Config,
    *,
    now: datetime | None = None,
    limits: FetchLimits | None = None,
    progress: Progress | None = None,
) -> tuple[SourceHealth, ...]:
    """Read every configured source now (conditional GET) and report its health."""
    if not config.sources:
        raise SourceError(f"{config.path}: no sources are configured", _NO_SOURCES_HINT)
    when = (now or datetime.now(UTC)).astimezone(UTC)

    async def run() -> tuple[SourceHealth, ...]:
        with open_state(config.state_dir) as state:
            async with Fetcher(limits) as fetcher:
                reading = Reading(fetcher, state.feeds, state.health, when)
                reads = await read_sources(config.sources, reading, progress)
        return tuple(r.health for r in reads)

    return asyncio.run(run())


def build_issue(
    config: Config,
    lst: ListConfig,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    progress: Progress | None = None,
    day: date | None = None,
) -> Issue:
    """Gather, summarise and render the next issue of `lst`. Records nothing. `day` is the
    issue's local date (a scheduled send caught up after midnight is still that day's)."""
    now = now or datetime.now(UTC)
    found = gather(config, lst, now=now, since=since, progress=progress)
    if not found.articles:
        names = ", ".join(s.name for s in config.sources_for(lst)) or "none configured"
        raise NoArticlesError(
            f"no new articles for list {lst.name!r} (sources: {names})",
            "Add article files or feeds to digest.toml, or widen the window with --since.",
        )
    digest = Digest(
        list_name=lst.name,
        issue_id=issue_id(lst, now, day),
        date=day or now.astimezone(lst.zone).date(),
        title=lst.title,
        articles=found.articles,
    )
    rendered = render(digest, lst.compose, config.templates_dir)
    return Issue(digest=digest, rendered=rendered, problems=found.problems)


def preview_issue(
    config: Config,
    lst: ListConfig,
    out: Path,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    progress: Progress | None = None,
) -> PreviewResult:
    """Build the next issue and write it into `out` as `.html`, `.txt` and `.eml`."""
    now = now or datetime.now(UTC)
    issue = build_issue(config, lst, now=now, since=since, progress=progress)
    reader = preview_reader(config.base_url, lst.name, lst.sender)
    web = web_url(config, lst, issue.digest.issue_id)
    return write_preview(issue, out, sender=lst.sender, reader=reader, now=now, web_url=web)


def web_url(config: Config, lst: ListConfig, ledger_id: str) -> str:
    """Where `digest serve` shows the issue (its "view in browser" link), if the list keeps
    an archive."""
    return f"{config.base_url}/issues/{ledger_id}" if lst.archive else ""
