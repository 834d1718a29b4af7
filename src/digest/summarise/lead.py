"""Pick an article's lead: its first real paragraphs, in a word budget, cut at a sentence end.

The picker works by form, not by lists of phrases: a lead paragraph is prose (long enough,
sentence-shaped, in sentence case, with at least one real sentence in it) and is not the
headline again. That rejects bylines, datelines standing alone, photo credits, captions that end
in a credit, "share this" and "read more" lines and other page furniture in any language that
writes sentences this way.

Budgets are in words; in scripts written without spaces between words (Chinese, Japanese, Thai
and the like) a word is counted as `CHARS_PER_WORD` characters (see `lead_words`), and a
sentence ends at that script's own full stop (。！？) with no space after it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from difflib import SequenceMatcher

from ..config import LEAD_PARAGRAPHS, LEAD_WORDS, LeadSettings
from ..models import Article
from ..text import UNSPACED, clean, norm

MIN_WORDS = 8
"""A lead paragraph has at least this many words; shorter lines are headings and furniture."""

CHARS_PER_WORD = 2
"""Characters of a script without spaces that count as one word of a budget (a common rule of
thumb for Chinese and Japanese against English)."""

_SPACELESS = UNSPACED
"""Scripts that do not put spaces between words (see `text.UNSPACED`)."""
_CJK_END = re.compile(r"(?<=[。！？])[」』”’）)]*\s*(?=\S)")
_URL = re.compile(r"(?<![\"'=(<])(?:https?://|www\.)\S+", re.IGNORECASE)
"""A web address written out as text (not quoted in markup, nor in brackets after a name)."""
_LIST_SEPARATORS = re.compile(r"\s*[,;|•·]\s*|\s+[-–—/]\s+")
_CREDIT = re.compile(
    r"[.!?…。！？][\"'”’»]?\s*(?:\([^()]*[^()\s.!?…]\)|\[[^\[\]]*[^\[\]\s.!?…]\])$"
)
"""A sentence followed by a bracketed group with no sentence end in it, closing the paragraph:
a caption and its photo credit ("... on Thursday. (Jane Doe/Valley Post)")."""

_TERMINAL = ".!?…。！？"
_CLOSERS = "\"'”’»"
# A possible sentence end: . ! ? … (optionally inside closing quotes or brackets), then space and
# a capital, digit or opening quote. `split_sentences` rules out abbreviations ("Gov.", "U.S.").
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’»)\]]?\s+(?=[\"'“‘«(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(r"(?:^|\s)(?:[A-Z][a-z]{0,2}|(?:[A-Za-z]\.)+[A-Za-z])\.$")


def lead_words(text: str | Sequence[str]) -> int:
    """Words in a text for a budget: whitespace-separated words, plus one word per
    `CHARS_PER_WORD` characters of a script written without spaces."""
    if not isinstance(text, str):
        return sum(lead_words(p) for p in text)
    spaceless = len(_SPACELESS.findall(text))
    rest = _SPACELESS.sub(" ", text)
    return len(rest.split()) + math.ceil(spaceless / CHARS_PER_WORD)


def pick_lead(
    paragraphs: Sequence[str],
    title: str = "",
    *,
    max_paragraphs: int = LEAD_PARAGRAPHS,
    max_words: int = LEAD_WORDS,
) -> tuple[str, ...]:
    """The first `max_paragraphs` prose paragraphs, together at most `max_words` words.

    Paragraphs that are not prose (see `is_prose`) are skipped. Each picked paragraph is kept
    whole when it fits what is left of the budget; otherwise only its leading sentences that
    fit are kept, and the lead ends there. Cuts are always at a sentence end, never mid-word.

    A lead is never empty when the article has prose: if the first paragraph's first sentence
    alone is longer than the budget, that sentence is kept whole (going over the budget),
    because half a sentence reads worse than a long one. Only a "sentence" of more than twice
    the budget (a paragraph with no sentence punctuation at all) is cut at the last word that
    fits, and marked with "…".
    """
    lead: list[str] = []
    budget = max_words
    for p in paragraphs:
        if len(lead) >= max_paragraphs or budget <= 0:
            break
        if not is_prose(p, title):
            continue
        text = clean(p)
        if lead_words(text) <= budget:
            lead.append(text)
            budget -= lead_words(text)
            continue
        cut = _fit(text, budget)
        if cut:
            lead.append(cut)
        elif not lead:
            lead.append(_first_sentence(text, max_words))
        break
    return tuple(lead)


def summarise(article: Article, lead: LeadSettings | None = None) -> Article:
    """The article with its lead set (by default `LeadSettings()`, the default lead)."""
    lead = lead or LeadSettings()
    picked = pick_lead(
        article.paragraphs, article.title, max_paragraphs=lead.paragraphs, max_words=lead.words
    )
    return replace(article, lead=picked)


def is_prose(paragraph: str, title: str = "") -> bool:
    """Whether a paragraph can be part of a lead.

    It must have at least `MIN_WORDS` words and one sentence of at least `MIN_WORDS` words
    (so "Like this story? Share it!" lines do not count), not be the headline or a near copy of
    it, and read as a sentence: end with sentence punctuation (closing quotes and a trailing
    emoji aside), or, lacking that, be long and in sentence case (few capitalised words), which a
    headline, byline, credit or list of links is not.

    Nor is it page furniture by form: a paragraph with a web address in it ("To order copies
    visit http://...", "More info: www.example.com"), a list (a run of short items between
    commas, bars or bullets, as in a line of tags), or a caption closed by a credit in brackets
    after its last sentence ("... on Thursday. (Jane Doe/Valley Post)").
    """
    text = clean(paragraph)
    words = text.split()
    n = lead_words(text)
    if n < MIN_WORDS or (title and _like_title(text, title)):
        return False
    sentences = split_sentences(text)
    if max(lead_words(s) for s in sentences) < MIN_WORDS:
        return False
    if _URL.search(text) or _is_list(text) or _CREDIT.search(text):
        return False
    end = _strip_trailing_symbols(text).rstrip(_CLOSERS)
    if end[-1:] in _TERMINAL + ":":
        return True
    if end.endswith(")") and end[-2:-1] in _TERMINAL:
        return True
    capitalised = sum(1 for w in words if w[:1].isupper())
    return n >= 12 and capitalised / len(words) <= 0.3 and "|" not in text


def _is_list(text: str) -> bool:
    """A run of at least five short items (four words or fewer on average) between commas,
    bars or bullets, with at most one sentence end: tags, keywords, a list of links."""
    items = [i for i in _LIST_SEPARATORS.split(text) if i]
    ends = sum(text.count(c) for c in ".!?。！？")
    return len(items) >= 5 and lead_words(text) / len(items) <= 4 and ends <= 1


def split_sentences(text: str) -> list[str]:
    """The sentences of a paragraph (abbreviations such as "Gov." or "U.S." do not end one; in
    scripts without spaces, 。！？ end one with no space after them)."""
    if _CJK_END.search(text):
        parts, start = [], 0
        for m in _CJK_END.finditer(text):
            parts.append(text[start : m.end()])
            start = m.end()
        parts.append(text[start:])
        return [s for part in parts if part.strip() for s in _split_latin(part)]
    return _split_latin(text)


def _split_latin(text: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        before = text[start : m.start()]
        if _ABBREVIATION.search(before):
            continue
        out.append(text[start : m.end()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def _like_title(text: str, title: str) -> bool:
    """The headline, the headline with the site's name, or a near copy of it."""
    a, t = norm(text), norm(title)
    if not a or not t:
        return False
    if a in t or (t in a and len(a) <= 1.5 * len(t)):
        return True
    return len(a) <= 2 * len(t) and SequenceMatcher(None, a, t).ratio() >= 0.8


