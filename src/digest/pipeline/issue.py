"""One issue through the stages: sources → gather → group → summarise (`gather`), → compose
(`build_issue`), → preview files (`preview_issue`); and `check_sources` for `digest sources`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

from ..compose import Reader, render
from ..compose.render import check_templates
from ..config import Config, ListConfig
from ..config.topics import category_topics
from ..deliver import PreviewResult, preview_reader, write_preview
from ..errors import NoArticlesError, SourceError
from ..gather import (
    Choice,
    History,
    choose,
    fair_share,
    held_over,
    issue_order,
    newest_first,
    window_start,
)
from ..group import group_choice
from ..models import Digest, Gathered, Held, Issue, Item, Rendered, SourceHealth, SourceRead
from ..sources import Fetcher, FetchLimits, PageReader, Progress, Reading, read_sources
from ..sources.health import report
from ..state import State, open_state
from ..summarise import summarise_items
from ..urls import redact
from .selections import ListSelections, count_selections, issue_for_topics, shown

__all__ = [
    "Issue",
    "build_issue",
    "check_sources",
    "gather",
    "issue_id",
    "preview_issue",
    "preview_selection",
]

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
    """The list's next issue's articles, newest first, each story once (its other copies in
    `Article.also`) with its lead picked (sources → gather → group → summarise). Records
    nothing as sent.

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
        before = state.health.all()  # what this reading's health is compared with
        async with Fetcher(limits) as fetcher:
            t0 = time.perf_counter()
            categories = category_topics(config.topics)
            reading = replace(
                kept_reading(state, fetcher, now),
                categories=categories,
                seen_by="issue",
                polled_since=_polled_since(state, lst, now, since),
            )
            reads = await read_sources(sources, reading, progress)
            state.polled.prune(now, config.keep_days)
            t1 = time.perf_counter()
            history = _history(state, lst.name, reads, now, use_last_sent=since is None)
            start = (
                since.astimezone(UTC)
                if since
                else window_start(history.last_sent, lst.lookback_hours, now)
            )
            choice = choose(
                reads,
                history,
                start=start,
                lookback_hours=lst.lookback_hours,
                now=now,
                hold_hours=lst.hold_over_hours,
            )
            chosen = choice.items
            rules = partial(
                choose,
                history=history,
                start=start,
                lookback_hours=lst.lookback_hours,
                now=now,
                hold_hours=lst.hold_over_hours,
            )
            fresh = _tell(reads, before, chosen, rules)
            # One story, one slot: copies of a story under other URLs become its `also`.
            choice = group_choice(choice)
            t2 = time.perf_counter()
            pages = PageReader(fetcher, state.pages, now)
            # A full issue takes a fair share of each source, then shows them newest first.
            summed = await summarise_items(
                fair_share(choice.items), lst.lead, lst.max_articles, pages
            )
            log.info(
                "%s. Read in %.2f s, chosen in %.2f s, leads in %.2f s",
                _summary(reads, fresh, chosen, len(choice.items), len(summed.articles), lst),
                t1 - t0,
                t2 - t1,
                time.perf_counter() - t2,
            )
    # One line each, whatever an exception or a server put in them.
    problems = [" ".join(p.split()) for r in reads for p in r.problems] + list(summed.problems)
    return Gathered(
        articles=issue_order(summed.articles, choice),
        problems=tuple(problems),
        since=start,
        sources=tuple(r.health for r in reads),
        held_over=held_over(summed.left, choice),
        carried=choice.carried,
        dropped=len(choice.dropped),
        kept_until=choice.until,
    )


def _polled_since(state: State, lst: ListConfig, now: datetime, since: datetime | None) -> datetime:
    """Since when the entries polls saw count for this issue: the window's start (the list's
    last issue, or `since`), and at least the hold, so a story held over that rotated out of
    its feed still comes back. Gathering's rules then decide as for any item."""
    last = None if since else state.sent.last_sent(lst.name)
    start = since.astimezone(UTC) if since else window_start(last, lst.lookback_hours, now)
    return min(start, now - timedelta(hours=lst.hold_over_hours))


