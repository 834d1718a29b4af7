"""Main text and metadata out of an article's HTML page, with trafilatura.

trafilatura finds the main text; this module turns its output tree into the article's body
paragraphs. It reads the tree's structure rather than its flat text, because the structure says
what the flat text cannot: a headline or a dek set as a heading is not a paragraph, a teaser
printed above the headline is not the body, a `<br>` inside a paragraph may be a hard wrap.
A line that is mostly link text on the page (a menu, a "click here") is navigation, not a
paragraph. Two repairs go back to the page itself: a first paragraph that trafilatura cut short
is taken whole from the page's HTML, and one that an inline widget (a hover card) has spliced
words into is replaced by the page's own summary (its `og:description`) when that is the clean
text.

Everything here is a general rule about form and structure; there is no list of sites or
phrases.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import trafilatura
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from ..text import clean, norm, parse_iso, site_line, word_count
from ..text import line as one_line
from .sanitise import is_tracking_image, pixel_size


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
    image_alt: str | None = None
    image_width: int | None = None
    image_height: int | None = None
    """The image's own size from its `og:image:width` and `og:image:height`, when given."""
    site: str | None = None
    """The publisher's name for itself (`og:site_name`)."""


@dataclass(frozen=True)
class _Block:
    """One block of trafilatura's output: a paragraph, heading, list item or quote."""

    kind: str
    text: str
    bold: bool = False


_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_TERMINAL = ".!?…"
_TRUNCATED = re.compile(r"(?:\.\.\.|…)\s*$")
MIN_SENTENCE_WORDS = 8
"""A sentence of the page's summary this long, found in a bold block, marks the news lead."""


def extract_html(html: str | bytes, url: str | None = None) -> Extracted:
    """Extract the main text of a page as paragraphs, plus title, date, author and image.

    The paragraphs begin where the article's body begins: headings, and anything trafilatura
    kept from above the headline, are not part of them.
    """
    tree = load_html(html)
    if tree is None:
        return Extracted(title=None, paragraphs=(), url=url)
    _drop_hover_cards(tree)
    doc = trafilatura.bare_extraction(
        tree,
        url=url,
        include_comments=False,
        include_tables=False,
        include_formatting=True,
        with_metadata=True,
    )
    if doc is None or doc.body is None:
        return Extracted(title=None, paragraphs=(), url=url)
    title = doc.title or None
    description = clean(doc.description or "") or None
    blocks = _after_headline(_blocks(doc.body), title or "")
    paragraphs = [b.text for b in _body_start(blocks, description) if b.kind != "head"]
    paragraphs = _restore_cut(paragraphs, tree)
    if description:
        paragraphs = _repair_with_summary(paragraphs, description)
    paragraphs = _without_navigation(paragraphs, tree)
    return Extracted(
        title=title,
        paragraphs=tuple(paragraphs),
        url=doc.url or url,
        published=_published(tree) or parse_iso(doc.date),
        author=doc.author or None,
        **_page_meta(tree, doc.image),
        description=description,
    )


# -- trafilatura's tree to blocks ---------------------------------------------------------------


_BLOCKS = frozenset({"p", "head", "quote", "item", "li", "blockquote", "pre", "code", "dd", "dt"})
_BOLD = frozenset({"b", "strong"})
_QUOTES = frozenset({"quote", "blockquote"})
_BREAKS = frozenset({"lb", "br"})
_BLOCK_LEVEL = (
    _BLOCKS
    | _HEADINGS
    | frozenset(
        {"div", "section", "article", "main", "header", "footer", "aside", "nav", "figure"}
        | {"figcaption", "center", "ul", "ol", "dl", "list", "table", "tr", "td", "th", "form"}
    )
)


def _blocks(body: etree._Element) -> list[_Block]:
    """The output tree as flat blocks. trafilatura's own output is flat (`p`, `head`, `list`);
    its fallback extractors return nested HTML (`div`, `h1`, `li`), walked the same way.
    Text lying loose in a container counts as a paragraph of its own."""
    out: list[_Block] = []

    def add(kind: str, el: etree._Element | None, text: str) -> None:
        bold = el is not None and _all_bold(el)
        out.extend(_Block(kind, line, bold) for line in _lines(el, text))

    def walk(node: etree._Element) -> None:
        if node.text and node.text.strip():
            add("p", None, node.text)
        for el in node:
            if not isinstance(el.tag, str):
                pass
            elif el.tag in _BLOCKS or el.tag in _HEADINGS:
                kind = _kind(el.tag)
                add(kind, el, "")
            elif el.tag not in _BREAKS:
                walk(el)
            if el.tail and el.tail.strip():
                add("p", None, el.tail)

    walk(body)
    return out