def _strip_trailing_symbols(text: str) -> str:
    """Without trailing emoji, symbols and hashtags (`... on KLOOK! 🙂`, `... #ad`)."""
    words = text.split()
    while words and (
        words[-1].startswith("#")
        or all(unicodedata.category(c)[0] in "SZC" or c in "\ufe0f\u200d" for c in words[-1])
    ):
        words.pop()
    return " ".join(words)


def _fit(text: str, budget: int) -> str:
    """The leading sentences of `text` that fit in `budget` words ("" if the first does not)."""
    out: list[str] = []
    used = 0
    for sentence in split_sentences(text):
        n = lead_words(sentence)
        if used + n > budget:
            break
        out.append(sentence)
        used += n
    # Sentences of a script without spaces were not separated by one.
    return "".join(
        s if i == 0 or out[i - 1][-1:] in "。！？」』" else " " + s for i, s in enumerate(out)
    )


def _first_sentence(text: str, max_words: int) -> str:
    """The first sentence whole, unless it is over twice the budget: then its first
    `max_words` words and "…"."""
    first = split_sentences(text)[0]
    if lead_words(first) <= 2 * max_words:
        return first
    words = first.split()
    if len(words) <= max_words:  # a script without spaces: cut by characters
        return first[: max_words * CHARS_PER_WORD].rstrip(",;:、，-–—") + "…"
    return " ".join(words[:max_words]).rstrip(",;:-–—") + "…"
