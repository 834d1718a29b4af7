"""Write the status changes recorded in the state (unsubscribe clicks) into a list's CSV file,
all of a list's pending ones in one locked, atomic rewrite.

`digest serve` does this every few seconds while changes come in, and every `digest send` and
`digest subscribers` command does it first, so each of them sees the file as the clicks left
it. One lock per list (`.digest/changes-<list>.lock`) makes the read–apply–mark of two of them
take turns: a later undo can never be overwritten by an earlier click applied late.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from filelock import FileLock, Timeout

from ..config import Config, ListConfig
from ..errors import DigestError
from ..state import HARD_STOP, STATE_FILE, Change, open_state
from ..subscribers import SUBSCRIBED, UNSUBSCRIBED, StatusUpdate, SubscriberList, weaker

__all__ = ["Applied", "apply_pending"]

log = logging.getLogger(__name__)

UNDO = "undo"
"""The origin of a resubscribe that undoes a click: it only takes back an unsubscribed row."""


@dataclass(frozen=True)
class Applied:
    """What one pass wrote: changes applied, how many rows changed, and those not on the list."""

    list_name: str
    applied: int = 0
    changed: int = 0
    not_on_list: int = 0
    error: str | None = None
    """Why the pending changes could not be written (they stay pending, and held back)."""


def apply_pending(
    config: Config, lst: ListConfig, *, now: datetime | None = None, timeout: float = 120.0
) -> Applied:
    """Write the list's pending changes into its file. A file that cannot take them (a broken
    row, a lock held too long) leaves them pending: sends still leave those readers out, and
    the next pass tries again. Does nothing (and creates no state) in a folder without one."""
    if not (config.state_dir / STATE_FILE).exists():
        return Applied(lst.name)
    lock = FileLock(str(config.state_dir / f"changes-{lst.name}.lock"), timeout=timeout)
    try:
        with lock, open_state(config.state_dir) as state:
            pending = state.changes.pending(lst.name)
            if not pending:
                return Applied(lst.name)
            latest = _effective(pending)
            cancelled = _cancelled(pending) - {
                k for k, c in latest.items() if c.status in HARD_STOP
            }
            updates = {k: _update(c) for k, c in latest.items() if k not in cancelled}
            try:
                outcomes = SubscriberList(lst.subscribers).set_statuses(updates)
            except DigestError as exc:
                log.warning(
                    "%d pending status change(s) could not be written to %s yet: %s",
                    len(pending),
                    lst.subscribers,
                    exc.message,
                )
                return Applied(lst.name, error=exc.message)
            when = now or datetime.now(UTC)
            outcomes.update(dict.fromkeys(cancelled, "cancelled"))
            state.changes.mark_applied(
                [(c.id, _outcome(c, latest, outcomes)) for c in pending], when
            )
            state.changes.prune(when)
    except Timeout:
        log.warning("%s: another process keeps %s locked; the changes stay pending", lst.name, lock)
        return Applied(lst.name, error="locked")
    missing = [c for c in latest.values() if outcomes.get(c.reader) == "not on the list"]
    for c in missing:
        log.info("%s: %s is not on the list; nothing to change", lst.subscribers, c.email)
    changed = sum(1 for v in outcomes.values() if v == "changed")
    log.info("%s: %d status change(s) written (%d rows changed)", lst.name, len(pending), changed)
    return Applied(lst.name, len(pending), changed, len(missing))


def _effective(pending: list[Change]) -> dict[str, Change]:
    """Each reader's change to write: the latest, except that a bounce or complaint a provider
    reported is never replaced by a click or an undo that came after it."""
    latest: dict[str, Change] = {}
    for c in pending:
        before = latest.get(c.reader)
        if before is not None and before.status in HARD_STOP and c.status not in HARD_STOP:
            continue
        latest[c.reader] = c
    return latest


def _update(change: Change) -> StatusUpdate:
    """A click takes a subscribed reader off the list and never replaces another stop (a
    complaint or a bounce is worth keeping); an undo only takes back an unsubscribed one; a
    provider's bounce or complaint replaces any weaker status (`subscribers.weaker`: a
    complaint replaces a bounce too; mail to the address must stop for good)."""
    if change.status in HARD_STOP:
        only = weaker(change.status)  # the one order of stops, as `digest subscribers` keeps
    elif change.origin == UNDO:
        only: tuple[str, ...] = (UNSUBSCRIBED,)
    else:
        only = (SUBSCRIBED,)
    return StatusUpdate(change.status, change.at, only)


def _cancelled(pending: list[Change]) -> set[str]:
    """Readers whose click and its undo are both pending: the pair cancels out, the row stays
    as it was (an undo must never resubscribe a row the click did not change)."""
    clicked: set[str] = set()
    cancelled: set[str] = set()
    for c in pending:
        if c.origin == UNDO and c.reader in clicked:
            cancelled.add(c.reader)
        elif c.origin != UNDO:
            clicked.add(c.reader)
            cancelled.discard(c.reader)
    return cancelled


def _outcome(change: Change, latest: dict[str, Change], outcomes: dict[str, str]) -> str:
    if latest[change.reader].id != change.id:
        return "superseded"
    return outcomes.get(change.reader, "not on the list")
