"""`digest schedule`: a foreground service that sends each list at its hour.

APScheduler (3.x, in-memory jobs) wakes a job per list at its run time; every minute a check
job runs the same pass as `digest run-due`, so a daemon started late, a machine back from
sleep or a clock that jumped catches up from the send ledger, not from APScheduler's memory.
The first check runs at start-up. A poll job, also every minute, reads the feed sources whose
`poll_minutes` (and feed hint) has come round (`pipeline.poll`), so an issue has what busy feeds
showed between issues. Sends run in the scheduler's worker threads; the main thread
waits for SIGTERM or Ctrl-C, then asks the running send to stop after its current batch and
waits for it, so the ledger is left with no batch claimed.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from ..config import Config, ListConfig
from ..errors import DigestError
from ..fsutil import only_one
from ..list_health import pause_for
from ..pipeline.health import last_issue_health
from ..pipeline.poll import PollBusy, poll_sources
from ..pipeline.waves import zone_census
from ..state import open_state
from ..urls import redact
from .due import grace_for, hours_text, next_runs, trigger_for
from .run import run_list
from .runs import RunLog

__all__ = ["SCHEDULE_LOCK", "Daemon", "SchedulerBusy", "schedule_lock"]

log = logging.getLogger(__name__)

SCHEDULE_LOCK = "schedule.lock"
CHECK_EVERY = timedelta(minutes=1)
JUMP = timedelta(seconds=30)
"""A difference this big between the wall clock and the monotonic clock is a jump or a sleep."""

Clock = Callable[[], datetime]


class SchedulerBusy(DigestError):
    """Another scheduler holds the folder's schedule lock."""


