"""When to try a refused batch again: exponential backoff with full jitter (so a hundred
senders that failed together do not return together), or the provider's own wait."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True)
class Backoff:
    """`tries` attempts in all; waits grow from `base` seconds, doubling, at most `cap`."""

    tries: int = 6
    base: float = 1.0
    cap: float = 60.0
    longest_wait: float = 300.0
    """A provider asking for more (a 429 until the next hour) ends the retries instead."""

    def wait(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait after failed attempt `attempt` (1-based), or None to give up."""
        if attempt >= self.tries:
            return None
        if retry_after is not None:
            if retry_after > self.longest_wait:
                return None
            return max(0.0, retry_after) + random.uniform(0, self.base)
        return random.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))
