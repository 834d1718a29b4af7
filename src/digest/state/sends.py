"""The send ledger: which reader has had which issue, so nobody gets the same issue twice and a
crash loses nobody.

Each issue's send has a row (`sends`) with its rendered content frozen when it starts, so a
resumed send sends the same issue even if a feed changed. Each reader of it has a row
(`deliveries`): pending → claimed (in a batch) → sent | failed | unknown. A batch is claimed
and committed *before* its request goes out and marked after the answer, one transaction each
way; so a process that dies leaves at most its batches in flight as `claimed`, which the next
run reports as `unknown` (they may have gone out) instead of sending them again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .db import Database, stamp

__all__ = ["Claim", "DeliveryCounts", "FrozenSend", "SendLedger", "Waiting", "is_sandbox"]

STATUSES = ("pending", "claimed", "sent", "failed", "unknown")


@dataclass(frozen=True)
class FrozenSend:
    """An issue's send as the ledger holds it."""

    list_name: str
    issue_id: str
    started_at: datetime
    finished_at: datetime | None
    backend: str
    letter: dict[str, Any]
    """The rendered issue (`deliver.base.Letter` fields), as it was when the send started."""
    article_ids: tuple[str, ...]
    issue: dict[str, Any] | None = None
    """The issue's stories, frozen for rendering readers' selections (`pipeline.frozen`);
    None for an issue started by a version before topics (everyone gets `letter`)."""

    @property
    def sandbox(self) -> bool:
        return is_sandbox(self.list_name, self.issue_id)

    @property
    def stories(self) -> int:
        """How many stories the issue shows (`article_ids` also holds each story's other
        copies, sent with it)."""
        return len(self.issue["articles"]) if self.issue else len(self.article_ids)


def is_sandbox(list_name: str, issue_id: str) -> bool:
    """A SendGrid sandbox send (`daily-2026-11-24-sandbox`): it reaches nobody. Only what
    follows the list's name counts, so a list named `team-sandbox` has real issues."""
    return "-sandbox" in issue_id[len(list_name) :]


@dataclass(frozen=True)
class Claim:
    """A batch claimed for sending: its id and the readers (keys) in it."""

    batch: int
    readers: tuple[str, ...]


@dataclass(frozen=True)
class DeliveryCounts:
    """How many readers of an issue are in each state, and the failed ones with reasons."""

    list_name: str
    issue_id: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int] = field(default_factory=dict)
    failed: tuple[tuple[str, str], ...] = ()
    renders: int = 1
    """The issue's renders: the whole issue, and one per other selection readers got."""
    variants: dict[str, int] = field(default_factory=dict)
    """Readers (rows in the ledger) per selection; "" is the whole issue."""
    nothing_for: int = 0
    """Readers the last run skipped: nothing in their topics that day."""
    waiting: Waiting | None = None
    """A reader-local issue's readers whose hour is still ahead, if any."""


@dataclass(frozen=True)
class Waiting:
    """A reader-local issue's readers still waiting for their wave after the last run."""

    readers: int
    next_wave: datetime
    """The next wave's time (UTC)."""
    resume_at: datetime
    """When a run should take it up: the wave's time, or earlier for a sender that holds
    mail until its `send_at`."""


_SEND_COLUMNS = "list, issue_id, started_at, finished_at, backend, letter, article_ids, issue"


