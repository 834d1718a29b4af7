"""What `digest send` is asked (`SendRequest`) and what it answers (`SendReport`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..deliver.send import SendOptions, Tally
from ..state.sends import Waiting

__all__ = ["SendReport", "SendRequest", "open_problems"]


def open_problems(totals: dict[str, int]) -> int:
    """Readers whose copy failed, is in doubt, or is still out."""
    return totals.get("failed", 0) + totals.get("unknown", 0) + totals.get("claimed", 0)


@dataclass(frozen=True)
class SendRequest:
    """What `digest send` was asked to do."""

    backend: str | None = None
    dry_run: bool = False
    sandbox: bool = False
    to: str | None = None
    new_issue: bool = False
    options: SendOptions = field(default_factory=SendOptions)
    since: datetime | None = None
    """For a new issue: the window start, instead of the last sent issue."""
    day: date | None = None
    """The issue's local date (default: today in the list's zone); the scheduler passes the
    scheduled day, so a send caught up after midnight is still that day's issue."""
    late_after: timedelta | None = None
    """A reader-local list's grace: readers whose hour passed longer ago than this are not
    sent late (the scheduler passes `grace_hours`); None: every past hour goes now."""
    force: bool = False
    """Start a new issue even if the list is paused for complaints (`pipeline.health`)."""


@dataclass(frozen=True)
class SendReport:
    """What a send did, for the closing summary (and `--json`)."""

    list_name: str
    issue_id: str | None
    backend: str
    message: str
    """One line saying what happened."""
    articles: int = 0
    tally: Tally = field(default_factory=Tally)
    interrupted: int = 0
    """Readers whose batch a dead run left out, now marked unknown."""
    readers: int = 0
    """Readers a dry run would send to."""
    seconds: float = 0.0
    finished: bool = False
    totals: dict[str, int] = field(default_factory=dict)
    """Every reader of the issue by state, after this run (from the ledger)."""
    renders: int = 0
    """The issue's renders: the whole issue, and one per other selection of its stories
    that readers' topics asked for (each once, however many readers share it)."""
    nothing_for: int = 0
    """Readers skipped: nothing in their topics today (not sent, not marked)."""
    variants: dict[str, int] = field(default_factory=dict)
    """Readers in the ledger per selection ("" is the whole issue)."""
    waiting: Waiting | None = None
    """A reader-local issue's readers whose hour is still ahead (a later run sends them)."""

    @property
    def problems(self) -> int:
        """Readers of the issue whose copy failed or is in doubt: a non-zero exit."""
        return open_problems(self.totals)

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["tally"].pop("failures", None)
        d["failures"] = [{"email": e, "reason": r} for e, r in self.tally.failures]
        return d
