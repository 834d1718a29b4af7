"""Readers' selections for looking at, not sending: an issue as the readers of some topics
get it (`digest preview --topics/--as`, the serve page's `?topics=`), and the list's
selections with their reader counts (`digest preview --json`, the serve page's links).
Records nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..compose import render
from ..config import Config, ListConfig
from ..errors import DigestError
from ..models import Digest, Issue
from ..selection import FULL, Selector
from ..subscribers import SubscriberList
from ..subscribers.model import parse_topics

__all__ = [
    "ListSelections",
    "VariantCount",
    "count_selections",
    "issue_for_topics",
    "shown",
    "topics_arg",
]


@dataclass(frozen=True)
class VariantCount:
    """One selection of the issue and how many of the list's readers get it."""

    key: str
    """"" for the whole issue (readers without topics, or whose topics pick everything)."""
    topics: tuple[str, ...]
    """The topics of its first reader: `?topics=` or `--topics` shows it."""
    articles: tuple[str, ...]
    """The titles of its stories, in the issue's order."""
    readers: int

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "topics": list(self.topics),
            "articles": len(self.articles),
            "titles": list(self.articles),
            "readers": self.readers,
        }


@dataclass(frozen=True)
class ListSelections:
    """The list's subscribed readers by selection, most readers first."""

    variants: tuple[VariantCount, ...]
    nothing_for: int
    """Readers whose topics select nothing of this issue: a send skips them."""

    def as_json(self) -> dict[str, Any]:
        return {
            "variants": [v.as_json() for v in self.variants],
            "nothing_for": self.nothing_for,
        }


def topics_arg(text: str) -> tuple[str, ...]:
    """`"science;history"` as the CSV's topics column reads it."""
    return parse_topics(text)


def shown(issue: Issue) -> Digest:
    """The issue with only the stories it shows (those left out for size are not sent)."""
    d = issue.digest
    return replace(d, articles=d.articles[: issue.rendered.articles_included])


def issue_for_topics(issue: Issue, config: Config, lst: ListConfig, topics: Sequence[str]) -> Issue:
    """The issue as a reader with `topics` gets it: the same issue when that is everything,
    else its selection rendered on its own. Raises DigestError when it selects nothing."""
    digest = shown(issue)
    chosen = Selector(digest.articles, lst.for_everyone).of(tuple(topics))
    if chosen.key == FULL:
        return issue
    if not chosen.articles:
        raise DigestError(
            f"nothing in the topics {';'.join(topics)!r} in this issue: a send skips readers "
            "with these topics today",
            "Try other topics; `digest preview --json` lists the selections readers get.",
        )
    rendered = render(replace(digest, articles=chosen.articles), lst.compose, config.templates_dir)
    return replace(issue, digest=replace(digest, articles=chosen.articles), rendered=rendered)


def count_selections(
    digest: Digest, lst: ListConfig, for_everyone: Sequence[str]
) -> ListSelections:
    """Stream the list's subscribed readers and count them by the selection they get (none
    while the list has no file yet: a preview works before the first reader)."""
    if not lst.subscribers.exists():
        return ListSelections((), 0)
    selector = Selector(digest.articles, for_everyone)
    counts: dict[str, int] = {}
    first: dict[str, tuple[str, ...]] = {}
    nothing = 0
    for sub in SubscriberList(lst.subscribers).iter_active():
        chosen = selector.of(sub.topics)
        if not chosen.articles:
            nothing += 1
            continue
        counts[chosen.key] = counts.get(chosen.key, 0) + 1
        first.setdefault(chosen.key, () if chosen.key == FULL else sub.topics)
    variants = tuple(
        VariantCount(key, first[key], tuple(a.title for a in selector.by_key[key].articles), n)
        for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return ListSelections(variants, nothing)
