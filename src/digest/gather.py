"""Gather the articles for a list's next issue from its sources, newest first, with leads.

Placeholder for the foundation: reads folder sources only. Feeds, state and the no-repeat rule
arrive with issue 4.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from .config import Config, ListConfig
from .local import read_folder
from .models import Article
from .summarise import summarise

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gathered:
    """The articles of the next issue, and a line for each source problem met on the way."""

    articles: tuple[Article, ...]
    problems: tuple[str, ...] = ()


def gather(
    config: Config, lst: ListConfig, *, now: datetime | None = None, since: datetime | None = None
) -> Gathered:
    """The list's next issue's articles, newest first, each with its lead picked."""
    _ = now or datetime.now(UTC)
    found: list[Article] = []
    for source in config.sources_for(lst):
        if source.kind == "folder":
            from pathlib import Path

            items = read_folder(Path(source.location), source.name)
            found.extend(items[: source.max_items] if source.max_items else items)
    found.sort(key=lambda a: a.published or datetime.min.replace(tzinfo=UTC), reverse=True)
    leads = [summarise(a, max_paragraphs=lst.paragraphs, max_words=lst.lead_words) for a in found]
    return Gathered(articles=tuple(a for a in leads if a.lead)[: lst.max_articles])
