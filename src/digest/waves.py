"""Reader-local delivery (`deliver = "reader-local"`): when each reader's copy of a day's issue
is due. Pure: no clock, no files.

A reader in zone Z gets the issue of day D at the list's `send_at` on the local date D in Z
(the CSV's `timezone`, else the list's own). Readers whose hour falls on one instant form a
wave (Europe/Berlin and Europe/Paris at 07:00 are one); the issue is composed once, at the
day's first wave, and each later wave takes the same frozen issue. Daylight-saving nights
follow `cron.first_on`: a skipped time runs an hour later by the clock, a repeated one once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from .config import ListConfig
from .cron import cron_trigger, first_on

__all__ = ["Wave", "plan", "reader_zone", "wave_at"]


@dataclass(frozen=True)
class Wave:
    """The readers due at one instant: their zones and how many they are."""

    at: datetime
    """In UTC."""
    zones: tuple[str, ...]
    readers: int


def reader_zone(lst: ListConfig, timezone: str) -> str:
    """The zone a reader's copy follows: their own, else the list's."""
    return timezone or lst.timezone


@lru_cache(maxsize=512)
def _trigger(send_at: str, zone: str) -> CronTrigger:
    return cron_trigger(send_at, ZoneInfo(zone))


def wave_at(lst: ListConfig, day: date, zone: str) -> datetime:
    """When readers in `zone` get the issue of `day` (UTC). A schedule with no run that day
    in that zone (weekdays only, and the zone's date is a Saturday) follows the list's zone."""
    at = first_on(_trigger(lst.send_at, zone), ZoneInfo(zone), day)
    if at is None and zone != lst.timezone:
        at = first_on(_trigger(lst.send_at, lst.timezone), lst.zone, day)
    if at is None:  # the list itself has no run that day: at its midnight, sent when asked
        at = datetime.combine(day, datetime.min.time(), lst.zone)
    return at.astimezone(UTC)


def plan(lst: ListConfig, day: date, census: Mapping[str, int]) -> list[Wave]:
    """The day's waves for readers counted per zone (`census`), in order."""
    by_time: dict[datetime, list[tuple[str, int]]] = {}
    for zone, readers in census.items():
        by_time.setdefault(wave_at(lst, day, zone), []).append((zone, readers))
    return [
        Wave(at, tuple(sorted(z for z, _ in parts)), sum(n for _, n in parts))
        for at, parts in sorted(by_time.items())
    ]
