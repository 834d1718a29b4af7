"""The outbox sender: one complete `.eml` per reader under `<outbox>/<issue_id>/`, each written
atomically. Needs no account, so the bundled example and any new newsletter can "send" at once;
any mail client opens the files."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from ..fsutil import write_atomic
from .base import Letter, Recipient, Result, Sender

__all__ = ["OutboxSender"]


class OutboxSender(Sender):
    name = "outbox"
    batch_size = 500

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_for(self, letter: Letter, r: Recipient) -> Path:
        """One file per reader and issue: a readable start, and a hash so no two collide."""
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in r.email)[:60]
        digest = hashlib.sha256(r.key.encode()).hexdigest()[:10]
        return self.folder / letter.issue_id / f"{safe}-{digest}.eml"

    def send(self, letter: Letter, batch: Sequence[Recipient]) -> list[Result]:
        results = []
        for r in batch:
            message = letter.message_for(r)
            try:
                write_atomic(self.path_for(letter, r), message.as_bytes())
            except OSError as exc:
                results.append(Result(r.email, "failed", error=f"cannot write: {exc}"))
                continue
            results.append(Result(r.email, "sent", message_id=message["Message-ID"]))
        return results