def _kind(tag: str) -> str:
    """A block's kind: "head" for a heading, "quote" for a quotation set apart, else "p"."""
    if tag == "head" or tag in _HEADINGS:
        return "head"
    return "quote" if tag in _QUOTES else "p"


def _lines(el: etree._Element | None, text: str) -> list[str]:
    """The element's text (or `text`), split at line breaks and nested blocks, with
    hard-wrapped lines joined again: a line that does not end a sentence, followed by one in
    lower case, continues it."""
    parts: list[str] = [text]

    def walk(node: etree._Element) -> None:
        parts[-1] += node.text or ""
        for child in node:
            if child.tag in _BREAKS:
                parts.append("")
            elif child.tag in _BLOCK_LEVEL:
                parts.append("")
                walk(child)
                parts.append("")
            elif isinstance(child.tag, str):
                walk(child)
            parts[-1] += child.tail or ""

    if el is not None:
        walk(el)
    lines: list[str] = []
    for raw in parts:
        line = clean(raw)
        if not line:
            continue
        if lines and lines[-1][-1] not in _TERMINAL + ":" and line[0].islower():
            lines[-1] += " " + line
        else:
            lines.append(line)
    return lines


def _all_bold(el: etree._Element) -> bool:
    """Whether every word of the block is in bold: a subhead, a kicker or a promotion box."""
    bold = "".join(
        "".join(b.itertext())
        for b in el.iter()
        if b is not el and (b.tag in _BOLD or (b.tag == "hi" and "#b" in (b.get("rend") or "")))
    )
    return bool(clean(bold)) and len(clean(bold)) >= len(clean("".join(el.itertext())))


# -- where the body begins ----------------------------------------------------------------------


def _is_headline(text: str, title: str) -> bool:
    """Whether `text` is the page's title or the headline part of it ("Site | Headline")."""
    a, t = norm(text), norm(title)
    if not a or not t:
        return False
    return a == t or (word_count(text) >= 3 and a in t and len(a) >= 0.5 * len(t))


