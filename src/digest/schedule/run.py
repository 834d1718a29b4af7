"""One pass over the lists: resume an interrupted send, send the day that is due, report the
days that were missed. Shared by `digest run-due` and the daemon, so both follow one rule,
read from the send ledger: a day whose issue is in the ledger is never sent again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ..config import Config, ListConfig
from ..deliver.send import Tally
from ..errors import DigestError, ListPaused
from ..list_health import Pause
from ..pipeline import SendReport, SendRequest, send_issue
from ..pipeline.health import pause_before
from ..pipeline.waves import issue_day, zone_census
from ..state import open_state
from ..state.sends import Waiting
from .due import Occurrence, due, grace_for, hours_text, missed
from .runs import LastRun, Outcome, RunLog

__all__ = ["Stopped", "run_due", "run_list"]

log = logging.getLogger(__name__)


class Stopped(BaseException):
    """Raised into a send between two batches when the scheduler is asked to stop."""


@dataclass(frozen=True)
class Ledger:
    """What the send ledger says of one list: the days it has, and an unfinished issue."""

    days: frozenset[date]
    unfinished: str | None
    waiting: Waiting | None = None
    """The unfinished issue's readers whose hour is still ahead (reader-local lists)."""


def ledger_of(config: Config, lst: ListConfig) -> Ledger:
    with open_state(config.state_dir) as state:
        days = {_issue_day(lst, i) for i in state.sends.issue_ids(lst.name)}
        unfinished = state.sends.unfinished(lst.name)
        waiting = state.sends.waiting(lst.name, unfinished) if unfinished else None
    return Ledger(frozenset(d for d in days if d), unfinished, waiting)


def _issue_day(lst: ListConfig, issue_id: str) -> date | None:
    """The scheduled day of `<list>-YYYY-MM-DD`; None for `-2`, `-sandbox` and the like."""
    return issue_day(lst.name, issue_id, exact=True)


def run_due(
    config: Config, now: datetime, *, stop: threading.Event | None = None, force: bool = False
) -> list[SendReport]:
    """Send what is due at `now` for every list, one list after another (`force`: also a
    list paused for complaints)."""
    runs = RunLog(config.state_dir)
    reports = []
    for lst in config.lists.values():
        try:
            reports.extend(run_list(config, lst, now, runs, stop=stop, force=force))
        except Exception as exc:  # one list's trouble never costs the other lists their run
            message = (
                str(exc).replace("\n ", ";")
                if isinstance(exc, DigestError)
                else (f"unexpected error: {type(exc).__name__}: {exc}")
            )
            log.error(
                "%s: run failed: %s", lst.name, message, exc_info=not isinstance(exc, DigestError)
            )
            try:
                day = now.astimezone(lst.zone).date()
                _record(runs, lst, day, now, now, "failed", message)
            except OSError:
                pass
    return reports


def run_list(
    config: Config,
    lst: ListConfig,
    now: datetime,
    runs: RunLog,
    *,
    stop: threading.Event | None = None,
    force: bool = False,
) -> list[SendReport]:
    """An unfinished issue first, then the day due at `now`, if any (at most one each).
    `force` sends the day's issue even if the list is paused for complaints."""
    reports: list[SendReport] = []
    zones = zone_census(lst) if lst.reader_local else {}
    for _ in range(2):  # an interrupted issue, then today's
        if stop is not None and stop.is_set():
            break
        ledger = ledger_of(config, lst)
        settled = ledger.days | runs.settled_days(lst.name, now)
        _report_missed(lst, now, settled, runs, zones)
        if ledger.waiting and now < ledger.waiting.resume_at:
            break  # the issue waits for its next wave; the next one waits for it
        if ledger.unfinished:
            why = "next wave" if ledger.waiting else "resuming"
            job = (ledger.unfinished, _issue_day(lst, ledger.unfinished), why)
        elif occ := due(lst, now, settled, grace_for(lst), zones):
            job = (f"{lst.name}-{occ.day}", occ.day, _due_text(occ))
        else:
            break
        report = _run_one(config, lst, job, now, runs, stop, force)
        if report is None or report.issue_id is None or not ledger.unfinished:
            if report is not None:
                reports.append(report)
            break
        reports.append(report)
    return reports


def _due_text(occ: Occurrence) -> str:
    return f"due {occ.at:%H:%M %Z} ({occ.utc:%H:%M} UTC)"


