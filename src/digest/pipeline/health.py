"""The list's health from the state (`list_health` computes it): each recent issue's, and the
pause that `send_issue` checks before it starts a new issue.

**What the pause looks at**: the list's most recent real issue that reached readers, other
than the one about to be sent (sandbox sends reach nobody; an issue nobody got has no rate).
The latest issue is what readers are reacting to now; an older bad issue that a later one
(sent with `--force`) followed no longer holds the list back.

**What it stops**: a send that would start a new issue. A dry run says it would be paused
and sends nothing anyway; a test copy (`--to`) and a sandbox send reach no reader of the
list; resuming an issue already started (a killed send, `--retry-failed`, `--resend-unknown`)
finishes what was begun, as readers would otherwise get half an issue. `--force` (on `digest
send`, `digest run-due`, `digest schedule`) sends anyway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..errors import ListPaused
from ..list_health import IssueHealth, Pause, issue_health, pause_for
from ..state import State

__all__ = ["ListHealth", "check_pause", "last_issue_health", "list_health", "pause_before"]

log = logging.getLogger(__name__)

RECENT = 20
"""Issues shown when nobody says how many."""


@dataclass(frozen=True)
class ListHealth:
    """A list's recent real issues' health, newest first, and the pause of its next send."""

    issues: tuple[IssueHealth, ...]
    pause: Pause | None

    @property
    def reported(self) -> bool:
        """The provider reported on at least one of these issues."""
        return any(i.reported for i in self.issues)


def _health(state: State, list_name: str, issue_id: str, sent: int) -> IssueHealth:
    return issue_health(list_name, issue_id, sent, state.events.counts(list_name, issue_id))


def list_health(state: State, list_name: str, limit: int = RECENT) -> ListHealth:
    """The list's latest `limit` real issues that reached readers, and the pause."""
    issues = tuple(
        _health(state, list_name, i, n) for i, n in state.sends.reached(list_name, limit)
    )
    return ListHealth(issues, pause_for(issues[0] if issues else None))


def last_issue_health(state: State, list_name: str, *, but: str = "") -> IssueHealth | None:
    """The issue the pause looks at (`but`, the issue about to be sent, apart), or None."""
    found = state.sends.reached(list_name, 1, but=but)
    return _health(state, list_name, *found[0]) if found else None


def pause_before(state: State, list_name: str, issue_id: str) -> Pause | None:
    """The pause a send of `issue_id` meets: None if that issue already started (finishing
    it is never paused) or the list is not paused."""
    if state.sends.get(list_name, issue_id) is not None:
        return None
    return pause_for(last_issue_health(state, list_name, but=issue_id))


def check_pause(state: State, list_name: str, issue_id: str, *, force: bool, dry_run: bool) -> None:
    """Before the send of `issue_id`: raise ListPaused if the list is paused, unless `force`
    (then say so in the log) or a dry run (then only warn)."""
    pause = pause_before(state, list_name, issue_id)
    if pause is None:
        return
    if force:
        log.warning("%s; sending anyway (--force)", pause.message)
        return
    if dry_run:
        log.warning("%s: a real send would be refused (--force sends anyway)", pause.message)
        return
    raise ListPaused(pause.message, pause.hint, pause.issue.issue_id)
