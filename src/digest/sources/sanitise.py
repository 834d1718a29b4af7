"""Make feed HTML safe, then turn it into plain-text paragraphs for the summariser.

Feed HTML is other people's markup: it may carry scripts, styles, iframes, forms, event handlers
and 1x1 tracking pixels. nh3 (the Rust `ammonia` sanitiser) removes them; only then is the text
read out of it. No template ever sees feed HTML, only the paragraphs and one image URL.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, replace

import nh3

from ..text import clean, line, paragraphs
from ..urls import http_url

__all__ = [
    "FeedText",
    "feed_text",
    "inline_text",
    "is_tracking_image",
    "pixel_size",
    "plain_paragraphs",
    "sanitise_html",
]

# Removed together with everything inside them.
DROP_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "form",
        "button",
        "select",
        "textarea",
        "noscript",
        "object",
        "embed",
        "applet",
        "template",
        "svg",
        "math",
        "audio",
        "video",
        "canvas",
        "head",
        "title",
    }
)
ALLOWED_TAGS = frozenset(nh3.ALLOWED_TAGS - {"area", "map"})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "blockquote": {"cite"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROP_WITH_CONTENT),
    attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)

# Images that only count opens: tiny, or served by a known counter.
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'\b(src|width|height)="([^"]*)"', re.IGNORECASE)
TRACKER_HINTS = (
    "feeds.feedburner.com/~r/",
    "feedburner.com/~ff/",
    "/pixel",
    "pixel.",
    "stats.wordpress.com",
    "pixel.wp.com",
    "doubleclick.net",
    "/beacon",
    "/track/open",
    "open.gif",
    "spacer.gif",
    "blank.gif",
)

_BLOCKS = frozenset(
    {
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "table",
        "tr",
        "caption",
        "figcaption",
        "figure",
        "hr",
        "section",
        "article",
        "aside",
        "header",
        "footer",
        "nav",
        "details",
        "summary",
        "center",
        "hgroup",
    }
)


@dataclass(frozen=True)
class FeedText:
    """What is left of an entry's HTML: paragraphs of plain text and its first real image,
    with the size and alt text its tag gave."""

    paragraphs: tuple[str, ...]
    image: str | None = None
    image_alt: str | None = None
    image_width: int | None = None
    image_height: int | None = None


MAX_IMAGE_PIXELS = 10_000
_PIXELS = re.compile(r"^\s*(\d{1,6})(?:\.0+)?\s*(?:px)?\s*$", re.IGNORECASE | re.ASCII)


def pixel_size(value: object) -> int | None:
    """An image's width or height as a feed or page writes it ("600", "600px", 600), when it
    is a whole number of pixels from 1 to `MAX_IMAGE_PIXELS`; else None (a percentage, "auto",
    a typo or a joke is no size the email can reserve)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        n = value
    else:
        m = _PIXELS.match(str(value)) if isinstance(value, str | float) else None
        if m is None:
            return None
        n = int(m.group(1))
    return n if 1 <= n <= MAX_IMAGE_PIXELS else None


def _is_tracking_pixel(tag: str) -> bool:
    attrs = {k.lower(): v for k, v in _ATTR.findall(tag)}
    return is_tracking_image(attrs.get("src"), attrs.get("width"), attrs.get("height"))


def is_tracking_image(src: object, width: object = None, height: object = None) -> bool:
    """An image that only counts opens: 0 or 1 pixel wide or high, or served by a known
    counter. Used for `<img>` tags and for images a feed names elsewhere (media, JSON Feed)."""
    for dim in (width, height):
        value = str(dim or "").strip().lower().removesuffix("px")
        if value in ("0", "1"):
            return True
    url = str(src or "").lower()
    return not url or any(hint in url for hint in TRACKER_HINTS)


