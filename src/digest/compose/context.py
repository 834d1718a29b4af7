"""What templates see: the documented `TemplateContext` and one `ArticleView` per story, built
from a digest and the list's compose settings (docs/templates.md lists every field; a test
checks it does)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import jinja2

from ..config import ComposeSettings
from ..models import Article, Digest
from ..text import TITLE_CHARS, line, shorten, visible
from .personalise import WEB_URL, reader_slots, token
from .templates import render_string
from .words import Words, format_day, right_to_left, words_for

__all__ = ["ArticleView", "TemplateContext", "build_context"]


@dataclass(frozen=True)
class ArticleView:
    """One article as templates see it: strings ready to show, never raw feed HTML."""

    title: str
    url: str | None
    source: str
    author: str | None
    published: str | None
    lead: tuple[str, ...]
    image: str | None
    image_alt: str


@dataclass(frozen=True)
class TemplateContext:
    """Everything `digest.mjml.j2`, `digest.txt.j2` and the subject/preheader templates get.

    `reader` holds placeholders, not values: `reader.name`, `reader.name_suffix` (", Ada" or
    ""), `reader.email` and `reader.unsubscribe_url` are filled per reader after rendering.
    """

    title: str
    list_name: str
    issue_id: str
    language: str
    date: date
    date_long: str
    date_short: str
    subject: str
    preheader: str
    articles: tuple[ArticleView, ...]
    count: int
    omitted: int
    top_title: str
    reason: str
    reader: dict[str, str]
    web_url: str
    """The issue's web version ("view in browser"), or empty when the list keeps no archive."""
    words: Words
    """The theme's fixed words in `language` (`words.read_more`, `words.stories_today(count)`),
    with the list's `[lists.NAME.words]` over them."""
    dir: str
    """`rtl` for a right-to-left language (Hebrew, Arabic), else `ltr`."""
    align: str
    """Where lines start: `right` for a right-to-left language, else `left`."""

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["articles"] = [asdict(a) for a in self.articles]
        return d


def build_context(
    env: jinja2.Environment,
    digest: Digest,
    look: ComposeSettings,
    articles: tuple[Article, ...],
    omitted: int = 0,
    *,
    marker: str,
) -> TemplateContext:
    views = tuple(_view(a) for a in articles)
    d = digest.date
    words = words_for(look)
    rtl = right_to_left(words)
    base = {
        "title": digest.title,
        "list_name": digest.list_name,
        "issue_id": digest.issue_id,
        "language": look.language,
        "date": d,
        "date_long": format_day(words, d, "date_long"),
        "date_short": format_day(words, d, "date_short"),
        "count": len(views),
        "omitted": omitted,
        "top_title": views[0].title if views else "",
        "words": words,
        "dir": "rtl" if rtl else "ltr",
        "align": "right" if rtl else "left",
    }

    def line(template: str, key: str) -> str:
        """A digest.toml template (subject, preheader, reason) as one line of text."""
        return _one_line(render_string(env, template, base, f"lists.{look.list_name}.{key}"))

    return TemplateContext(
        **base,
        subject=line(look.subject, "subject"),
        preheader=line(look.preheader, "preheader"),
        articles=views,
        reason=line(look.reason, "reason"),
        reader=reader_slots(marker),
        web_url=token(marker, WEB_URL) if look.archive else "",
    )


NAME_CHARS = 100
PARAGRAPH_CHARS = 2_000
"""What a story may show at most, whatever its source sent: a headline is a line, a lead
paragraph a paragraph (the lead's word budget cannot cut one huge word)."""


def _view(a: Article) -> ArticleView:
    title = _shown(a.title, TITLE_CHARS)
    return ArticleView(
        title=title,
        url=a.url,
        source=_shown(a.source, NAME_CHARS),
        author=_shown(a.author, NAME_CHARS) if a.author else None,
        published=a.published.isoformat() if a.published else None,
        lead=tuple(shorten(visible(p), PARAGRAPH_CHARS) for p in a.lead),
        image=a.image,
        image_alt=_shown(a.image_alt, TITLE_CHARS) if a.image_alt else title,
    )


def _shown(text: str, limit: int) -> str:
    return shorten(line(text), limit)


def _one_line(s: str) -> str:
    """Subject, preheader and reason: one visible line (no bidi overrides in a Subject)."""
    return line(s)