def _after_headline(blocks: list[_Block], title: str) -> list[_Block]:
    """Blocks after the headline, when the headline shows up in the first half of them:
    what comes before it (teasers, navigation, a site's tagline) is not the article."""
    if not title:
        return blocks
    half = max(3, len(blocks) // 2)
    last = -1
    for i, b in enumerate(blocks[:half]):
        if _is_headline(b.text, title):
            last = i
    return blocks[last + 1 :]


def _body_start(blocks: list[_Block], description: str | None = None) -> list[_Block]:
    """Drop the bold blocks and quotations above the first plain paragraph: kickers,
    promotions, a dek set in bold, a pull quote or an embedded post set above the story are the
    page's furniture; the body begins in plain text. A bold block that holds the page's own
    summary (its description), or a whole sentence of it, is the article's first paragraph set
    in bold, and stays."""
    summary = [norm(s) for s in _summary_sentences(description or "")]

    def lead_in_bold(b: _Block) -> bool:
        text = norm(b.text)
        return any(s in text for s in summary)

    def furniture(b: _Block) -> bool:
        return b.kind == "quote" or (b.bold and not lead_in_bold(b))

    for i, b in enumerate(blocks):
        if b.kind == "head":
            continue
        if not b.bold and b.kind != "quote":
            return [x for x in blocks[:i] if not furniture(x)] + blocks[i:]
    return blocks


_SENTENCE_GAP = re.compile(r"(?<=[.!?…])\s+")


def _summary_sentences(description: str) -> list[str]:
    """The description whole and each of its sentences of eight words or more, when at least
    40 characters long: texts that, found again in a bold block, show it is the news lead and
    not a promotion (whose words the page's summary does not repeat)."""
    parts = [description] + [
        s for s in _SENTENCE_GAP.split(description) if word_count(s) >= MIN_SENTENCE_WORDS
    ]
    return [p for p in parts if len(norm(p)) >= 40]


# -- links ------------------------------------------------------------------------------------

NAV_LINK_SHARE = 0.7
"""A line of the page whose letters are more than this share link text is navigation. (On the
tune half of the benchmark, the lines above it were all calls to click, subscribe or follow; a
real first paragraph with linked names went up to 0.6.)"""
_SKIP = frozenset({"script", "style", "noscript", "template"})


def _without_navigation(paragraphs: list[str], tree: HtmlElement) -> list[str]:
    """The paragraphs without those that are mostly link text on the page: a menu, a list of
    related stories, a "click here" line (link density, as jusText judges it). trafilatura
    keeps a link's text but not the link, so the share is read from the page's own line."""
    shares = _link_shares(tree)
    return [p for p in paragraphs if shares.get(norm(p), 0.0) <= NAV_LINK_SHARE]


def _link_shares(tree: HtmlElement) -> dict[str, float]:
    """Each line of the page's body (split at line breaks and block elements, as `_lines`
    splits them) by its normalised text, with the share of its letters that lie in a link.
    A line repeated on the page keeps its first share. The walk keeps its own stack rather
    than recursing: how deep a page nests is not ours to bound."""
    texts: list[list[str]] = [[]]
    linked: list[int] = [0]

    def new_line() -> None:
        texts.append([])
        linked.append(0)

    def add(text: str | None, in_link: bool) -> None:
        if text:
            texts[-1].append(text)
            linked[-1] += _letters(text) if in_link else 0

    body = tree.find(".//body")
    # (element, inside a link, whether this entry is the element's tail)
    todo: list[tuple[etree._Element, bool, bool]] = [] if body is None else [(body, False, False)]
    while todo:
        el, in_link, is_tail = todo.pop()
        block = el.tag in _BREAKS or el.tag in _BLOCK_LEVEL
        if is_tail:
            if block:
                new_line()
            add(el.tail, in_link)
            continue
        if not isinstance(el.tag, str) or el.tag in _SKIP:
            continue
        inner = in_link or el.tag == "a"
        if block:
            new_line()
        add(el.text, inner)
        for child in reversed(el):
            todo.extend(((child, inner, True), (child, inner, False)))
    shares: dict[str, float] = {}
    for parts, n in zip(texts, linked, strict=True):
        text = "".join(parts)
        if _letters(text):
            shares.setdefault(norm(text), n / _letters(text))
    return shares


def _letters(text: str) -> int:
    """Characters other than white space."""
    return len("".join(text.split()))


# -- hover cards ---------------------------------------------------------------------------------


def _drop_hover_cards(tree: HtmlElement) -> None:
    """Remove the pop-up cards that sites nest in a paragraph after a link: an element that
    follows a link with nothing between them and whose text begins with the link's text again
    (the card's heading) is a card, and its text would be glued into the sentence
    ("kill Rep. Ilhan OmarIlhan OmarHillicon Valley: ..."). The text after the card stays."""
    for link in list(tree.iter("a")):
        name = clean(link.text_content())
        card = link.getnext()
        if len(name) < 3 or card is None or (link.tail or "").strip():
            continue
        if not isinstance(card.tag, str) or card.tag == "a":
            continue
        if clean(card.text_content()).startswith(name) and len(card.text_content()) > len(name):
            tail = card.tail or ""
            parent = card.getparent()
            card.tail = None
            link.tail = (link.tail or "") + tail
            parent.remove(card)


# -- paragraphs cut short ----------------------------------------------------------------------

_MAX_LINE_WORDS = 250
_CONTAINERS = frozenset(
    {"p", "div", "section", "article", "main", "li", "td", "blockquote", "body", "dd"}
)


def _restore_cut(paragraphs: list[str], tree: HtmlElement) -> list[str]:
    """The first paragraphs whole again where trafilatura lost their beginning or end.

    trafilatura can drop the text lying directly in a `<div>` on one side of an inline element
    (`<div>Text <em>Name</em>. More text<br>...`) and keep only the rest. The page's own line
    holding the paragraph, when it says more than the paragraph around the same words, is
    the whole paragraph.
    """
    body = tree.find(".//body")
    if body is None:
        return paragraphs
    out = list(paragraphs)
    for i, p in enumerate(out[:3]):
        text = clean(p)
        if len(text) < 60 or not _looks_cut(text):
            continue
        target = norm(p)
        for needle in (text[:30], text[-30:]):
            block = _block_holding(body, needle)
            line = _line_around(block, target) if block is not None else None
            if line and word_count(line) <= _MAX_LINE_WORDS:
                out[i] = line
                break
    return out


def _looks_cut(text: str) -> bool:
    """Starts with a fragment ("Name. More text") or ends without sentence punctuation."""
    first = re.split(r"(?<=[.!?…])\s", text, maxsplit=1)[0]
    return word_count(first) < 3 or text.rstrip('"”’)')[-1:] not in _TERMINAL


def _line_around(block: HtmlElement, target: str) -> str | None:
    """The line of `block` that holds the normalised text `target` and more: a sentence
    start before it, or a sentence end after it."""
    for line in _lines(block, ""):
        have = norm(line)
        if have == target or target not in have:
            continue
        if have.endswith(target) and line[:1].isupper():
            return line
        if have.startswith(target) and line[-1:] in _TERMINAL + '"”’)':
            return line
    return None


def _block_holding(body: HtmlElement, needle: str) -> HtmlElement | None:
    """The nearest block element around the text node that contains `needle`."""
    for el in body.iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style"):
            continue
        if needle in clean(el.text or ""):
            holder = el
        elif needle in clean(el.tail or ""):
            holder = el.getparent()
        else:
            continue
        for anc in (holder, *holder.iterancestors()):
            if anc.tag in _CONTAINERS:
                return anc
        return None
    return None


# -- the page's own summary ---------------------------------------------------------------------


def _repair_with_summary(paragraphs: list[str], description: str) -> list[str]:
    """One of the first paragraphs that is the page's summary with words spliced into its
    middle (a hover card or a pop-up inside the text) is replaced by the summary.

    (The summary is not added as a standfirst when trafilatura left it out: on the corpus,
    pages whose body starts with it and pages whose body does not were about one to seven.)
    """
    if _TRUNCATED.search(description):
        return paragraphs
    target = norm(description)
    for i, p in enumerate(paragraphs[:3]):
        if norm(p) == target or target in norm(p):
            return paragraphs
        if _spliced(description, p):
            return [*paragraphs[:i], description, *paragraphs[i + 1 :]]
    return paragraphs


def _spliced(summary: str, paragraph: str) -> bool:
    """Whether `paragraph` is `summary` with a run of extra words inserted in it."""
    if len(paragraph) <= len(summary):
        return False
    head = 0
    while head < len(summary) and summary[head] == paragraph[head]:
        head += 1
    tail = 0
    while tail < len(summary) - head and summary[-1 - tail] == paragraph[-1 - tail]:
        tail += 1
    return head + tail >= len(summary) and head >= 15 and tail >= 15


# -- metadata ---------------------------------------------------------------------------------


def _published(tree: HtmlElement) -> datetime | None:
    """The publication time (with its time of day) from the page's meta tags or JSON-LD."""
    for value in tree.xpath(
        "//meta[@property='article:published_time' or @name='article:published_time'"
        " or @itemprop='datePublished' or @name='pubdate' or @name='date']/@content"
    ):
        dt = parse_iso(value)
        if dt:
            return dt
    for script in tree.xpath("//script[@type='application/ld+json']/text()"):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        items = data if isinstance(data, list) else [data]
        if isinstance(data, dict) and isinstance(data.get("@graph"), list):
            items = data["@graph"]
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("datePublished"), str):
                dt = parse_iso(item["datePublished"])
                if dt:
                    return dt
    return None


