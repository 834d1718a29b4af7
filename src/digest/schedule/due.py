"""When each list's issue is due: its run times from `send_at` and its time zone, and which day
is due now or was missed, given the days the ledger already has. Pure: no clock, no files.

A list has at most one issue a scheduled day, keyed by the local date of its run time
(`<list>-YYYY-MM-DD`). The first run time of a local day sends that day's issue; later ones the
same day (a cron expression with two hours, or 01:30 twice on the night the clocks go back)
find it in the ledger and do nothing. A time that does not exist that night (01:30 in London on
the last Sunday of March, 02:30 in New York on the second Sunday of March) runs one hour later
by the clock (02:30 BST, 03:30 EDT): the same instant as the planned time on the old offset.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from apscheduler.triggers.cron import CronTrigger

from ..config import ListConfig
from ..cron import cron_trigger, fire_times
from ..errors import ConfigError
from ..waves import wave_at

__all__ = [
    "GRACE",
    "Occurrence",
    "due",
    "grace_for",
    "hours_text",
    "missed",
    "next_runs",
    "occurrences",
    "trigger_for",
]

GRACE = timedelta(hours=6)
"""How late a run may still send its day's issue (a daemon down or asleep at the hour)."""
MISSED_LOOKBACK = timedelta(days=2)
"""How far back a day is reported as missed."""


@dataclass(frozen=True)
class Occurrence:
    """One scheduled run: the local date whose issue it sends, and when (in the list's zone)."""

    day: date
    at: datetime
    until: datetime | None = None
    """A reader-local day's last wave; None when `at` is the day's only run."""

    @property
    def utc(self) -> datetime:
        return self.at.astimezone(UTC)

    @property
    def end(self) -> datetime:
        """When the day's last reader is due: the grace counts from here."""
        return self.until or self.at


def grace_for(lst: ListConfig) -> timedelta:
    """The list's grace: `grace_hours` in digest.toml (default 6: `GRACE`)."""
    return timedelta(hours=lst.grace_hours)


def hours_text(span: timedelta) -> str:
    """A grace as people write it: `6 h`, `1.5 h`."""
    return f"{span.total_seconds() / 3600:g} h"


def trigger_for(lst: ListConfig) -> CronTrigger:
    """The list's `send_at` as a trigger in its zone (see `digest.cron`)."""
    try:
        return cron_trigger(lst.send_at, lst.zone)
    except ValueError as exc:
        raise _bad_send_at(lst, str(exc)) from None


def _bad_send_at(lst: ListConfig, why: str) -> ConfigError:
    return ConfigError(
        f"lists.{lst.name}.send_at: {lst.send_at!r} is not a schedule ({why})",
        'use HH:MM ("07:00") or a cron expression ("0 7 * * 1-5" for weekdays at 07:00)',
    )


def _first_of_each_day(
    lst: ListConfig, start: datetime, zones: Collection[str] = ()
) -> Iterator[Occurrence]:
    """The first run of each local day, from the day `start` falls on (so the second 01:30
    of the night the clocks go back is never taken for its day's first). A reader-local list
    with readers' `zones` runs at each day's first wave, which for readers east of the list
    can fall on the list's day before: the days are searched from two days earlier."""
    if lst.reader_local and zones:
        for occ in _first_of_each_day(lst, start - timedelta(days=2)):
            times = [wave_at(lst, occ.day, z) for z in set(zones)]
            first, last = min(times).astimezone(lst.zone), max(times).astimezone(lst.zone)
            yield Occurrence(occ.day, first, last)
        return
    zone = lst.zone
    midnight = datetime.combine(start.astimezone(zone).date(), time(), zone)
    seen: set[date] = set()
    for at in fire_times(trigger_for(lst), midnight, zone):
        if at.date() not in seen:
            seen.add(at.date())
            yield Occurrence(at.date(), at)


def occurrences(
    lst: ListConfig, start: datetime, end: datetime, zones: Collection[str] = ()
) -> list[Occurrence]:
    """The list's runs from `start` to `end` (both included), the first of each local day; a
    reader-local day counts while any of its waves is in the span."""
    found = []
    for occ in _first_of_each_day(lst, start, zones):
        if occ.at > end:
            break
        if occ.end >= start:
            found.append(occ)
    return found


def next_runs(
    lst: ListConfig, now: datetime, count: int = 3, zones: Collection[str] = ()
) -> list[Occurrence]:
    """The list's next `count` scheduled days after `now`."""
    runs: list[Occurrence] = []
    for occ in _first_of_each_day(lst, now, zones):
        if len(runs) == count:
            break
        if occ.at > now:
            runs.append(occ)
    return runs


def due(
    lst: ListConfig,
    now: datetime,
    sent_days: Collection[date],
    grace: timedelta,
    zones: Collection[str] = (),
) -> Occurrence | None:
    """The run due at `now`: the latest one not after `now`, no older than `grace`, whose day
    the ledger does not have yet. None when nothing is due. `zones`: a reader-local list's
    readers' zones (its day starts at its first wave and is due until its last wave's grace
    ends: the waves the machine slept through are marked missed, the others still go)."""
    recent = occurrences(lst, now - grace, now, zones)
    if not recent:
        return None
    latest = recent[-1]
    return None if latest.day in sent_days else latest


def missed(
    lst: ListConfig,
    now: datetime,
    sent_days: Collection[date],
    grace: timedelta,
    zones: Collection[str] = (),
) -> list[Occurrence]:
    """Runs of the last two days that are past their grace and whose day was never sent, or
    that a later run overtook (their issue is not sent late)."""
    window = occurrences(lst, now - MISSED_LOOKBACK - grace, now, zones)
    current = due(lst, now, (), grace, zones)
    return [
        o
        for o in window
        if o.day not in sent_days and (now - o.end > grace or (current and o.day < current.day))
    ]