def _report_missed(
    lst: ListConfig,
    now: datetime,
    settled: frozenset[date],
    runs: RunLog,
    zones: Collection[str] = (),
) -> None:
    # A fresh folder (or a new schedule) reports at most the last day's run as missed, not
    # days from before anyone scheduled this list.
    started = runs.started(lst.name, now) - timedelta(days=1)
    for occ in missed(lst, now, settled, grace_for(lst), zones):
        if occ.utc < started:
            continue
        if runs.note_missed(lst.name, occ.day):
            log.warning(
                "%s: the issue of %s was missed (due %s, more than %s before %s); "
                "it is not sent late",
                lst.name,
                occ.day,
                f"{occ.at:%Y-%m-%d %H:%M %Z}",
                hours_text(grace_for(lst)),
                f"{now.astimezone(lst.zone):%Y-%m-%d %H:%M %Z}",
            )


def _run_one(
    config: Config,
    lst: ListConfig,
    job: tuple[str, date | None, str],
    now: datetime,
    runs: RunLog,
    stop: threading.Event | None,
    force: bool = False,
) -> SendReport | None:
    """One send, logged when it starts and ends; its outcome recorded in the runs file (with
    times from `now`, so an injected clock stays consistent). A list paused for complaints is
    recorded as `paused` at every pass, and said in the log once a day and issue."""
    issue, day, why = job
    t0 = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - t0)

    if not force and (pause := _pause(config, lst, issue)) is not None:  # no "starts" line
        _paused(
            runs, lst, issue, day, now, ListPaused(pause.message, pause.hint, pause.issue.issue_id)
        )
        return None
    log.info("%s: run for %s starts (%s)", lst.name, issue, why)
    request = SendRequest(
        day=day, late_after=grace_for(lst) if lst.reader_local else None, force=force
    )
    try:
        report = send_issue(config, lst, request, now=now, progress=_stopper(stop))
    except ListPaused as exc:  # complaints came in between: send_issue has the last word
        _paused(runs, lst, issue, day, now, exc)
        return None
    except Stopped:
        left = _after_stop(config, lst)
        _record(runs, lst, day, now, clock(), "stopped", left)
        log.warning("%s: %s", lst.name, left)
        return None
    except DigestError as exc:
        message = str(exc).replace("\n ", ";")
        _record(runs, lst, day, now, clock(), "failed", message)
        log.error("%s: run for %s failed: %s", lst.name, issue, message)
        return None
    outcome: Outcome = (
        "nothing" if report.issue_id is None else "problems" if report.problems else "sent"
    )
    _record(runs, lst, day, now, clock(), outcome, report.message)
    level = logging.WARNING if outcome == "problems" else logging.INFO
    log.log(level, "%s: run ends: %s in %.1f s", lst.name, report.message, time.monotonic() - t0)
    return report


def _pause(config: Config, lst: ListConfig, issue: str) -> Pause | None:
    """The pause `send_issue` would meet (`pipeline.health`), asked first so a paused list's
    pass every minute logs nothing but its one warning."""
    with open_state(config.state_dir) as state:
        return pause_before(state, lst.name, issue)


def _paused(
    runs: RunLog, lst: ListConfig, issue: str, day: date | None, now: datetime, exc: ListPaused
) -> None:
    """Record the paused run (each pass: `--show` and `status` say it) and warn once a day and
    issue, with what to do."""
    message = str(exc).replace("\n ", ";")
    _record(runs, lst, day, now, now, "paused", message)
    if runs.note_paused(lst.name, day or now.astimezone(lst.zone).date(), exc.issue_id):
        log.warning("%s: run for %s paused: %s", lst.name, issue, message)


def _stopper(stop: threading.Event | None) -> Callable[[Tally], None] | None:
    """A progress callback that stops the send once, after a batch was recorded."""
    if stop is None:
        return None
    raised = threading.Event()

    def check(_tally: Tally) -> None:
        if stop.is_set() and not raised.is_set():
            raised.set()
            raise Stopped()

    return check


def _after_stop(config: Config, lst: ListConfig) -> str:
    """After a stop: batches still claimed (answers lost) become unknown; say what is left."""
    with open_state(config.state_dir) as state:
        issue = state.sends.unfinished(lst.name)
        if issue is None:
            return "stopped; the issue was finished"
        doubt = state.sends.interrupted(lst.name, issue, _utcnow())
        left = state.sends.counts(lst.name, issue).counts
    return (
        f"stopped during {issue} after {left['sent']} reader(s) had their copy"
        + (f", {doubt} in doubt (unknown)" if doubt else "")
        + "; the next run resumes it"
    )


def _record(
    runs: RunLog,
    lst: ListConfig,
    day: date | None,
    started: datetime,
    ended: datetime,
    outcome: Outcome,
    message: str,
) -> None:
    shown = (day or ended.astimezone(lst.zone).date()).isoformat()
    runs.record(lst.name, LastRun(shown, started.isoformat(), ended.isoformat(), outcome, message))


def _utcnow() -> datetime:
    return datetime.now(UTC)
