"""Daily scheduled sends: each list at its `send_at` in its time zone, exactly once a scheduled
day, with the send ledger as the record of what was sent (`due` decides, `run` sends, `daemon`
keeps doing it; `digest schedule` and `digest run-due` are the commands)."""

from __future__ import annotations

from .daemon import SCHEDULE_LOCK, Daemon
from .due import GRACE, Occurrence, due, grace_for, missed, next_runs, occurrences, trigger_for
from .run import run_due, run_list
from .runs import LastRun, RunLog

__all__ = [
    "GRACE",
    "SCHEDULE_LOCK",
    "Daemon",
    "LastRun",
    "Occurrence",
    "RunLog",
    "due",
    "grace_for",
    "missed",
    "next_runs",
    "occurrences",
    "run_due",
    "run_list",
    "trigger_for",
]
