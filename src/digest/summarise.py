"""Pick an article's lead: its first real paragraphs, in a word budget, cut at a sentence end."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from .models import Article

_SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"”’)\]]))\s+")


def pick_lead(
    paragraphs: Sequence[str], title: str = "", *, max_paragraphs: int = 2, max_words: int = 90
) -> tuple[str, ...]:
    """The first `max_paragraphs` prose paragraphs, together at most about `max_words` words."""
    lead: list[str] = []
    budget = max_words
    for p in paragraphs:
        if len(lead) >= max_paragraphs or budget <= 0:
            break
        if not _is_prose(p, title):
            continue
        cut = _fit(p, budget) if lead else _fit(p, max(budget, 1))
        if not cut:
            break
        lead.append(cut)
        budget -= len(cut.split())
    return tuple(lead)


def summarise(article: Article, *, max_paragraphs: int = 2, max_words: int = 90) -> Article:
    """The article with its lead set."""
    lead = pick_lead(
        article.paragraphs, article.title, max_paragraphs=max_paragraphs, max_words=max_words
    )
    return replace(article, lead=lead)


def _is_prose(p: str, title: str) -> bool:
    words = p.split()
    if len(words) < 8:
        return False
    if title and p.strip().lower() in title.lower():
        return False
    return p.rstrip()[-1:] in '.!?"”’)…:'


def _fit(p: str, budget: int) -> str:
    """The paragraph whole if it fits, else its leading sentences that fit (never mid-word)."""
    if len(p.split()) <= budget:
        return p
    out: list[str] = []
    used = 0
    for sentence in _SENTENCE_END.split(p):
        n = len(sentence.split())
        if used + n > budget:
            break
        out.append(sentence)
        used += n
    return " ".join(out)
