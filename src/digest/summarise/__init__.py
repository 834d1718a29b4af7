"""The summarise stage: pick each article's lead paragraphs (`lead`), and for an issue, lead
every chosen item, asking the sources for an article page when the feed gave only a teaser
(`items`)."""

from __future__ import annotations

from .items import PageSource, Summarised, summarise_items
from .lead import MIN_WORDS, is_prose, pick_lead, split_sentences, summarise

__all__ = [
    "MIN_WORDS",
    "PageSource",
    "Summarised",
    "is_prose",
    "pick_lead",
    "split_sentences",
    "summarise",
    "summarise_items",
]
