"""What a mail provider reports about the messages it took (SendGrid's Event Webhook): each
event's id, so a batch posted twice counts once; each issue's events counted by kind; and the
bounces, complaints and unsubscribes as `status_changes`, the same rows a click makes.

A batch is one transaction, committed with a full sync before the provider is answered: an
event answered 2xx is never asked for again, so it must not be lost to a power cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .changes import STOP, insert_change
from .db import Database, stamp
from .sends import is_sandbox

__all__ = ["CLICK", "EVENT_DAYS", "EventBatch", "IssueEvents", "ProviderEvent"]

EVENT_DAYS = 30
"""How long an event's id is kept: SendGrid retries a batch for 72 hours, so well past that."""
CLICK = "unsubscribe_click"
"""The kind an unsubscribe on digest's own link is counted as (the provider's are
`unsubscribe` and `group_unsubscribe`)."""
CLICK_ISSUES = 60
"""How many of the list's latest issues a click looks through for the one its reader got."""


@dataclass(frozen=True)
class ProviderEvent:
    """One event as digest records it: which issue of which list, which reader (key and
    address), what to count it as, and the status it gives the reader, if any."""

    provider: str
    event_id: str
    list_name: str
    issue_id: str
    reader: str
    email: str
    kind: str
    """What it is counted as: `delivered`, `open`, `bounce` (hard), `blocked` (soft), …"""
    status: str | None
    """`bounced`, `complained`, `unsubscribed`, or None (counted only)."""
    at: datetime


@dataclass(frozen=True)
class EventBatch:
    """What recording a batch did: events new, events seen before (a replay), events for an
    issue or reader the ledger does not know, and the lists that got a status change."""

    recorded: int = 0
    replayed: int = 0
    unknown: tuple[ProviderEvent, ...] = ()
    changed_lists: frozenset[str] = field(default_factory=frozenset)


class IssueEvents:
    """Tables `provider_events` and `issue_events`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, events: Sequence[ProviderEvent], now: datetime) -> EventBatch:
        """Record a batch at once: each event unseen so far is counted and its status change
        recorded; an event whose issue or reader the send ledger does not have is left out."""
        conn = self.db.conn
        recorded = replayed = 0
        unknown: list[ProviderEvent] = []
        changed: set[str] = set()
        conn.execute("PRAGMA synchronous=FULL")
        try:
            with self.db.tx() as c:
                for e in events:
                    known = c.execute(
                        "SELECT 1 FROM deliveries WHERE list = ? AND issue_id = ? AND reader = ?",
                        (e.list_name, e.issue_id, e.reader),
                    ).fetchone()
                    if known is None:
                        unknown.append(e)
                        continue
                    cur = c.execute(
                        "INSERT OR IGNORE INTO provider_events "
                        "(provider, event_id, list, issue_id, event, received_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (e.provider, e.event_id, e.list_name, e.issue_id, e.kind, stamp(now)),
                    )
                    if cur.rowcount == 0:
                        replayed += 1
                        continue
                    recorded += 1
                    c.execute(
                        "INSERT INTO issue_events (list, issue_id, event, count) "
                        "VALUES (?, ?, ?, 1) ON CONFLICT (list, issue_id, event) "
                        "DO UPDATE SET count = count + 1",
                        (e.list_name, e.issue_id, e.kind),
                    )
                    if e.status is not None:
                        insert_change(c, e.list_name, e.reader, e.email, e.status, e.at, e.provider)
                        changed.add(e.list_name)
                c.execute(
                    "DELETE FROM provider_events WHERE received_at < ?",
                    (stamp(now - timedelta(days=EVENT_DAYS)),),
                )
        finally:
            conn.execute("PRAGMA synchronous=NORMAL")
        return EventBatch(recorded, replayed, tuple(unknown), frozenset(changed))

    def counts(self, list_name: str, issue_id: str) -> dict[str, int]:
        """The issue's events by kind (kinds never seen are absent)."""
        rows = self.db.conn.execute(
            "SELECT event, count FROM issue_events WHERE list = ? AND issue_id = ?",
            (list_name, issue_id),
        )
        return {kind: count for kind, count in rows}

    def count_click(self, list_name: str, reader: str, change_id: int) -> str | None:
        """Count an unsubscribe on digest's own link (status change `change_id`, just
        recorded) against the latest real issue the ledger says went to the reader; the link
        carries no issue. Not counted (None): a reader the ledger never sent an issue to (in
        its last CLICK_ISSUES), or one with an earlier stop recorded since that issue was
        sent (a second click after an undo, or the provider's own unsubscribe or complaint
        counted already), so one reader is one unsubscribe. Returns the issue counted."""
        with self.db.tx() as c:
            found = None
            for issue_id, started in c.execute(
                "SELECT issue_id, started_at FROM sends WHERE list = ? "
                "ORDER BY started_at DESC, issue_id DESC LIMIT ?",
                (list_name, CLICK_ISSUES),
            ).fetchall():
                if is_sandbox(list_name, issue_id):
                    continue
                got = c.execute(
                    "SELECT 1 FROM deliveries WHERE list = ? AND issue_id = ? AND reader = ? "
                    "AND status = 'sent'",
                    (list_name, issue_id, reader),
                ).fetchone()
                if got is not None:
                    found = (str(issue_id), str(started))
                    break
            if found is None:
                return None
            issue_id, started = found
            marks = ", ".join("?" for _ in STOP)
            earlier = c.execute(
                f"SELECT 1 FROM status_changes WHERE list = ? AND reader = ? AND id < ? "
                f"AND status IN ({marks}) AND at >= ? LIMIT 1",
                (list_name, reader, change_id, *STOP, started),
            ).fetchone()
            if earlier is not None:
                return None
            c.execute(
                "INSERT INTO issue_events (list, issue_id, event, count) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (list, issue_id, event) DO UPDATE SET count = count + 1",
                (list_name, issue_id, CLICK),
            )
        return issue_id
