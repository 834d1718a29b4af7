"""The plain data that flows between stages. Frozen, so no stage can change another's output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from .config import SourceConfig


@dataclass(frozen=True)
class Coverage:
    """Another source's copy of a story that an issue shows once ("Also covered by")."""

    source: str
    """The name shown: the copy's site, else its source's name."""
    url: str | None
    id: str
    """The copy's article id: recorded as sent with the story, so it never comes back alone."""


@dataclass(frozen=True)
class Article:
    """One article, from a feed entry or a local file.

    `id` is stable across runs (GUID, else canonical URL, else a content hash) so the same
    article is never sent twice. `paragraphs` is the body as plain-text paragraphs; `lead` is
    what the summariser picked from them for the email.
    """

    id: str
    title: str
    source: str
    url: str | None = None
    published: datetime | None = None
    author: str | None = None
    paragraphs: tuple[str, ...] = ()
    lead: tuple[str, ...] = ()
    image: str | None = None
    image_alt: str | None = None
    image_width: int | None = None
    image_height: int | None = None
    """The image's own size in pixels, when the feed or page says (Outlook needs sizes)."""
    site: str | None = None
    """The publisher as it names itself (`og:site_name`, the feed's title, a file's `site`):
    what the email shows as the story's source; `source` (the config's name) when unknown."""
    section: str | None = None
    """The source's `section` setting: the email groups stories by it, else by source."""
    topics: tuple[str, ...] = ()
    """The story's topics, sorted and lower-case: its source's `topics`, and its feed
    categories that `[topics]` in digest.toml maps to one. A reader with topics gets the
    stories of those topics (see issue 15)."""
    also: tuple[Coverage, ...] = ()
    """The same story from other sources, shown once under this copy."""

    def with_lead(self, lead: tuple[str, ...]) -> Article:
        return replace(self, lead=lead)


@dataclass(frozen=True)
class Digest:
    """One issue of one list. `issue_id` is deterministic (`daily-2026-11-24`) so a rerun of
    the same day resumes that issue instead of starting another."""

    list_name: str
    issue_id: str
    date: date
    title: str
    articles: tuple[Article, ...]
    subject: str = ""
    preheader: str = ""
    number: int | None = None
    """The issue's number in its list (1 for the first issue sent), shown in the masthead."""


@dataclass(frozen=True)
class Rendered:
    """A digest rendered once, with per-reader slots (see `compose.personalise`) still in it."""

    subject: str
    preheader: str
    html: str
    text: str
    articles_included: int
    articles_omitted: int = 0
    warnings: tuple[str, ...] = field(default=())
    marker: str = ""
    """The random marker of this render's per-reader slots (see `compose.personalise`)."""
    renders: int = 1
    """How many times the issue went through Jinja and MJML: 1, more only when it had to drop
    stories to fit under the size limit."""

    @property
    def size(self) -> int:
        """Size of the HTML part in bytes, the figure Gmail clips at (~102 KB)."""
        return len(self.html.encode("utf-8"))


@dataclass(frozen=True)
class Entry:
    """One item of a feed, with its HTML already sanitised into paragraphs; kept in the feed
    cache as JSON, so a 304 gives back the same entries."""

    id: str
    key: str
    title: str
    url: str | None
    canonical_url: str | None
    published: datetime | None
    author: str | None = None
    paragraphs: tuple[str, ...] = ()
    image: str | None = None
    image_alt: str | None = None
    image_width: int | None = None
    image_height: int | None = None
    """Added later: an entry cached by an older version has neither, and loads without."""
    categories: tuple[str, ...] = ()
    """The feed's categories (tags) of the item, as written; `[topics]` maps them to topics.
    Added later: an entry cached by an older version has none."""

    def to_json(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["published"] = self.published.isoformat() if self.published else None
        d["paragraphs"] = list(self.paragraphs)
        d["categories"] = list(self.categories)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Entry:
        published = datetime.fromisoformat(d["published"]) if d.get("published") else None
        return cls(
            **{
                **d,
                "published": published,
                "paragraphs": tuple(d["paragraphs"]),
                "categories": tuple(d.get("categories") or ()),
            }
        )


@dataclass(frozen=True)
class Item:
    """An article as a source gave it (no lead yet), with what gathering and the summariser
    need to know about where it came from."""

    article: Article
    canonical: str | None
    """The canonical URL: the same page from two sources is one item."""
    source: SourceConfig
    from_folder: bool
    """The user's own file: new until sent, whatever its age; never fetched again."""


@dataclass(frozen=True)
class SourceHealth:
    """How a source did the last time it was read."""

    name: str
    kind: str
    location: str
    checked_at: datetime
    status: str
    """`200`, `304`, `file`, `folder`, or `error`."""
    last_success: datetime | None
    items: int
    missing_dates: int
    teasers: int
    feed_url: str | None = None
    """Where the feed really is, when the source named a page that links to it."""
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["checked_at"] = self.checked_at.isoformat()
        d["last_success"] = self.last_success.isoformat() if self.last_success else None
        return d


@dataclass(frozen=True)
class SourceRead:
    """What reading one source gave: its items, a line per problem, and its health."""

    source: SourceConfig
    items: tuple[Item, ...]
    problems: tuple[str, ...]
    health: SourceHealth


@dataclass(frozen=True)
class PageText:
    """An article page's text, as the summariser asks the sources for it (teaser items)."""

    title: str | None
    paragraphs: tuple[str, ...]
    image: str | None = None
    image_alt: str | None = None
    image_width: int | None = None
    image_height: int | None = None
    site: str | None = None
    """The page's `og:site_name`."""


@dataclass(frozen=True)
class Held:
    """An item an issue left out (no room, its source's `max_items`, or the size limit): a
    later issue is offered it again until `until` (see `gather`, rule 2)."""

    article: Article
    until: datetime | None
    """Offered to issues sent before then; None for a folder article (new until sent)."""


@dataclass(frozen=True)
class Gathered:
    """The articles of the next issue, and a line for each source problem met on the way."""

    articles: tuple[Article, ...]
    problems: tuple[str, ...] = ()
    since: datetime | None = None
    """The window start used for feed items."""
    sources: tuple[SourceHealth, ...] = ()
    """How each source did in this run."""
    held_over: tuple[Held, ...] = ()
    """What this issue has no room for (`max_articles`, a source's `max_items`), kept for a
    later one, newest first."""
    carried: frozenset[str] = frozenset()
    """The ids of `articles` that an earlier issue left out (held over, now taken)."""
    dropped: int = 0
    """Items an earlier issue left out that are now past `hold_over_hours`: lost for good."""
    kept_until: Mapping[str, datetime | None] = field(default_factory=dict)
    """How long each of `articles` would be kept if the issue left it out (for its size)."""


@dataclass(frozen=True)
class Issue:
    """A list's next issue, rendered once, with what went wrong on the way."""

    digest: Digest
    rendered: Rendered
    problems: tuple[str, ...]
    held_over: tuple[Held, ...] = ()
    """Every story this issue leaves out (no room, `max_items`, size), kept for a later one."""
    carried: int = 0
    """How many of the stories it carries an earlier issue left out."""
    dropped: int = 0
    """Stories earlier issues left out that are now past `hold_over_hours`: lost for good."""