@dataclass
class _OgImage:
    """One `og:image` of a page with the structured properties that follow it."""

    urls: list[str]
    width: str | None = None
    height: str | None = None
    alt: str | None = None


def _og_images(tree: HtmlElement) -> list[_OgImage]:
    """The page's `og:image`s in order. Open Graph writes an image's `:width`, `:height` and
    `:alt` after its `og:image` (or `:url`), so each belongs to the image before it."""
    images: list[_OgImage] = []
    for meta in tree.xpath("//meta[@property or @name]"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        value = (meta.get("content") or "").strip()
        if not key.startswith("og:image") or not value:
            continue
        part = key.removeprefix("og:image").removeprefix(":")
        if part in ("", "url") or not images:
            images.append(_OgImage([value]))
        elif part == "secure_url":
            images[-1].urls.append(value)
        elif part in ("width", "height", "alt") and getattr(images[-1], part) is None:
            setattr(images[-1], part, value)
    return images


def _meta_content(tree: HtmlElement, *keys: str) -> str | None:
    """The first non-empty `content` of a meta tag named (property or name) one of `keys`."""
    for meta in tree.xpath("//meta[@property or @name]"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        if key in keys and (meta.get("content") or "").strip():
            return str(meta.get("content"))
    return None


def _page_meta(tree: HtmlElement, image: str | None) -> dict[str, Any]:
    """The page's image (trafilatura's pick) with the size and alt text its Open Graph tags
    give it, and the site's own name. An image declared 1x1, or served by a counter, is a
    tracking pixel and no image."""
    width = height = alt = None
    if image:
        og = next((i for i in _og_images(tree) if image.strip() in i.urls), None)
        if og is not None:
            width, height, alt = og.width, og.height, og.alt
        else:
            alt = _meta_content(tree, "twitter:image:alt")
        if is_tracking_image(image, width, height):
            image = width = height = alt = None
    return {
        "image": image or None,
        "image_alt": (one_line(alt) or None) if alt else None,
        "image_width": pixel_size(width),
        "image_height": pixel_size(height),
        "site": site_line(_meta_content(tree, "og:site_name")),
    }
