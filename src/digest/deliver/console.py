"""The console sender: prints each reader's complete message, to look at or pipe somewhere."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from .base import Letter, Recipient, Result, Sender

__all__ = ["ConsoleSender"]


class ConsoleSender(Sender):
    name = "console"
    batch_size = 100

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, letter: Letter, batch: Sequence[Recipient]) -> list[Result]:
        results = []
        for r in batch:
            message = letter.message_for(r)
            self.stream.write(message.as_string())
            self.stream.write("\n" + "-" * 78 + "\n")
            results.append(Result(r.email, "sent", message_id=message["Message-ID"]))
        self.stream.flush()
        return results
