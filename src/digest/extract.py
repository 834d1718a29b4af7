"""Main text and metadata out of an article's HTML page, with trafilatura."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import trafilatura


@dataclass(frozen=True)
class Extracted:
    """What a page says about itself: its text as paragraphs, and its metadata where present."""

    title: str | None
    paragraphs: tuple[str, ...]
    url: str | None = None
    published: datetime | None = None
    author: str | None = None
    image: str | None = None
    description: str | None = None


def extract_html(html: str | bytes, url: str | None = None) -> Extracted:
    """Extract the main text of a page as paragraphs, plus title, date, author and image."""
    doc = trafilatura.bare_extraction(
        html, url=url, include_comments=False, include_tables=False, with_metadata=True
    )
    if doc is None:
        return Extracted(title=None, paragraphs=(), url=url)
    text = doc.text or ""
    paragraphs = tuple(p.strip() for p in text.split("\n") if p.strip())
    return Extracted(
        title=doc.title or None,
        paragraphs=paragraphs,
        url=doc.url or url,
        published=_parse_date(doc.date),
        author=doc.author or None,
        image=doc.image or None,
        description=doc.description or None,
    )


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
