"""The newsletter's memory, in one SQLite file in its state folder (`.digest/state.sqlite3`).

`State.open(state_dir)` gives one connection and a part per job:

- `feeds`, `pages` (`cache`): the HTTP cache of feeds, with their parsed entries, and the text
  of article pages fetched for teasers;
- `health` (`health`): how each source did, for `digest sources check`; `places` (`places`,
  also `health.places`): where a remote source moved, whether it is gone, the feed a page links
  to, and its back-off;
- `items`, `sent` (`ledger`): first sightings of items, and which items each list has had;
- `sends` (`sends`): the send ledger, a row per issue and reader;
- `polled`, `poll_times` (`polled`): the entries each feed showed between issues, and when
  each source was last read (`digest poll`, issue 17);
- `changes` (`changes`): subscriber status changes (unsubscribe clicks, provider bounces and
  complaints) not yet in the CSV;
- `events` (`events`): the provider's events (SendGrid's webhook): ids seen, counts per issue.

"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from .cache import PAGE_CACHE_DAYS, CachedFeed, CachedPage, FeedCache, PageCache
from .changes import HARD_STOP, Change, StatusChanges
from .db import SCHEMA_VERSION, STATE_FILE, Database, failure
from .events import EventBatch, IssueEvents, ProviderEvent
from .health import HealthLog
from .ledger import SentKeys, SentLedger, Sightings
from .places import Place, Places
from .polled import KEEP_DAYS, PolledEntries, PollTimes
from .sends import SendLedger

__all__ = [
    "HARD_STOP",
    "KEEP_DAYS",
    "PAGE_CACHE_DAYS",
    "SCHEMA_VERSION",
    "STATE_FILE",
    "CachedFeed",
    "CachedPage",
    "Change",
    "EventBatch",
    "Place",
    "Places",
    "ProviderEvent",
    "SentKeys",
    "State",
    "open_state",
]


class State:
    """An open state database. Open with `State.open(state_dir)`; use as a context manager."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.path = db.path
        self.feeds = FeedCache(db)
        self.pages = PageCache(db)
        self.health = HealthLog(db)
        self.places = self.health.places
        self.items = Sightings(db)
        self.sent = SentLedger(db)
        self.polled = PolledEntries(db)
        self.poll_times = PollTimes(db)
        self.sends = SendLedger(db)
        self.changes = StatusChanges(db)
        self.events = IssueEvents(db)

    @classmethod
    def open(cls, state_dir: Path) -> State:
        """Open (creating or upgrading) the state database in `state_dir`."""
        return cls(Database.open(state_dir))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> State:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def open_state(state_dir: Path) -> Iterator[State]:
    """The state database, open for one run. A database that fails under way is a StateError
    naming the file and saying what to do: free space, fix permissions, wait for a lock, or,
    for a damaged file only, move it away."""
    with State.open(state_dir) as state:
        try:
            yield state
        except sqlite3.DatabaseError as exc:
            raise failure(exc, state.path, "the state database is damaged") from None