class SendLedger:
    """Tables `sends`, `batches` and `deliveries`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # The issue.

    def get(self, list_name: str, issue_id: str) -> FrozenSend | None:
        row = self.db.conn.execute(
            f"SELECT {_SEND_COLUMNS} FROM sends WHERE list = ? AND issue_id = ?",
            (list_name, issue_id),
        ).fetchone()
        return self._frozen(row) if row else None

    def _frozen(self, row: tuple[Any, ...]) -> FrozenSend:
        where = "sends"
        return FrozenSend(
            list_name=row[0],
            issue_id=row[1],
            started_at=self.db.read_time(row[2], where, "started_at"),  # type: ignore[arg-type]
            finished_at=self.db.read_time(row[3], where, "finished_at") if row[3] else None,
            backend=row[4],
            letter=json.loads(row[5]),
            article_ids=tuple(json.loads(row[6])),
            issue=json.loads(row[7]) if row[7] else None,
        )

    def start(
        self,
        list_name: str,
        issue_id: str,
        backend: str,
        letter: dict[str, Any],
        article_ids: Sequence[str],
        now: datetime,
        issue: dict[str, Any] | None = None,
    ) -> FrozenSend:
        """Freeze an issue's content as its send starts (once: a second start keeps the first):
        the whole issue's letter, and its stories for rendering readers' selections."""
        with self.db.tx() as c:
            c.execute(
                "INSERT OR IGNORE INTO sends (list, issue_id, started_at, backend, letter, "
                "article_ids, issue) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    list_name,
                    issue_id,
                    stamp(now),
                    backend,
                    json.dumps(letter, ensure_ascii=False),
                    json.dumps(list(article_ids)),
                    json.dumps(issue, ensure_ascii=False) if issue is not None else None,
                ),
            )
        frozen = self.get(list_name, issue_id)
        assert frozen is not None
        return frozen

    def finish(self, list_name: str, issue_id: str, now: datetime) -> None:
        with self.db.tx() as c:
            c.execute(
                "UPDATE sends SET finished_at = ? WHERE list = ? AND issue_id = ?",
                (stamp(now), list_name, issue_id),
            )

    def unfinished(self, list_name: str, *, sandbox: bool = False) -> str | None:
        """The list's latest issue whose send started and did not finish (sandbox sends apart
        from real ones), or None."""
        for (issue_id,) in self.db.conn.execute(
            "SELECT issue_id FROM sends WHERE list = ? AND finished_at IS NULL "
            "ORDER BY started_at DESC, issue_id DESC",
            (list_name,),
        ):
            if is_sandbox(list_name, issue_id) == sandbox:
                return str(issue_id)
        return None

    def forget(self, list_name: str, issue_id: str) -> None:
        """Drop an issue nobody was sent (the list had no reader): it can be built again."""
        with self.db.tx() as c:
            for table in ("deliveries", "batches", "variants", "sends"):
                c.execute(
                    f"DELETE FROM {table} WHERE list = ? AND issue_id = ?", (list_name, issue_id)
                )

    def find(self, issue_id: str) -> FrozenSend | None:
        """An issue by its id alone (ids start with their list's name; the oldest wins in the
        odd case of two lists sharing one)."""
        row = self.db.conn.execute(
            f"SELECT {_SEND_COLUMNS} FROM sends WHERE issue_id = ? ORDER BY started_at LIMIT 1",
            (issue_id,),
        ).fetchone()
        return self._frozen(row) if row else None

    def recent(self, list_name: str, limit: int = 20) -> list[FrozenSend]:
        """The list's latest issues, newest first."""
        rows = self.db.conn.execute(
            f"SELECT {_SEND_COLUMNS} FROM sends WHERE list = ? "
            "ORDER BY started_at DESC, issue_id DESC LIMIT ?",
            (list_name, limit),
        )
        return [self._frozen(r) for r in rows]

    def issue_ids(self, list_name: str) -> list[str]:
        """The list's issues in the ledger, oldest first."""
        rows = self.db.conn.execute(
            "SELECT issue_id FROM sends WHERE list = ? ORDER BY started_at, issue_id", (list_name,)
        )
        return [r[0] for r in rows]

    def issues_sent(self, list_name: str, before: datetime, *, but: str = "") -> int:
        """How many of the list's issues started before `before` reached at least one reader
        (`but`, the issue being built, apart): the next issue's number is one more. Sandbox
        sends reach nobody and do not count."""
        row = self.db.conn.execute(
            "SELECT count(DISTINCT s.issue_id) FROM sends s JOIN deliveries d "
            "ON d.list = s.list AND d.issue_id = s.issue_id AND d.status = 'sent' "
            "WHERE s.list = ? AND s.issue_id != ? AND s.started_at < ? "
            "AND instr(substr(s.issue_id, length(s.list) + 1), '-sandbox') = 0",
            (list_name, but, stamp(before)),
        ).fetchone()
        return int(row[0])

    def reached(self, list_name: str, limit: int = 20, *, but: str = "") -> list[tuple[str, int]]:
        """The list's latest real issues (sandbox sends apart; `but`, the issue about to be
        sent, apart) that reached at least one reader, newest first, with their readers sent
        to: the issues whose health `digest status` shows, the first the one the pause looks
        at. Readers are counted only for the issues returned (an index range each)."""
        rows = self.db.conn.execute(
            "SELECT s.issue_id FROM sends s WHERE s.list = ? AND s.issue_id != ? "
            "AND instr(substr(s.issue_id, length(s.list) + 1), '-sandbox') = 0 "
            "AND EXISTS (SELECT 1 FROM deliveries d WHERE d.list = s.list "
            "AND d.issue_id = s.issue_id AND d.status = 'sent') "
            "ORDER BY s.started_at DESC, s.issue_id DESC LIMIT ?",
            (list_name, but, limit),
        ).fetchall()
        return [(str(i), self.sent_count(list_name, str(i))) for (i,) in rows]

    def sent_count(self, list_name: str, issue_id: str) -> int:
        """Readers of the issue whose copy the sender accepted."""
        (n,) = self.db.conn.execute(
            "SELECT count(*) FROM deliveries WHERE list = ? AND issue_id = ? AND status = 'sent'",
            (list_name, issue_id),
        ).fetchone()
        return int(n)

    # Selections (readers' topics): each rendered once, kept for a resumed send.

    def variant(self, list_name: str, issue_id: str, variant: str) -> dict[str, Any] | None:
        """A selection's letter as first rendered, or None if no reader needed it yet."""
        row = self.db.conn.execute(
            "SELECT letter FROM variants WHERE list = ? AND issue_id = ? AND variant = ?",
            (list_name, issue_id, variant),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def add_variant(
        self,
        list_name: str,
        issue_id: str,
        variant: str,
        article_ids: Sequence[str],
        letter: dict[str, Any],
        now: datetime,
    ) -> dict[str, Any]:
        """Keep a selection's letter (once: a second one keeps the first) before any reader is
        claimed with it; returns the one kept."""
        with self.db.tx() as c:
            c.execute(
                "INSERT OR IGNORE INTO variants (list, issue_id, variant, article_ids, letter, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    list_name,
                    issue_id,
                    variant,
                    json.dumps(list(article_ids)),
                    json.dumps(letter, ensure_ascii=False),
                    stamp(now),
                ),
            )
        kept = self.variant(list_name, issue_id, variant)
        assert kept is not None
        return kept

    def has_readers(self, list_name: str, issue_id: str) -> bool:
        row = self.db.conn.execute(
            "SELECT 1 FROM deliveries WHERE list = ? AND issue_id = ? LIMIT 1",
            (list_name, issue_id),
        ).fetchone()
        return row is not None

    def variants_of(self, list_name: str, issue_id: str, readers: Sequence[str]) -> dict[str, str]:
        """The selection each of these readers (keys) was given, for those in the ledger
        ("" for the whole issue)."""
        out: dict[str, str] = {}
        for start in range(0, len(readers), 900):
            chunk = readers[start : start + 900]
            for reader, variant in self.db.conn.execute(
                "SELECT reader, variant FROM deliveries WHERE list = ? AND issue_id = ? AND "
                f"reader IN ({','.join('?' * len(chunk))})",
                (list_name, issue_id, *chunk),
            ):
                out[reader] = variant or ""
        return out

    def set_nothing_for(self, list_name: str, issue_id: str, n: int) -> None:
        """How many readers the last run skipped because nothing was in their topics."""
        with self.db.tx() as c:
            c.execute(
                "UPDATE sends SET nothing_for = ? WHERE list = ? AND issue_id = ?",
                (n, list_name, issue_id),
            )

    def set_waiting(self, list_name: str, issue_id: str, waiting: Waiting | None) -> None:
        """Readers of a reader-local issue still waiting for their hour (None: nobody)."""
        values = (
            (waiting.readers, stamp(waiting.next_wave), stamp(waiting.resume_at))
            if waiting
            else (0, None, None)
        )
        with self.db.tx() as c:
            c.execute(
                "UPDATE sends SET waiting = ?, next_wave = ?, resume_at = ? "
                "WHERE list = ? AND issue_id = ?",
                (*values, list_name, issue_id),
            )

    def waiting(self, list_name: str, issue_id: str) -> Waiting | None:
        row = self.db.conn.execute(
            "SELECT waiting, next_wave, resume_at FROM sends WHERE list = ? AND issue_id = ?",
            (list_name, issue_id),
        ).fetchone()
        if not row or not row[0] or not row[1]:
            return None
        read = self.db.read_time
        return Waiting(
            row[0],
            read(row[1], "sends", "next_wave"),  # type: ignore[arg-type]
            read(row[2] or row[1], "sends", "resume_at"),  # type: ignore[arg-type]
        )

    # Readers.

    def interrupted(self, list_name: str, issue_id: str, now: datetime) -> int:
        """Mark batches a dead run left `claimed` as `unknown` (they may have gone out)."""
        with self.db.tx() as c:
            cur = c.execute(
                "UPDATE deliveries SET status = 'unknown', updated_at = ?, reason = "
                "'the send stopped while this reader''s batch was out (batch ' || batch || ')' "
                "WHERE list = ? AND issue_id = ? AND status = 'claimed'",
                (stamp(now), list_name, issue_id),
            )
            return cur.rowcount

    def claim(
        self,
        list_name: str,
        issue_id: str,
        readers: Sequence[tuple[str, str]],
        now: datetime,
        *,
        retry_failed: bool = False,
        resend_unknown: bool = False,
        variant: str = "",
    ) -> Claim | None:
        """Claim the readers (key, address) that are due, as one batch, in one transaction:
        new and pending ones, and failed or unknown ones when asked. None if none is due.
        `variant` is the selection they are sent ("" the whole issue); the caller gives a
        reader already in the ledger the one recorded for them."""
        due = (
            ["pending"]
            + (["failed"] if retry_failed else [])
            + (["unknown"] if resend_unknown else [])
        )
        at = stamp(now)
        states = ",".join("?" * len(due))
        with self.db.tx() as c:
            batch = c.execute(
                "INSERT INTO batches (list, issue_id, claimed_at, size) VALUES (?, ?, ?, 0)",
                (list_name, issue_id, at),
            ).lastrowid
            # One upsert claims new readers and due ones alike; a reader who is not due (sent
            # already, or failed or unknown unless asked) keeps its row as it was.
            c.executemany(
                "INSERT INTO deliveries (list, issue_id, reader, email, status, batch, "
                "updated_at, variant) VALUES (?, ?, ?, ?, 'claimed', ?, ?, ?) "
                "ON CONFLICT (list, issue_id, reader) DO UPDATE SET status = 'claimed', "
                "batch = excluded.batch, reason = NULL, updated_at = excluded.updated_at, "
                f"variant = excluded.variant WHERE deliveries.status IN ({states})",
                [
                    (list_name, issue_id, key, email, batch, at, variant or None, *due)
                    for key, email in readers
                ],
            )
            found = [
                r[0]
                for r in c.execute(
                    "SELECT reader FROM deliveries WHERE list = ? AND issue_id = ? AND batch = ? "
                    "AND status = 'claimed'",
                    (list_name, issue_id, batch),
                )
            ]
            if not found:
                c.execute("DELETE FROM batches WHERE id = ?", (batch,))
                return None
            c.execute("UPDATE batches SET size = ? WHERE id = ?", (len(found), batch))
        assert batch is not None
        return Claim(batch, tuple(found))

    def mark(
        self,
        list_name: str,
        issue_id: str,
        outcomes: Iterable[tuple[str, str, str | None, str | None]],
        now: datetime,
    ) -> None:
        """Record a batch's answer: (reader key, status, message id, reason) each. Readers
        with the same answer (a SendGrid batch: all sent, one message id) share a statement."""
        at = stamp(now)
        groups: dict[tuple[str, str | None, str | None], list[str]] = {}
        for key, status, message_id, reason in outcomes:
            groups.setdefault((status, message_id, reason), []).append(key)
        with self.db.tx() as c:
            for (status, message_id, reason), keys in groups.items():
                for start in range(0, len(keys), 900):
                    chunk = keys[start : start + 900]
                    c.execute(
                        "UPDATE deliveries SET status = ?, message_id = ?, reason = ?, "
                        f"updated_at = ? WHERE list = ? AND issue_id = ? AND reader IN "
                        f"({','.join('?' * len(chunk))})",
                        (status, message_id, reason, at, list_name, issue_id, *chunk),
                    )

    def release(self, list_name: str, issue_id: str, batch: int, now: datetime) -> None:
        """Give a claimed batch back (its request was refused before anything was sent)."""
        with self.db.tx() as c:
            c.execute(
                "UPDATE deliveries SET status = 'pending', batch = NULL, updated_at = ? "
                "WHERE list = ? AND issue_id = ? AND batch = ? AND status = 'claimed'",
                (stamp(now), list_name, issue_id, batch),
            )

    def counts(self, list_name: str, issue_id: str, failed_limit: int = 100) -> DeliveryCounts:
        frozen = self.get(list_name, issue_id)
        if frozen is None:
            raise KeyError(issue_id)
        counts = dict.fromkeys(STATUSES, 0)
        for status, n in self.db.conn.execute(
            "SELECT status, count(*) FROM deliveries WHERE list = ? AND issue_id = ? "
            "GROUP BY status",
            (list_name, issue_id),
        ):
            counts[status] = n
        failed = tuple(
            (r[0], r[1] or "")
            for r in self.db.conn.execute(
                "SELECT email, reason FROM deliveries WHERE list = ? AND issue_id = ? "
                "AND status IN ('failed', 'unknown') ORDER BY email LIMIT ?",
                (list_name, issue_id, failed_limit),
            )
        )
        variants = {
            v or "": n
            for v, n in self.db.conn.execute(
                "SELECT variant, count(*) FROM deliveries WHERE list = ? AND issue_id = ? "
                "GROUP BY variant ORDER BY count(*) DESC",
                (list_name, issue_id),
            )
        }
        (rendered,) = self.db.conn.execute(
            "SELECT count(*) FROM variants WHERE list = ? AND issue_id = ?", (list_name, issue_id)
        ).fetchone()
        (nothing_for,) = self.db.conn.execute(
            "SELECT nothing_for FROM sends WHERE list = ? AND issue_id = ?", (list_name, issue_id)
        ).fetchone()
        return DeliveryCounts(
            list_name,
            issue_id,
            frozen.started_at,
            frozen.finished_at,
            counts,
            failed,
            renders=1 + rendered,
            variants=variants,
            nothing_for=nothing_for,
            waiting=self.waiting(list_name, issue_id),
        )
