"""The plain data that flows between stages. Frozen, so no stage can change another's output."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime


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


@dataclass(frozen=True)
class Rendered:
    """A digest rendered once, with per-reader placeholders (see `personalise`) still in it."""

    subject: str
    preheader: str
    html: str
    text: str
    articles_included: int
    articles_omitted: int = 0
    warnings: tuple[str, ...] = field(default=())

    @property
    def size(self) -> int:
        """Size of the HTML part in bytes, the figure Gmail clips at (~102 KB)."""
        return len(self.html.encode("utf-8"))
