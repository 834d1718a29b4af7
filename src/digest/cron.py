"""`send_at` as a trigger: "07:00" every day, or five cron fields read as cron reads them.

One reader for digest.toml's check and for the scheduler, so a value that loads is one that
runs. APScheduler 3 numbers weekdays from 0 = Monday; cron from 0 = Sunday (7 too), so
weekday numbers and names are translated here. A cron line that restricts both the day of
the month and the weekday means either in cron and both in APScheduler: refused, not guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

__all__ = ["HH_MM", "cron_trigger", "fire_times", "first_on"]

HH_MM = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$", re.ASCII)
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMBER = {name: str(i) for i, name in enumerate(_WEEKDAYS)}


def cron_trigger(text: str, zone: ZoneInfo) -> CronTrigger:
    """The trigger for `text` in `zone`. Raises ValueError saying what is wrong."""
    text = text.strip()
    hm = HH_MM.match(text)
    if hm:
        return CronTrigger(hour=int(hm[1]), minute=int(hm[2]), timezone=zone)
    fields = text.split()
    if len(fields) != 5:
        raise ValueError("it is neither HH:MM nor 5 cron fields")
    minute, hour, day, month, dow = fields
    if day != "*" and dow != "*":
        raise ValueError(
            "it restricts both the day of the month and the weekday, which cron reads as "
            "either and APScheduler as both; restrict one of them"
        )
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=weekdays(dow),
        timezone=zone,
    )


def weekdays(field: str) -> str:
    """Cron's weekday field (numbers 0-7 with 0 and 7 Sunday, or names) as APScheduler's
    weekday names."""
    names: list[str] = []
    for part in field.lower().split(","):
        base, slash, step_text = part.partition("/")
        base = "-".join(_NUMBER.get(p[:3], p) for p in base.split("-"))
        if not (base == "*" or re.fullmatch(r"\d(-\d)?", base)):
            raise ValueError(f"weekday {part!r} is not a weekday, a range or *")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"weekday step {step_text!r} is not a positive number")
        step = int(step_text) if slash else 1
        if base == "*":
            first, last = 0, 6
        else:
            ends = [int(n) for n in base.split("-")]
            first, last = ends[0], (ends[-1] if "-" in base or not slash else 6)
        if not (0 <= first <= last <= 7):
            raise ValueError(f"weekday {part!r} is not a range within 0-7")
        names.extend(_WEEKDAYS[n % 7] for n in range(first, last + 1, step))
    return ",".join(dict.fromkeys(names))


def fire_times(trigger: CronTrigger, start: datetime, zone: ZoneInfo) -> Iterator[datetime]:
    """The trigger's run times from `start` on, as proper times in `zone`, each later than
    the one before (APScheduler's own offsets can be stale on a daylight-saving night, so
    each search starts afresh from the last run time in UTC)."""
    after = start.astimezone(UTC)
    last: datetime | None = None
    while True:
        fire = trigger.get_next_fire_time(None, after.astimezone(zone))
        if fire is None:
            return
        at = fire.astimezone(UTC)
        if last is not None and at <= last:  # never the same run twice
            after = last + timedelta(minutes=1)
            continue
        yield at.astimezone(zone)
        last = at
        after = at + timedelta(microseconds=1)


def first_on(trigger: CronTrigger, zone: ZoneInfo, day: date) -> datetime | None:
    """The trigger's first run on the local date `day` in `zone`, or None when it has none
    that day. A time the clocks skip runs an hour later by the clock (the same instant on the
    old offset); of a time that comes twice, the first."""
    midnight = datetime.combine(day, time(), zone)
    for at in fire_times(trigger, midnight, zone):
        return at if at.date() == day else None
    return None