def schedule_lock(state_dir: Path) -> AbstractContextManager[None]:
    """One scheduler (daemon or run-due) per state folder; a second one is refused at once."""
    return only_one(
        state_dir / SCHEDULE_LOCK,
        lambda: SchedulerBusy(
            f"another `digest schedule` (or `run-due`) is running on {state_dir}",
            "One scheduler per newsletter folder: stop the other one first.",
        ),
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Daemon:
    """The scheduler of one newsletter folder. `run()` blocks until `stop` is set (SIGTERM
    and SIGINT set it when `run` installs its handlers)."""

    def __init__(self, config: Config, clock: Clock = _utcnow, *, force: bool = False) -> None:
        self.config = config
        self.clock = clock
        self.stop = threading.Event()
        self.runs = RunLog(config.state_dir)
        self._busy = {name: threading.Lock() for name in config.lists}
        self._last: tuple[datetime, float] | None = None
        self._forced = self._overrides() if force else {}
        """`--force`: each list paused now, and the issue whose complaints paused it. The
        override holds until that list's next issue goes out; a later pause (a new issue's
        complaints) stops the daemon's sends again."""

    def _overrides(self) -> dict[str, str]:
        forced = {}
        with open_state(self.config.state_dir) as state:
            for name in self.config.lists:
                pause = pause_for(last_issue_health(state, name))
                if pause is not None:
                    forced[name] = pause.issue.issue_id
                    log.warning("%s; --force: its next issue goes out anyway", pause.message)
        if not forced:
            log.info("--force: no list is paused")
        return forced

    def _force(self, lst: ListConfig) -> bool:
        """Whether `--force` still holds for the list: its pause is still the one forced."""
        issue = self._forced.get(lst.name)
        if issue is None:
            return False
        with open_state(self.config.state_dir) as state:
            last = last_issue_health(state, lst.name)
        if last is None or last.issue_id != issue:
            self._forced.pop(lst.name, None)  # its next issue went out: the override is used
            return False
        return True

    def run(self, *, handle_signals: bool = True) -> None:
        """Hold the folder's schedule lock, schedule every list, wait for a stop."""
        for lst in self.config.lists.values():
            trigger_for(lst)  # a bad send_at is one line before anything starts
        with schedule_lock(self.config.state_dir):
            if handle_signals:
                self._install_signals()
            scheduler = self._scheduler()
            scheduler.start()
            self._log_start()
            while not self.stop.wait(1.0):
                pass
            log.info("stopping: a send under way ends after its current batch")
            scheduler.shutdown(wait=True)
            log.info("stopped")

    def _scheduler(self) -> BackgroundScheduler:
        workers = ThreadPoolExecutor(max_workers=len(self.config.lists) + 2)
        scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": workers},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        for lst in self.config.lists.values():
            scheduler.add_job(
                self._scheduled,
                trigger_for(lst),
                args=[lst.name],
                id=f"send-{lst.name}",
                name=f"send {lst.name}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=int(grace_for(lst).total_seconds()),
            )
        scheduler.add_job(
            self.check,
            IntervalTrigger(seconds=CHECK_EVERY.total_seconds(), timezone=UTC),
            id="catch-up",
            name="catch up from the ledger",
            next_run_time=datetime.now(UTC),  # the start-up pass
            coalesce=True,
            max_instances=1,
        )
        if any(s.kind == "feed" and s.poll_minutes for s in self.config.sources):
            scheduler.add_job(
                self.poll,
                IntervalTrigger(seconds=CHECK_EVERY.total_seconds(), timezone=UTC),
                id="poll",
                name="poll the feeds that are due",
                next_run_time=datetime.now(UTC),
                coalesce=True,
                max_instances=1,
            )
        return scheduler

    def poll(self) -> None:
        """One poll round: the feed sources whose time has come (most passes read none)."""
        if self.stop.is_set():
            return
        try:
            report = poll_sources(self.config, now=self.clock())
        except PollBusy:  # `digest poll` from cron beside the daemon: it reads what is due
            return
        except DigestError as exc:
            log.error("polling: %s", str(exc).replace("\n ", ";"))
            return
        except Exception:  # a bug: logged in full, and the next round still happens
            log.exception("polling failed unexpectedly")
            return
        for p in report.polled:
            log.info("polled %s: %s, %d item(s), %d new", redact(p.name), p.status, p.items, p.new)

    def _install_signals(self) -> None:
        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if self.stop.is_set():
                log.warning("already stopping: the batch in flight is finishing")
            self.stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def _log_start(self) -> None:
        now = self.clock()
        for lst in self.config.lists.values():
            runs = next_runs(lst, now, 1, zone_census(lst) if lst.reader_local else ())
            nxt = f"{runs[0].at:%Y-%m-%d %H:%M %Z}" if runs else "never"
            log.info(
                "scheduled %s: %s %s%s, grace %s; next run %s",
                lst.name,
                lst.send_at,
                lst.timezone,
                " (each reader in their own zone, in waves)" if lst.reader_local else "",
                hours_text(grace_for(lst)),
                nxt,
            )
        log.info("digest schedule started (state in %s)", self.config.state_dir)

    def _scheduled(self, name: str) -> None:
        """A list's own job, at its run time."""
        self._run(self.config.lists[name])

    def check(self) -> None:
        """The catch-up pass: every list, from the ledger (at start-up, then every minute)."""
        self._note_jump()
        for lst in self.config.lists.values():
            if self.stop.is_set():
                return
            self._run(lst)

    def _note_jump(self) -> None:
        wall, mono = self.clock(), time.monotonic()
        if self._last is not None:
            drift = (wall - self._last[0]) - timedelta(seconds=mono - self._last[1])
            if abs(drift) > JUMP:
                log.warning(
                    "the clock jumped by %s (or the machine slept); checking what is due", drift
                )
        self._last = (wall, mono)

    def _run(self, lst: ListConfig) -> None:
        """One list's pass, unless one is already under way (its own job or the check)."""
        busy = self._busy[lst.name]
        if self.stop.is_set() or not busy.acquire(blocking=False):
            return
        try:
            force = self._force(lst)
            run_list(self.config, lst, self.clock(), self.runs, stop=self.stop, force=force)
        except DigestError as exc:
            log.error("%s: %s", lst.name, str(exc).replace("\n ", ";"))
        except Exception:  # a bug: logged in full, and the next run still happens
            log.exception("%s: the run failed unexpectedly", lst.name)
        finally:
            busy.release()
