"""What every page of `digest serve` shares: the newsletter's settings (read again when
digest.toml changes, so an edit shows on the next reload), the secret that signs unsubscribe
links, and the state database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..config import Config, ListConfig, load_config
from ..models import Digest
from ..pipeline.selections import ListSelections, count_selections
from ..state import State, open_state
from ..subscribers import SubscriberList

__all__ = ["Site"]

log = logging.getLogger(__name__)


class Site:
    """One newsletter folder, served."""

    def __init__(self, config: Config, secret: str) -> None:
        self._config = config
        self._stamp = _stamp(config.path)
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[object, dict[str, int]]] = {}
        self._selections: dict[str, tuple[object, ListSelections]] = {}
        self.secret = secret
        self.writing = threading.Lock()
        """Taken around each click's write: the threads of one server queue here, in order,
        instead of backing off and retrying inside SQLite's busy handler (a slow tail)."""

    @property
    def config(self) -> Config:
        """The settings; digest.toml is read again when it changed. An edit that does not load
        keeps the last good settings (and says why in the log)."""
        stamp = _stamp(self._config.path)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._stamp = stamp
                    try:
                        self._config = load_config(self._config.path)
                        log.info("%s changed: read it again", self._config.path)
                    except Exception as exc:  # a DigestError, or a file saved half-way
                        log.error("%s changed but does not load: %s", self._config.path, exc)
        return self._config

    def list(self, name: str) -> ListConfig | None:
        return self.config.lists.get(name)

    def counts(self, lst: ListConfig) -> dict[str, int]:
        """The list's readers by status; read again only when its file changed (a million
        rows take a second or two to count)."""
        key = (lst.subscribers, _stamp(lst.subscribers))
        with self._lock:
            hit = self._counts.get(lst.name)
        if hit is not None and hit[0] == key:
            return hit[1]
        counts = SubscriberList(lst.subscribers).count_by_status()
        with self._lock:
            self._counts[lst.name] = (key, counts)
        return counts

    def selections(
        self, lst: ListConfig, digest: Digest, for_everyone: Sequence[str]
    ) -> ListSelections:
        """The list's readers by the selection of `digest` they get; counted again only when
        the list file or the issue's stories and their topics changed."""
        stories = tuple((a.id, a.topics) for a in digest.articles)
        key = (lst.subscribers, _stamp(lst.subscribers), stories, tuple(for_everyone))
        with self._lock:
            hit = self._selections.get(lst.name)
        if hit is not None and hit[0] == key:
            return hit[1]
        found = count_selections(digest, lst, for_everyone)
        with self._lock:
            self._selections[lst.name] = (key, found)
        return found

    @contextmanager
    def state(self) -> Iterator[State]:
        with open_state(self.config.state_dir) as state:
            yield state


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)