def _tell(
    reads: Sequence[SourceRead],
    before: Mapping[str, SourceHealth],
    chosen: Sequence[Item],
    pick: Callable[[Sequence[SourceRead]], Choice],
) -> list[int]:
    """Say what each source gave (INFO: -v) and its problems, as warnings only when its health
    changed since it was last read (the rule is in `sources.health`), then one line pointing at
    `digest sources check`. `pick` is the gathering's choice; run on one source without its
    `max_items`, it counts the source's new items. Returns each source's count."""
    counts, warned = [], 0
    for r in reads:
        counts.append(len(pick([replace(r, source=replace(r.source, max_items=None))]).items))
        kept = sum(1 for i in chosen if i.source is r.source)
        warned += report(r, before.get(r.source.location), counts[-1], kept)
    if warned:
        log.warning(
            "%d source problem(s), new since the last run; each is said again only when it "
            "changes, and `digest sources check` lists them all",
            warned,
        )
    return counts


def _summary(
    reads: Sequence[SourceRead],
    fresh: Sequence[int],
    chosen: Sequence[Item],
    stories: int,
    led: int,
    lst: ListConfig,
) -> str:
    """`3 sources: 43 items, 8 new, 6 kept (5 stories), 5 with a lead (max_articles 20); 1
    source failing: Town Notes (last success 2026-11-24 07:00 UTC)`."""
    n, items = len(reads), sum(len(r.items) for r in reads)
    grouped = f" ({stories} stories)" if stories < len(chosen) else ""
    line = (
        f"{n} source{'' if n == 1 else 's'}: {items} item{'' if items == 1 else 's'}, "
        f"{sum(fresh)} new, {len(chosen)} kept{grouped}, {led} with a lead "
        f"(max_articles {lst.max_articles})"
    )
    down = [r.health for r in reads if r.health.status == "error"]
    if down:
        named = ", ".join(
            f"{redact(h.name)} (last success {h.last_success:%Y-%m-%d %H:%M UTC})"
            if h.last_success
            else f"{redact(h.name)} (never read)"
            for h in down
        )
        line += f"; {len(down)} source{'' if len(down) == 1 else 's'} failing: {named}"
    return line


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
        sent_times=_sent_times(state, list_name) if use_last_sent else (),
    )


def _sent_times(state: State, list_name: str) -> tuple[datetime, ...]:
    """When each issue of the list went out, oldest first (what the hold-over rule asks)."""
    db = state.sent.db
    rows = db.conn.execute("SELECT sent_at FROM issues WHERE list = ?", (list_name,))
    return tuple(sorted(db.read_time(r[0], "issues", "sent_at") for r in rows))


def kept_reading(state: State, fetcher: Fetcher, now: datetime) -> Reading:
    """A reading of sources whose answers the state keeps: the feed cache, each source's
    health and what polls saw (a poll round's; an issue's and a check's add their parts)."""
    return Reading(
        fetcher, state.feeds, state.health, now, polled=state.polled, poll_times=state.poll_times
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
            before = state.health.all()
            async with Fetcher(limits) as fetcher:
                reading = replace(kept_reading(state, fetcher, when), ask_anyway=True)
                reads = await read_sources(config.sources, reading, progress)
        for r in reads:  # the table lists the problems: here only the story (-v)
            report(r, before.get(r.source.location), problems=False)
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
    ledger_id: str | None = None,
) -> Issue:
    """Gather, summarise and render the next issue of `lst`. Records nothing. `day` is the
    issue's local date (a scheduled send caught up after midnight is still that day's);
    `ledger_id` the id a send records it under, when not the day's own (`--new-issue`)."""
    check_templates(lst.compose, config.templates_dir)  # a template typo before any fetch
    now = now or datetime.now(UTC)
    found = gather(config, lst, now=now, since=since, progress=progress)
    if not found.articles:
        names = ", ".join(s.name for s in config.sources_for(lst)) or "none configured"
        raise NoArticlesError(
            f"no new articles for list {lst.name!r} (sources: {names})",
            "Add article files or feeds to digest.toml, or widen the window with --since.",
        )
    this = issue_id(lst, now, day)
    digest = Digest(
        list_name=lst.name,
        issue_id=this,
        date=day or now.astimezone(lst.zone).date(),
        title=lst.title,
        articles=found.articles,
        number=_number(config, lst, ledger_id or this, now, sending=ledger_id is not None),
    )
    rendered = render(digest, lst.compose, config.templates_dir)
    return Issue(
        digest=digest,
        rendered=rendered,
        problems=found.problems,
        held_over=_left_out(found, rendered),
        carried=sum(a.id in found.carried for a in found.articles[: rendered.articles_included]),
        dropped=found.dropped,
    )


