"""What the scheduler did last for each list, in `<state>/schedule-runs.json`: the outcome of
its last run (so a failed run is shown with its reason), the days that had nothing to send
(so they are not built again every few minutes), and the days reported as missed (so each is
reported once). The send ledger stays the record of what was sent; this file only adds what
the ledger cannot say. Losing it loses nothing that matters: at worst a day is tried again.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from ..fsutil import write_atomic

__all__ = ["RUNS_FILE", "LastRun", "RunLog"]

log = logging.getLogger(__name__)

RUNS_FILE = "schedule-runs.json"
RETRY_AFTER = timedelta(minutes=15)
"""A failed run of a day is tried again (within its grace) no sooner than this."""
KEEP_DAYS = 14

Outcome = Literal["sent", "problems", "nothing", "failed", "stopped", "paused"]
"""`paused`: the list's last issue drew too many complaints; the day is tried again at every
pass (so `--force` or a cleared pause sends it within its grace), said in the log once."""


@dataclass(frozen=True)
class LastRun:
    """One run of a list: the day it was for, when, how it ended, and the one-line reason."""

    day: str
    started: str
    ended: str
    outcome: Outcome
    message: str


class RunLog:
    """The runs file of one state folder; safe to share between the daemon's threads."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / RUNS_FILE
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("%s cannot be read (%s); starting it afresh", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def _entry(self, data: dict[str, Any], list_name: str) -> dict[str, Any]:
        entry = data.setdefault(list_name, {})
        if not isinstance(entry, dict):
            entry = data[list_name] = {}
        return entry

    def last(self, list_name: str) -> LastRun | None:
        raw = self._read().get(list_name, {})
        try:
            return LastRun(**raw["last"]) if isinstance(raw, dict) and "last" in raw else None
        except TypeError:
            return None

    def record(self, list_name: str, run: LastRun) -> None:
        """Note a run's end (and its day, when it had nothing to send)."""
        with self._lock:
            data = self._read()
            entry = self._entry(data, list_name)
            entry["last"] = asdict(run)
            if run.outcome == "nothing":
                entry["nothing"] = _recent([*entry.get("nothing", []), run.day], run.day)
            write_atomic(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def started(self, list_name: str, now: datetime) -> datetime:
        """When scheduling of this list began (the first pass that saw it; noted then)."""
        with self._lock:
            data = self._read()
            entry = self._entry(data, list_name)
            try:
                return datetime.fromisoformat(entry["started"])
            except (KeyError, TypeError, ValueError):
                entry["started"] = now.isoformat()
                write_atomic(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
                return now

    def note_missed(self, list_name: str, day: date) -> bool:
        """Remember a missed day; False if it was reported already."""
        with self._lock:
            data = self._read()
            entry = self._entry(data, list_name)
            days = entry.get("missed", [])
            if day.isoformat() in days:
                return False
            entry["missed"] = _recent([*days, day.isoformat()], day.isoformat())
            write_atomic(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            return True

    def note_paused(self, list_name: str, day: date, issue_id: str) -> bool:
        """Remember that `day`'s run was paused for `issue_id`'s complaints; False if that
        was said already (the pass every minute logs it once a day and issue)."""
        with self._lock:
            data = self._read()
            entry = self._entry(data, list_name)
            said = [day.isoformat(), issue_id]
            if entry.get("paused") == said:
                return False
            entry["paused"] = said
            write_atomic(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
            return True

    def settled_days(self, list_name: str, now: datetime) -> set[date]:
        """Days not to run again now: nothing to send, or failed less than RETRY_AFTER ago."""
        raw = self._read().get(list_name, {})
        if not isinstance(raw, dict):
            return set()
        days = {_day(d) for d in raw.get("nothing", [])}
        last = self.last(list_name)
        if last and last.outcome == "failed":
            ended = datetime.fromisoformat(last.ended)
            if now - ended < RETRY_AFTER:
                days.add(_day(last.day))
        return {d for d in days if d is not None}


def _day(text: object) -> date | None:
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        return None


def _recent(days: list[str], newest: str) -> list[str]:
    """The days of the last KEEP_DAYS before `newest`, sorted, one of each."""
    end = _day(newest)
    kept = {d for d in days if (x := _day(d)) and end and (end - x).days <= KEEP_DAYS}
    return sorted(kept)
