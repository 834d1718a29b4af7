"""One round of polling (issue 17): read each feed source that is due, keep what it shows in
the state (`state.polled`), prune what is past `keep_days`, and stop. `digest poll` runs one
round and exits (cron, a systemd timer); `digest schedule` runs one every minute, which reads
only the sources whose time has come.

A source is due when it was never read, or its last reading (a poll's or an issue's) is older
than the longer of its `poll_minutes` and its feed's own hint. One round at a time per
newsletter folder (`poll.lock`): a second one, from cron beside the daemon, skips its turn."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..config import Config, SourceConfig
from ..errors import DigestError
from ..fsutil import only_one
from ..sources import Fetcher, FetchLimits, Progress, read_sources
from ..sources.health import report
from ..state import State, open_state
from .issue import kept_reading

__all__ = [
    "POLL_LOCK",
    "PollBusy",
    "PollReport",
    "SourcePoll",
    "caught_by_polling",
    "due_sources",
    "poll_sources",
]

log = logging.getLogger(__name__)

POLL_LOCK = "poll.lock"


class PollBusy(DigestError):
    """Another poll round holds the folder's poll lock."""


@dataclass(frozen=True)
class SourcePoll:
    """What one source gave this round."""

    name: str
    location: str
    status: str
    items: int
    new: int
    problems: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class PollReport:
    """A round: the sources read, those not due (with when they are), and what was pruned."""

    polled: tuple[SourcePoll, ...]
    not_due: tuple[tuple[str, datetime], ...]
    pruned: int

    def as_json(self) -> dict[str, object]:
        return {
            "polled": [p.as_json() for p in self.polled],
            "not_due": [{"name": n, "next": at.isoformat()} for n, at in self.not_due],
            "pruned": self.pruned,
        }


def poll_lock(state_dir: Path) -> AbstractContextManager[None]:
    """One poll round per state folder at a time; a second is refused at once."""
    return only_one(
        state_dir / POLL_LOCK,
        lambda: PollBusy(
            f"another poll round is under way on {state_dir}",
            "It reads what is due; this one skips its turn.",
        ),
    )


def due_sources(
    config: Config, state: State, now: datetime, *, every_source: bool = False
) -> tuple[tuple[SourceConfig, ...], tuple[tuple[str, datetime], ...]]:
    """The feed sources to read now, and the others' next times. `every_source` reads every
    polled source whatever its time (`digest poll --all`); `poll_minutes = 0` is never polled."""
    due: list[SourceConfig] = []
    later: list[tuple[str, datetime]] = []
    for s in config.sources:
        if s.kind != "feed" or s.poll_minutes == 0:
            continue
        at = state.poll_times.next_at(s.location, timedelta(minutes=s.poll_minutes))
        if every_source or at is None or at <= now:
            due.append(s)
        else:
            later.append((s.name, at))
    return tuple(due), tuple(later)


def poll_sources(
    config: Config,
    *,
    now: datetime | None = None,
    limits: FetchLimits | None = None,
    every_source: bool = False,
    progress: Progress | None = None,
) -> PollReport:
    """One round: read the due feed sources, keep their entries, prune the old ones. Raises
    PollBusy when another round is under way, StateError when the state cannot be opened."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    with poll_lock(config.state_dir):
        return asyncio.run(_round(config, when, limits, every_source, progress))


async def _round(
    config: Config,
    now: datetime,
    limits: FetchLimits | None,
    every_source: bool,
    progress: Progress | None,
) -> PollReport:
    with open_state(config.state_dir) as state:
        due, later = due_sources(config, state, now, every_source=every_source)
        polled: list[SourcePoll] = []
        if due:
            before = state.health.all()
            known = _known(state, due)
            async with Fetcher(limits) as fetcher:
                reads = await read_sources(due, kept_reading(state, fetcher, now), progress)
            for r in reads:
                # First sightings now, so an undated item counts as published when polled.
                state.items.note(((i.article.id, i.canonical) for i in r.items), now)
                report(r, before.get(r.source.location))
                new = sum(1 for i in r.items if i.article.id not in known[r.source.location])
                polled.append(
                    SourcePoll(
                        r.source.name,
                        r.source.location,
                        r.health.status,
                        len(r.items),
                        new,
                        r.problems,
                    )
                )
        # A round that read nothing (the daemon's every minute, mostly) leaves pruning to the
        # next one that did: the state only grows when something was read.
        pruned = state.polled.prune(now, config.keep_days) if polled else 0
    if pruned:
        log.info("pruned %d polled item(s) older than %d days", pruned, config.keep_days)
    return PollReport(tuple(polled), later, pruned)


def caught_by_polling(config: Config, now: datetime | None = None) -> dict[str, int]:
    """Per source location, how many items only polling caught within `keep_days`: seen by a
    poll, gone from the feed by its latest reading, never seen by an issue's own reading."""
    when = (now or datetime.now(UTC)).astimezone(UTC)
    with open_state(config.state_dir) as state:
        keep = config.keep_days
        return {
            s.location: state.polled.caught(s.location, _last_read(state, s, when), keep)
            for s in config.sources
            if s.kind == "feed"
        }


def _last_read(state: State, source: SourceConfig, now: datetime) -> datetime:
    """When the source was last read (what the feed shows "now"), else `now`."""
    for location, at in state.poll_times.all():
        if location == source.location and at is not None:
            return at
    return now


def _known(state: State, sources: tuple[SourceConfig, ...]) -> dict[str, frozenset[str]]:
    """The ids each source's feed showed before this round (to count what is new)."""
    return {s.location: state.polled.ids(s.location) for s in sources}
