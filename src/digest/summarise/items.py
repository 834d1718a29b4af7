"""The summarise stage for an issue: a lead for each chosen item, in the order given (the
gathering's fair share), until the issue is full; what is left is handed back for later.

When a feed's text is shorter than the lead needs (fewer paragraphs and fewer words than the
list asks for) and the source's `full_text` is `auto`, or when it is `always`, the summariser
asks the sources for the article page's text (`page`) and uses it if it gives the longer lead.
An item with no lead at all (no text that reads as prose, in any script) keeps its headline and
link with an empty lead, and is counted per source in one line: it never drops out of the issue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from ..config import LeadSettings
from ..errors import DigestError
from ..models import Article, Item, PageText
from ..urls import http_url, redact
from .lead import lead_words as word_count
from .lead import summarise

__all__ = ["PageSource", "Summarised", "summarise_items"]

log = logging.getLogger(__name__)

PageSource = Callable[[Item], Awaitable[PageText | str]]
"""`await page(item)`: the text of the item's page, or a line saying why it could not be had."""


@dataclass(frozen=True)
class Summarised:
    """The issue's articles with their leads, and a line per problem met."""

    articles: tuple[Article, ...]
    """In the order of the items they came from."""
    problems: tuple[str, ...] = ()
    left: tuple[Item, ...] = ()
    """The items not reached because the issue was full, in the order given."""


async def summarise_items(
    items: Sequence[Item], lead: LeadSettings, limit: int, page: PageSource
) -> Summarised:
    """Leads for the items in the order given, fetching pages where needed, for the first
    `limit` items; an item without a lead is kept with its headline and link alone."""
    run = _Leads(lead, page)
    chosen: list[Article] = []
    index = 0
    no_lead: dict[str, int] = {}
    while len(chosen) < limit and index < len(items):
        batch = items[index : index + limit - len(chosen)]
        index += len(batch)
        done = await asyncio.gather(*(run.lead(item) for item in batch))
        for item, article in zip(batch, done, strict=True):
            chosen.append(article)
            if not article.lead:
                no_lead[item.source.label] = no_lead.get(item.source.label, 0) + 1
    for label, n in run.unread.items():
        log.warning(
            "%s: %d article page(s) could not be read; used the feed's text (-v names them)",
            label,
            n,
        )
    for label, n in no_lead.items():
        line = f"{label}: {n} item(s) had no text to quote as a lead; kept with headline and link"
        log.warning("%s", line)
        run.problems.append(line)
    return Summarised(tuple(chosen), tuple(run.problems), tuple(items[index:]))


class _Leads:
    """One issue's lead picking: the settings, the page source and the problems met."""

    def __init__(self, lead: LeadSettings, page: PageSource) -> None:
        self.settings = lead
        self.page = page
        self.problems: list[str] = []
        self.unread: dict[str, int] = {}
        """Per source, how many article pages could not be read (said once, not per page)."""

    async def lead(self, item: Item) -> Article:
        article = summarise(item.article, self.settings)
        try:
            return await self._full_lead(item, article)
        except DigestError:
            raise  # the run's own trouble (the state failing), not this page's
        except Exception as exc:  # one odd page must not stop the issue: keep the feed's text
            log.exception("full text of %s failed", redact(item.article.url or item.article.id))
            line = (
                f"{item.source.label}: full text of {redact(item.article.url or '')}: "
                f"unexpected error ({type(exc).__name__}); used the feed's text"
            )
            self.problems.append(" ".join(line.split()))
            return article

    async def _full_lead(self, item: Item, article: Article) -> Article:
        """The lead from the article page, when the source and the feed's text call for it."""
        mode = item.source.full_text
        if item.from_folder or mode == "never" or not item.canonical or not item.article.url:
            return article
        s = self.settings
        short = len(article.lead) < s.paragraphs and word_count(article.lead) < s.words
        if mode == "auto" and not short:
            return article
        page = await self.page(item)
        if isinstance(page, str):
            line = " ".join(
                f"{item.source.label}: full text of {redact(item.article.url)}: {page}; "
                "used the feed's text".split()
            )
            log.info("%s", line)  # each page at -v; one warning per source after the issue
            self.problems.append(line)
            self.unread[item.source.label] = self.unread.get(item.source.label, 0) + 1
            return article
        article = _with_page_meta(article, page)
        if not page.paragraphs:
            return article
        full = summarise(replace(article, paragraphs=page.paragraphs), s)
        if full.lead and (mode == "always" or word_count(full.lead) > word_count(article.lead)):
            return full
        return article


def _with_page_meta(article: Article, page: PageText) -> Article:
    """What the fetched page adds whichever text gives the lead: its image (`og:image`, with
    its size and alt text) when the feed had none, and its site's name when the feed gave
    none (the feed's own title comes first)."""
    if page.site and not article.site:
        article = replace(article, site=page.site)
    image = http_url(page.image, article.url)
    if article.image or not image:
        return article
    return replace(
        article,
        image=image,
        image_alt=page.image_alt,
        image_width=page.image_width,
        image_height=page.image_height,
    )
