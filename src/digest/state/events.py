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

from .changes import insert_change
from .db import Database, stamp

__all__ = ["EVENT_DAYS", "EventBatch", "IssueEvents", "ProviderEvent"]

EVENT_DAYS = 30
"""How long an event's id is kept: SendGrid retries a batch for 72 hours, so well past that."""


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
