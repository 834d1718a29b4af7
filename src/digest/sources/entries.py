"""What every feed format becomes: raw items made into `Entry` records (titles cleaned, ids by
the one identity rule, one problem line per kind of bad entry), and the `ParsedFeed` result."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..models import Entry
from ..text import title_line
from ..urls import canonical_url
from .identity import item_id, item_key
from .sanitise import FeedText, inline_text

__all__ = ["ParsedFeed", "RawItem", "clean_categories", "clean_title", "collect"]


@dataclass(frozen=True)
class ParsedFeed:
    """What a document held: a feed's entries, or (for an HTML page) the feeds it links to."""

    format: str
    """`rss20`, `atom10`, `json1.1`… as feedparser names them; `html` for a page; "" if unknown."""
    title: str | None = None
    entries: tuple[Entry, ...] = ()
    problems: tuple[str, ...] = ()
    feed_links: tuple[str, ...] = field(default=())
    every: timedelta | None = None
    """How often the feed asks to be read (`<ttl>`, `sy:updatePeriod`), when it says."""

    @property
    def is_html(self) -> bool:
        return self.format == "html"


@dataclass(frozen=True)
class RawItem:
    """An item as a format reader found it, before it is checked and keyed."""

    guid: str | None
    title: str | None
    url: str | None
    published: datetime | None
    author: str | None
    text: FeedText
    image: str | None = None
    image_alt: str | None = None
    image_width: int | None = None
    image_height: int | None = None
    categories: tuple[str, ...] = ()


MAX_CATEGORIES = 30
CATEGORY_CHARS = 100


def clean_categories(values: Iterable[Any]) -> tuple[str, ...]:
    """An item's categories as plain one-line text, each once, a bounded number of them: a
    feed may put markup, huge strings or thousands of tags there."""
    out: dict[str, None] = {}
    for v in values:
        if len(out) >= MAX_CATEGORIES:
            break
        if isinstance(v, str) and (c := title_line(inline_text(v))[:CATEGORY_CHARS].strip()):
            out.setdefault(c, None)
    return tuple(out)


def clean_title(title: Any) -> str | None:
    """Plain text: feed titles may hold markup, entities, even scripts, and invisible or
    direction-changing characters, and be of any length (see `text.title_line`)."""
    if not isinstance(title, str):
        return None
    return title_line(inline_text(title)) or None


def _title_from_text(paragraphs: tuple[str, ...], words: int = 10) -> str | None:
    if not paragraphs:
        return None
    first = paragraphs[0].split()
    return " ".join(first[:words]) + ("…" if len(first) > words else "")


def collect(
    raws: Iterable[RawItem], feed_id: str, total: int
) -> tuple[tuple[Entry, ...], list[str]]:
    """Entries from raw items, and one line per kind of entry problem (not one per entry)."""
    entries: list[Entry] = []
    no_title = no_link = empty = 0
    for raw in raws:
        paragraphs = raw.text.paragraphs
        title = raw.title
        if not title:
            title = _title_from_text(paragraphs)
            if not title:
                empty += 1
                continue
            no_title += 1
        if not raw.url:
            no_link += 1
        key = item_key(
            guid=raw.guid, url=raw.url, title=title, text="\n".join(paragraphs), feed=feed_id
        )
        entries.append(
            Entry(
                id=item_id(key),
                key=key,
                title=title,
                url=raw.url,
                canonical_url=canonical_url(raw.url),
                published=raw.published,
                author=raw.author,
                paragraphs=paragraphs,
                image=raw.image,
                image_alt=raw.image_alt,
                image_width=raw.image_width,
                image_height=raw.image_height,
                categories=raw.categories,
            )
        )
    problems = []
    if no_title:
        problems.append(f"{no_title} of {total} entries have no title (titled from their text)")
    if no_link:
        problems.append(f"{no_link} of {total} entries have no link (kept without one)")
    if empty:
        problems.append(f"{empty} of {total} entries have neither title nor text (left out)")
    return tuple(entries), problems