def _number(config: Config, lst: ListConfig, this: str, now: datetime, *, sending: bool) -> int:
    """The issue's number: one more than the list's earlier issues that reached a reader
    (the send ledger says). A rerun or resend of the same day's issue keeps its number, and a
    preview shows the number the next send would have: the day's own while it is unfinished,
    the next one once the day's issue went out (the next send is then another issue)."""
    with open_state(config.state_dir) as state:
        own = sending or state.sends.unfinished(lst.name) == this
        return 1 + state.sends.issues_sent(lst.name, now, but=this if own else "")


def _left_out(found: Gathered, rendered: Rendered) -> tuple[Held, ...]:
    """Every story the issue leaves for later: no room (`max_articles`, `max_items`), or left
    out for size (the last ones; not sent, so offered again like the others)."""
    cut = found.articles[rendered.articles_included :]
    for_size = tuple(Held(a, found.kept_until.get(a.id)) for a in cut)
    return newest_first(for_size + found.held_over)


def preview_issue(
    config: Config,
    lst: ListConfig,
    out: Path,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    progress: Progress | None = None,
    reader: Reader | None = None,
    topics: Sequence[str] | None = None,
) -> PreviewResult:
    """Build the next issue and write it into `out` as `.html`, `.txt` and `.eml`, addressed
    to `reader` (default: the list's own sender, with a clearly fake unsubscribe link); with
    `topics`, as the readers of those topics get it."""
    return preview_selection(
        config, lst, out, now=now, since=since, progress=progress, reader=reader, topics=topics
    )[0]


def preview_selection(
    config: Config,
    lst: ListConfig,
    out: Path,
    *,
    now: datetime | None = None,
    since: datetime | None = None,
    progress: Progress | None = None,
    reader: Reader | None = None,
    topics: Sequence[str] | None = None,
    count: bool = False,
) -> tuple[PreviewResult, ListSelections | None]:
    """`preview_issue`, and with `count` the list's readers counted by the selection of the
    issue they get (the CSV streamed once)."""
    now = now or datetime.now(UTC)
    whole = build_issue(config, lst, now=now, since=since, progress=progress)
    issue = issue_for_topics(whole, config, lst, topics) if topics else whole
    selections = count_selections(shown(whole), lst, lst.for_everyone) if count else None
    reader = reader or preview_reader(config.base_url, lst.name, lst.sender)
    web = web_url(config, lst, issue.digest.issue_id)
    for warning in issue.rendered.warnings:  # the sources' problems were said when read
        log.warning("%s", warning)
    result = write_preview(issue, out, sender=lst.sender, reader=reader, now=now, web_url=web)
    return result, selections


def web_url(config: Config, lst: ListConfig, ledger_id: str) -> str:
    """Where `digest serve` shows the issue (its "view in browser" link), if the list keeps
    an archive."""
    return f"{config.base_url}/issues/{ledger_id}" if lst.archive else ""
