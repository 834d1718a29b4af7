"""Which stories of an issue a reader gets, from the topics they chose (pure).

The rule (issue 15):

- a reader with no topics gets every story;
- a reader with topics gets the stories that have any of those topics, the stories of the
  list's `for_everyone` topics, and the stories with no topic at all: a source nobody tagged
  is general news, and leaving it out would hide the front page from everyone who picked a
  topic;
- a reader whose selection is empty that day gets nothing (the send skips and counts them).

Readers whose topics select the same stories share one selection, so they share one render.
Its key is "" for the whole issue (what readers without topics get, rendered when the issue is
built) and otherwise a short hash of the selected ids, the same for any topics that pick them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .config.topics import topic_name
from .models import Article

__all__ = ["FULL", "Selection", "Selector", "select", "selection_key"]

FULL = ""
"""The key of the selection that is the whole issue."""
_AS_WRITTEN_MAX = 4096
"""Topic values remembered as written; past this the memo starts again."""


def select(
    articles: Sequence[Article], topics: Iterable[str], for_everyone: Iterable[str] = ()
) -> tuple[Article, ...]:
    """The reader's stories, in the issue's order (see the module's docstring)."""
    chosen = {topic_name(t) for t in topics if t.strip()}
    if not chosen:
        return tuple(articles)
    wanted = chosen | {topic_name(t) for t in for_everyone}
    return tuple(a for a in articles if not a.topics or not wanted.isdisjoint(a.topics))


def selection_key(ids: Iterable[str], all_ids: Iterable[str]) -> str:
    """`FULL` when `ids` are all of the issue's, else a hash of the set (order-free)."""
    picked = set(ids)
    if picked == set(all_ids):
        return FULL
    digest = hashlib.sha256("\n".join(sorted(picked)).encode()).hexdigest()
    return digest[:16]


@dataclass(frozen=True)
class Selection:
    """One distinct selection: its key and its stories in the issue's order."""

    key: str
    articles: tuple[Article, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.articles)


class Selector:
    """Selections of one issue, worked out once per distinct set of reader topics (a list of
    a million readers has a few dozen of them)."""

    def __init__(self, articles: Sequence[Article], for_everyone: Iterable[str] = ()) -> None:
        self.articles = tuple(articles)
        self.for_everyone = tuple(for_everyone)
        self._all = tuple(a.id for a in self.articles)
        self._topics = frozenset(t for a in self.articles for t in a.topics)
        self._by_topics: dict[tuple[bool, frozenset[str]], Selection] = {}
        self._as_written: dict[tuple[str, ...], Selection] = {}
        self.by_key: dict[str, Selection] = {}

    def of(self, topics: tuple[str, ...]) -> Selection:
        """The selection of a reader with these topics (empty articles: nothing for them).
        Looked up first as written: a list's rows share a few dozen topic values."""
        found = self._as_written.get(topics)
        if found is None:
            if len(self._as_written) >= _AS_WRITTEN_MAX:
                self._as_written.clear()  # readers' own tags ("member-42"): memory stays flat
            found = self._as_written[topics] = self._of(topics)
        return found

    def _of(self, topics: Iterable[str]) -> Selection:
        named = frozenset(topic_name(t) for t in topics if t.strip())
        # Only the topics the stories have can change a selection, so a reader's
        # other topics make no new entry: this stays as small as the topics.
        seen = (bool(named), named & self._topics)
        found = self._by_topics.get(seen)
        if found is None:
            picked = select(self.articles, named, self.for_everyone)
            key = selection_key((a.id for a in picked), self._all)
            found = self.by_key.setdefault(key, Selection(key, picked))
            self._by_topics[seen] = found
        return found