def sanitise_html(html: str) -> str:
    """Safe HTML: no scripts, styles, iframes, forms, event handlers or tracking pixels."""
    cleaned = _CLEANER.clean(html)
    return _IMG.sub(lambda m: "" if _is_tracking_pixel(m.group(0)) else m.group(0), cleaned)


# A second, stricter cleaner for reading text: only the tags that shape paragraphs survive, so
# what is left can be split with regular expressions instead of a Python HTML parser.
_TEXT_CLEANER = nh3.Cleaner(
    tags=set(_BLOCKS | {"br", "img"}),
    clean_content_tags=set(DROP_WITH_CONTENT),
    attributes={"img": {"src", "alt", "width", "height"}},
    url_schemes={"http", "https"},
    link_rel=None,
    strip_comments=True,
)
_BLOCK_TAG = re.compile(r"</?(?:{})\b[^>]*>".format("|".join(sorted(_BLOCKS))), re.IGNORECASE)
_BR = re.compile(r"<br\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")
_ALT = re.compile(r'\balt="([^"]*)"', re.IGNORECASE)


def _first_image(cleaned: str, base_url: str | None) -> FeedText:
    """The first image that is not a tracking pixel, with its alt text and the width and
    height its tag declares (nh3 has quoted every attribute, so a pattern reads them)."""
    for m in _IMG.finditer(cleaned):
        tag = m.group(0)
        if _is_tracking_pixel(tag):
            continue
        attrs = {k.lower(): html_lib.unescape(v) for k, v in _ATTR.findall(tag)}
        url = http_url(attrs.get("src", ""), base_url)
        if url:
            alt = _ALT.search(tag)
            return FeedText(
                (),
                url,
                image_alt=(line(html_lib.unescape(alt.group(1))) or None) if alt else None,
                image_width=pixel_size(attrs.get("width")),
                image_height=pixel_size(attrs.get("height")),
            )
    return FeedText(())


def feed_text(html: str, base_url: str | None = None) -> FeedText:
    """Sanitise an entry's HTML and read it as paragraphs; relative image URLs use `base_url`.

    A block element or two line breaks in a row end a paragraph; one line break is a space.
    """
    cleaned = _TEXT_CLEANER.clean(html)
    image = _first_image(cleaned, base_url)
    text = _BR.sub("\n", _BLOCK_TAG.sub("\n\n", cleaned))
    text = html_lib.unescape(_TAG.sub("", text))
    # Only spaces and tabs make a line blank here: a line holding a no-break space (`&nbsp;`
    # between two `<br>`) stays inside its paragraph, as it always has.
    found = tuple(p for p in (clean(b) for b in _BLANK_LINE.split(text)) if p)
    return replace(image, paragraphs=found)


def plain_paragraphs(text: str) -> tuple[str, ...]:
    """Paragraphs of a plain-text entry: blank lines separate them, lines within one are joined.

    Feeds often put HTML where plain text belongs; text that holds markup is sanitised and
    read like HTML, so no script or tag reaches an article through a "plain text" field.
    """
    if _MARKUP.search(text):
        return feed_text(text).paragraphs
    return paragraphs(text)


# An opening or closing tag, a comment or a doctype: what makes "plain text" really HTML.
_MARKUP = re.compile(r"<(?:[a-zA-Z][^<>]*>?|/[a-zA-Z][^<>]*>|!)")
_INLINE_CLEANER = nh3.Cleaner(
    tags=set(),
    clean_content_tags=set(DROP_WITH_CONTENT),
    attributes={},
    link_rel=None,
    strip_comments=True,
)


def inline_text(html: str) -> str:
    """One line of plain text (a title, an author) from feed HTML: tags and scripts removed,
    entities decoded, spaces collapsed. Markup that was escaped once more (`&lt;b&gt;`) is
    removed too: a title never carries tags."""
    text = html
    for _ in range(2):
        text = html_lib.unescape(_INLINE_CLEANER.clean(text))
        if not _MARKUP.search(text):
            break
    else:
        text = _MARKUP.sub("", text)
    return clean(text)
