"""What templates see: the documented `TemplateContext` and one `ArticleView` per story, built
from a digest and the list's compose settings (docs/templates.md lists every field; a test
checks it does)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any

import jinja2

from ..config import ComposeSettings
from ..models import Article, Digest
from ..text import TITLE_CHARS, finish_teaser, first_sentence, line, shorten, visible
from .personalise import WEB_URL, reader_slots, token
from .templates import render_string
from .words import Words, format_day, format_time, right_to_left, words_for

__all__ = ["ArticleView", "CoverageView", "SectionView", "TemplateContext", "build_context"]


@dataclass(frozen=True)
class CoverageView:
    """Another source's copy of a story ("Also covered by"), as templates see it."""

    source: str
    url: str | None


@dataclass(frozen=True)
class ArticleView:
    """One article as templates see it: strings ready to show, never raw feed HTML."""

    title: str
    url: str | None
    source: str
    """The publisher as it names itself (og:site_name, the feed's title), else the source's
    name from digest.toml."""
    author: str | None
    published: str | None
    time: str | None
    """When it was published, in the list's zone and language (`words.story_time`)."""
    lead: tuple[str, ...]
    image: str | None
    image_alt: str
    image_width: int | None
    image_height: int | None
    """The size to show the image at: the column's width for a featured story, a thumbnail's
    otherwise; the height when the image's own proportions are known (Outlook needs both)."""
    featured: bool
    """The top story with a picture wide enough to span the column."""
    index: int
    """Its place in the issue as shown, from 1 (`loop.index` restarts in each section)."""
    anchor: str
    """`story-1`, `story-2`…: the id the contents list links to."""
    section: str
    """The heading it goes under: its source's `section`, else the source's name from
    digest.toml (so a folder of your own files is one section, however many sites)."""
    also: tuple[CoverageView, ...] = ()
    """The same story from other sources, shown once under this copy ("Also covered by")."""


@dataclass(frozen=True)
class SectionView:
    """Stories under one heading, in the issue's order."""

    name: str
    articles: tuple[ArticleView, ...]


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
    number: int | None
    """The issue's number in its list, or None (a sample)."""
    also_line: str
    """The headlines after the top one ("Also: …"), or the top story's first sentence when it
    is alone: the default preheader, so it never repeats the subject."""
    sections: tuple[SectionView, ...]
    """`articles` under their headings; one section without a name when the issue has only
    one, or the list sets `sections = false`."""
    address: tuple[str, ...]
    """The sender's postal address, a line each (`[lists.NAME] address`)."""
    logo: str | None
    logo_width: int
    logo_height: int | None

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["articles"] = [asdict(a) for a in self.articles]
        d["sections"] = [
            {"name": s.name, "articles": [asdict(a) for a in s.articles]} for s in self.sections
        ]
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
    words = words_for(look)
    sections = _numbered(
        _sections(tuple(_view(a, i, words, look.timezone) for i, a in enumerate(articles, 1)), look)
    )
    views = tuple(v for s in sections for v in s.articles)
    d = digest.date
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
        "number": digest.number,
        "also_line": _also_line(views, words),
    }

    def setting(template: str, key: str) -> str:
        """A digest.toml template (subject, preheader, reason) as one line of text."""
        return _one_line(render_string(env, template, base, f"lists.{look.list_name}.{key}"))

    return TemplateContext(
        **base,
        subject=setting(look.subject, "subject"),
        preheader=setting(look.preheader, "preheader"),
        articles=views,
        reason=setting(look.reason, "reason"),
        reader=reader_slots(marker),
        web_url=token(marker, WEB_URL) if look.archive else "",
        sections=sections,
        address=tuple(a for a in (line(x) for x in look.address.splitlines()) if a),
        logo=look.logo,
        logo_width=look.logo_width,
        logo_height=look.logo_height,
    )


NAME_CHARS = 100
PARAGRAPH_CHARS = 2_000
"""What a story may show at most, whatever its source sent: a headline is a line, a lead
paragraph a paragraph (the lead's word budget cannot cut one huge word)."""


COLUMN_PX = 544
"""The text column: 600 px less the card's 28 px each side."""
THUMB_PX = 120
FEATURE_MIN_PX = 400
"""A top story's picture narrower than this is a thumbnail: stretched wider it would blur."""
TALLEST, FLATTEST = 2.0, 0.25
"""Height over width beyond which a picture is no photo (a long infographic, a banner): not
shown, since an email cannot crop it. A featured picture is at most square."""
ALSO_CHARS = 150


def _view(a: Article, index: int, words: Words, zone: str) -> ArticleView:
    title = _shown(a.title, TITLE_CHARS)
    source = _shown(a.site or a.source, NAME_CHARS)
    ratio = a.image_height / a.image_width if a.image_width and a.image_height else None
    image = a.image if ratio is None or FLATTEST <= ratio <= TALLEST else None
    featured = (
        bool(image)
        and index == 1
        and (a.image_width or COLUMN_PX) >= FEATURE_MIN_PX
        and (ratio or 0) <= 1
    )
    width = COLUMN_PX if featured else THUMB_PX
    height = round(width * ratio) if ratio else None
    lead = tuple(shorten(visible(p), PARAGRAPH_CHARS) for p in a.lead)
    return ArticleView(
        title=title,
        url=a.url,
        source=source,
        author=_shown(a.author, NAME_CHARS) if a.author else None,
        published=a.published.isoformat() if a.published else None,
        time=format_time(words, a.published, zone) if a.published else None,
        lead=(*lead[:-1], finish_teaser(lead[-1])) if lead else (),
        image=image,
        image_alt=_shown(a.image_alt, TITLE_CHARS) if a.image_alt else title,
        image_width=width if image else None,
        image_height=height if image else None,
        featured=featured,
        index=index,
        anchor=f"story-{index}",
        section=_shown(a.section or a.source, NAME_CHARS),
        also=tuple(CoverageView(_shown(c.source, NAME_CHARS), c.url) for c in a.also),
    )


def _sections(views: tuple[ArticleView, ...], look: ComposeSettings) -> tuple[SectionView, ...]:
    """Stories grouped by section, the sections in the order of their first story (so the
    top story stays on top); one unnamed group when there is nothing to tell apart."""
    groups: dict[str, list[ArticleView]] = {}
    for v in views:
        groups.setdefault(v.section, []).append(v)
    if not look.sections or len(groups) < 2:
        return (SectionView("", views),) if views else ()
    return tuple(SectionView(name, tuple(vs)) for name, vs in groups.items())


def _numbered(sections: tuple[SectionView, ...]) -> tuple[SectionView, ...]:
    """Stories numbered in the order the email shows them (the contents follow it)."""
    n = 0
    out = []
    for sec in sections:
        views = []
        for v in sec.articles:
            n += 1
            views.append(replace(v, index=n, anchor=f"story-{n}"))
        out.append(SectionView(sec.name, tuple(views)))
    return tuple(out)


def _also_line(views: tuple[ArticleView, ...], words: Words) -> str:
    """The other headlines, or the top story's opening: what the subject does not say."""
    if len(views) > 1:
        return shorten(f"{words.also}: " + " · ".join(v.title for v in views[1:]), ALSO_CHARS)
    if views and views[0].lead:
        return shorten(first_sentence(views[0].lead[0]), ALSO_CHARS)
    return words.stories_today(len(views))  # never empty: a client would show the body's start


def _shown(text: str, limit: int) -> str:
    return shorten(line(text), limit)


def _one_line(s: str) -> str:
    """Subject, preheader and reason: one visible line (no bidi overrides in a Subject)."""
    return line(s)
