"""Reader-local sends: the readers' zones counted from the list file, and the gate a send
streams its readers through, releasing each at their hour (`digest.waves`).

A run releases the readers whose wave has come (or, for a sender that holds mail until a
`send_at`, comes within its `schedule_ahead`); the rest wait and are counted, and the issue
stays unfinished until the last wave, so the next run (the scheduler's pass every minute, or
`digest run-due`) takes it up at `Waiting.resume_at`. The ledger keeps exactly-once: a reader
released by one run is never claimed by the next. A scheduled run that comes more than the
list's grace after a wave (the machine was down) marks that wave's unsent readers failed,
"missed its hour", instead of mailing a morning issue in the evening; `--retry-failed` sends
them if wanted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ..config import ListConfig
from ..deliver.base import Recipient
from ..state.sends import SendLedger, Waiting
from ..subscribers import SubscriberList
from ..waves import reader_zone, wave_at

__all__ = ["WaveGate", "issue_day", "waiting_line", "zone_census"]

_CENSUS: dict[Path, tuple[tuple[int, int], Counter[str]]] = {}
_LATE_BATCH = 500


def zone_census(lst: ListConfig) -> Counter[str]:
    """The list's subscribed readers counted per zone (readers without one under the list's).
    Kept while the file is unchanged, so the scheduler's pass every minute reads it once."""
    path = lst.subscribers
    try:
        st = path.stat()
    except OSError:
        return Counter()
    stamp = (st.st_size, st.st_mtime_ns)
    kept = _CENSUS.get(path)
    if kept and kept[0] == stamp:
        return Counter(kept[1])
    census = Counter(reader_zone(lst, s.timezone) for s in SubscriberList(path).iter_active())
    _CENSUS[path] = (stamp, census)
    return Counter(census)


def issue_day(list_name: str, issue_id: str, *, exact: bool = False) -> date | None:
    """The day of `<list>-YYYY-MM-DD` (with `-sandbox` or `-2` after it too; `exact`: None
    for those, as the scheduler's days are only the day's own issues)."""
    end = "$" if exact else "(?:-|$)"
    m = re.match(rf"^{re.escape(list_name)}-(\d{{4}}-\d{{2}}-\d{{2}}){end}", issue_id)
    if not m:
        return None
    try:
        return date.fromisoformat(m[1])
    except ValueError:
        return None


@dataclass
class WaveGate:
    """Which readers of a reader-local issue a run releases now (see the module's docstring)."""

    lst: ListConfig
    day: date
    now: datetime
    ahead: timedelta
    """How early the sender may take a copy (`Sender.schedule_ahead`)."""
    late_after: timedelta | None
    """A scheduled run's grace: a wave older than this is missed; None (`digest send`): a
    past wave goes now, however late."""
    ledger: SendLedger
    issue_id: str
    waiting: int = 0
    late: int = 0
    _next: datetime | None = None
    _times: dict[str, datetime] = field(default_factory=dict)
    _late: list[tuple[str, str, str]] = field(default_factory=list)

    def at(self, zone: str) -> datetime:
        found = self._times.get(zone)
        if found is None:
            found = self._times[zone] = wave_at(self.lst, self.day, zone)
        return found

    def release(self, readers: Iterable[tuple[Recipient, str]]) -> Iterator[Recipient]:
        """The readers (with their own `timezone`) whose wave has come, each with the
        `send_at` of a wave handed over early; the others are counted or marked late."""
        for r, timezone in readers:
            zone = reader_zone(self.lst, timezone)
            at = self.at(zone)
            if at > self.now + self.ahead:
                self.waiting += 1
                self._next = at if self._next is None else min(self._next, at)
            elif self.late_after is not None and self.now - at > self.late_after:
                self._late.append((r.key, r.email, self._missed(at, zone)))
                if len(self._late) >= _LATE_BATCH:
                    self._mark_late()
            else:
                yield replace(r, send_at=at) if at > self.now else r
        self._mark_late()

    def _missed(self, at: datetime, zone: str) -> str:
        hours = self.late_after.total_seconds() / 3600 if self.late_after else 0
        local = at.astimezone(ZoneInfo(zone))
        return (
            f"missed its hour ({local:%Y-%m-%d %H:%M} {zone}); not sent late, more than "
            f"{hours:g} h after it (--retry-failed sends it)"
        )

    def _mark_late(self) -> None:
        """Mark readers whose wave the run came too late for as failed (those not sent yet)."""
        if not self._late:
            return
        now = self.now
        claim = self.ledger.claim(
            self.lst.name, self.issue_id, [(k, e) for k, e, _ in self._late], now
        )
        if claim is not None:
            why = {k: reason for k, _, reason in self._late}
            self.ledger.mark(
                self.lst.name,
                self.issue_id,
                [(k, "failed", None, why[k]) for k in claim.readers],
                now,
            )
            self.late += len(claim.readers)
        self._late.clear()

    def record(self) -> Waiting | None:
        """What is left for a later run, kept in the ledger; None when every wave is out."""
        if not self.waiting or self._next is None:
            waiting = None
        else:
            waiting = Waiting(self.waiting, self._next, self._next - self.ahead)
        self.ledger.set_waiting(self.lst.name, self.issue_id, waiting)
        return waiting


def waiting_line(w: Waiting) -> str:
    """`120 reader(s) wait for their hour; the next wave at 2026-12-07 12:00 UTC`."""
    return (
        f"{w.readers} reader(s) wait for their hour; the next wave at "
        f"{w.next_wave:%Y-%m-%d %H:%M} UTC"
    )
