"""One story, one slot: the items of an issue that tell the same story, grouped, so the issue
shows the story once and names the other sources under it ("Also covered by"). Pure: it runs
between gathering (which already made the same id or canonical URL one item) and the
summariser, on each item's headline and the opening of its text (the lead is picked later, from
that text).

How items are found to tell the same story:

1. **Candidates** (near-linear): a MinHash (datasketch) of each item's headline words and one
   of its opening's word pairs go into two LSH indexes; only items that share a bucket in
   either are ever compared, never all pairs.
2. **Confirmed on the text** (rapidfuzz): headlines alone cannot tell "Alibaba prices its Hong
   Kong listing" from "Alibaba shares jump in Hong Kong debut", so a candidate pair is the same
   story when the openings of its texts match closely (the same copy, a teaser of it, a
   re-worded rewrite), or when the headlines, the first words and the openings all match well
   (one event reported twice). Texts too short to tell apart (a headline and a few words) are
   one story only when headline and text are the same.
3. **Groups join by majority**: two groups become one only when most pairs across them agree,
   so a chain of near misses cannot make one story of two. A group never holds two items of one
   source, and an opening a source gives several of its items (a blurb) counts as no text.

The thresholds were set on the labelled set in `tests/data/grouping/` (the rule: no false
merges there; `bench/bench_group.py` prints the precision and recall).

Which copy the issue shows: the one from the source with the highest `priority`, else the one
with the most text (the summariser picks its lead from that text, and a teaser gives less),
else the newest, then by id so two runs agree. The others become its `Article.also`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import pairwise

from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from .gather import Choice
from .models import Article, Coverage, Item
from .text import UNSPACED, word_count

__all__ = ["StoryText", "group_choice", "same_story", "similar_groups", "story_text"]

OPENING_WORDS = 100
"""How much of a text is compared: its opening, where a story says what happened."""
FIRST_WORDS = 30
"""The first sentence or two: what the event is."""
MIN_WORDS = 8
"""Below this, a text says too little to tell two stories apart."""
SAME_TEXT = 88
"""The openings match this closely (rapidfuzz token set ratio, 0-100): the same copy, a
teaser of it, or a re-worded rewrite."""
SAME_EVENT = (65, 66, 65)
"""Headlines, first words and openings all at least this: one event, reported twice."""

NAMES_SHARED = 0.5
"""Openings sharing less than this share of their names and numbers are different events."""

LINKED = 8
"""Two groups join when most of the first LINKED copies of each match (work stays bounded)."""

_PERM = 64
_TITLE_LSH = 0.5
_OPENING_LSH = 0.3
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class StoryText:
    """What grouping compares of an item: its headline and its opening, as words."""

    title: tuple[str, ...]
    opening: tuple[str, ...]
    names: frozenset[str] = frozenset()
    """Who and what the first words name: capitalised words inside a sentence, and numbers."""


def story_text(title: str, paragraphs: Sequence[str]) -> StoryText:
    """The words of a headline and of the first OPENING_WORDS of a text, lower case, without
    punctuation; a script written without spaces counts each two characters as a word."""
    text = " ".join(paragraphs)
    return StoryText(_words(title), _words(text)[:OPENING_WORDS], _names(text))


def same_story(a: StoryText, b: StoryText) -> bool:
    """Whether two items tell the same story (the confirmation; see the module's docs)."""
    if min(len(a.opening), len(b.opening)) < MIN_WORDS:
        return a == b and bool(a.opening)
    if _other_names(a.names, b.names):
        return False
    opening = fuzz.token_set_ratio(" ".join(a.opening), " ".join(b.opening))
    if opening >= SAME_TEXT:
        return True
    t, f, o = SAME_EVENT
    return (
        opening >= o
        and fuzz.token_set_ratio(" ".join(a.title), " ".join(b.title)) >= t
        and fuzz.token_set_ratio(
            " ".join(a.opening[:FIRST_WORDS]), " ".join(b.opening[:FIRST_WORDS])
        )
        >= f
    )


def similar_groups(
    texts: Sequence[StoryText], sources: Sequence[Hashable] | None = None
) -> list[tuple[int, ...]]:
    """The indexes of `texts` grouped by story: every index once, each group in index order,
    the groups in the order of their first index. With `sources` (each text's source), a
    group never holds two texts of one source: a feed that gives every item the same blurb
    has not told one story many times, and "also covered by" names other sources."""
    # datasketch pulls in SciPy (about 90 MB and half a second): imported when an issue is
    # grouped, not by every command that imports the pipeline (`digest poll` never groups).
    from datasketch import MinHash, MinHashLSH

    origin = list(sources) if sources is not None else list(range(len(texts)))
    texts = _without_blurbs(texts, origin)
    titles = MinHash.bulk(([w.encode() for w in t.title] for t in texts), num_perm=_PERM)
    openings = MinHash.bulk((_shingles(t.opening) for t in texts), num_perm=_PERM)
    by_title = MinHashLSH(threshold=_TITLE_LSH, num_perm=_PERM)
    by_opening = MinHashLSH(threshold=_OPENING_LSH, num_perm=_PERM)
    for i, (t, o) in enumerate(zip(titles, openings, strict=True)):
        if texts[i].title:
            by_title.insert(i, t)
        if texts[i].opening:
            by_opening.insert(i, o)
    group = list(range(len(texts)))
    """Each index's group, named by its first index."""
    members: dict[int, list[int]] = {i: [i] for i in range(len(texts))}
    told: dict[int, set[Hashable]] = {i: {origin[i]} for i in range(len(texts))}
    for i, text in enumerate(texts):
        near: set[int] = set()
        if text.title:
            near.update(by_title.query(titles[i]))
        if text.opening:
            near.update(by_opening.query(openings[i]))
        for j in sorted(j for j in near if j > i):
            a, b = group[i], group[j]
            if a == b or told[a] & told[b] or not same_story(text, texts[j]):
                continue
            if not _alike(texts, members[a], members[b]):
                continue
            keep, gone = min(a, b), max(a, b)
            moved = members.pop(gone)
            for k in moved:
                group[k] = keep
            members[keep] = sorted(members[keep] + moved)
            told[keep] |= told.pop(gone)
    return [tuple(m) for _, m in sorted(members.items())]


def _without_blurbs(texts: Sequence[StoryText], origin: Sequence[Hashable]) -> list[StoryText]:
    """The texts, less the openings a source gives more than one of its items ("Read the
    whole story on our site"): a blurb says nothing about which story an item tells, so such
    an item is grouped by nothing."""
    seen = Counter((o, t.opening) for o, t in zip(origin, texts, strict=True))
    return [
        StoryText(t.title, ()) if seen[(o, t.opening)] > 1 else t
        for o, t in zip(origin, texts, strict=True)
    ]


def _alike(texts: Sequence[StoryText], a: Sequence[int], b: Sequence[int]) -> bool:
    """Whether two groups may join: most pairs across them (of the first LINKED copies of
    each) tell the same story, so no chain of near misses ("budget vote" ~ "budget vote, with
    background" ~ "budget protest, with the same background") makes one story of two, while a
    teaser that a rewrite does not match on its own still joins its story."""
    pairs = [(x, y) for x in a[:LINKED] for y in b[:LINKED]]
    agree = sum(same_story(texts[x], texts[y]) for x, y in pairs)
    return 2 * agree > len(pairs)


def group_choice(choice: Choice) -> Choice:
    """`choice` with each story once: the items that tell the same story become one item (the
    copy to show, see the module's docs) whose article lists the others in `also`. A story
    counts as chosen when any of its copies was (else it stays past its source's
    `max_items`, held over like one), carried over when any copy was, and kept as long as its
    longest-kept copy."""
    pool = (*choice.items, *choice.over_max)
    if len(pool) < 2:
        return choice
    texts = [story_text(i.article.title, i.article.paragraphs) for i in pool]
    groups = similar_groups(texts, [i.source for i in pool])
    if all(len(g) == 1 for g in groups):
        return choice
    chosen = len(choice.items)
    first: dict[int, tuple[int, ...]] = {g[0]: g for g in groups}
    items: list[Item] = []
    over_max: list[Item] = []
    carried: set[str] = set()
    until = dict(choice.until)
    for start, members in sorted(first.items()):
        copies = [pool[k] for k in members]
        shown = _shown(copies)
        story = _with_also(shown, [c for c in copies if c is not shown])
        (items if start < chosen else over_max).append(story)
        ids = [c.article.id for c in copies]
        if any(i in choice.carried for i in ids):
            carried.add(shown.article.id)
        kept = [choice.until.get(i) for i in ids]
        until[shown.article.id] = None if None in kept else max(k for k in kept if k)
    return replace(
        choice,
        items=tuple(items),
        over_max=tuple(over_max),
        carried=frozenset(carried),
        until=until,
    )


def _shown(copies: Sequence[Item]) -> Item:
    """The copy an issue shows: highest priority, most text, newest, then the smallest id."""
    return min(
        copies,
        key=lambda i: (
            -i.source.priority,
            -word_count(i.article.paragraphs),
            -(i.article.published or _NEVER).timestamp(),
            i.article.id,
        ),
    )


def _with_also(shown: Item, others: Sequence[Item]) -> Item:
    """The shown copy with the others as its coverage, highest priority first, then by name.
    The story reaches every reader one of its copies would have reached: it has no topic (every
    reader's) when one copy has none, else every copy's topics."""
    ranked = sorted(others, key=lambda i: (-i.source.priority, _name(i.article).casefold()))
    also = tuple(Coverage(_name(i.article), i.article.url, i.article.id) for i in ranked)
    copies = (shown, *others)
    everyone = any(not i.article.topics for i in copies)
    topics = () if everyone else tuple(sorted({t for i in copies for t in i.article.topics}))
    article = replace(shown.article, also=(*shown.article.also, *also), topics=topics)
    return replace(shown, article=article)


def _name(article: Article) -> str:
    return article.site or article.source


def _shingles(words: Sequence[str]) -> list[bytes]:
    """Word pairs: two texts share them when they share phrases, not just common words (two
    news stories share "the", "said" and "on"; copies of one share "said on tuesday")."""
    if len(words) < 2:
        return [w.encode() for w in words]
    return [f"{a} {b}".encode() for a, b in pairwise(words)]


_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)\b([A-Z][\w'’-]+|\w*\d[\w.,:'’-]*)")


def _names(text: str) -> frozenset[str]:
    """The names and numbers of the first FIRST_WORDS words (a sentence's first word is
    capitalised anyway, so it is left out)."""
    head = " ".join(text.split()[:FIRST_WORDS])
    return frozenset(m.group(1).casefold().rstrip(".,:") for m in _NAME.finditer(head))


def _other_names(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two openings that name mostly different people, places or scores are different events,
    however alike their other words (a match report or a bulletin written to a template)."""
    if len(a) < 2 or len(b) < 2:
        return False
    return len(a & b) / min(len(a), len(b)) < NAMES_SHARED


def _words(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for word in default_process(text).split():
        if UNSPACED.search(word) and len(word) > 2:
            out.extend(word[k : k + 2] for k in range(len(word) - 1))
        else:
            out.append(word)
    return tuple(out)
