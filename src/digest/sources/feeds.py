"""Turn a fetched feed (bytes and headers) into entries: RSS, Atom and JSON Feed, one function.

feedparser reads RSS 0.9x/1.0/2.0 and Atom 0.3/1.0, including ill-formed XML and odd encodings;
its own HTML sanitiser is switched off because nh3 (see `sanitise`) does that job faster.
feedparser 6 reads no JSON Feed, so JSON Feed 1.0/1.1 goes through `jsonfeed`.
An HTML page is not a feed: its `<link rel="alternate">` feed links are returned instead.

Everything is behind `parse_feed`, so the parser can change without touching the rest.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

import feedparser

from ..text import as_utc
from ..urls import http_url
from .entries import ParsedFeed, RawItem, clean_categories, clean_title, collect
from .fetch import human_size
from .jsonfeed import parse_json_feed
from .polling import feed_hint
from .sanitise import FeedText, feed_text, is_tracking_image, pixel_size, plain_paragraphs

__all__ = ["ParsedFeed", "find_feed_links", "parse_feed"]

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
)
MAX_UNZIPPED = 50 * 1024 * 1024
_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>])", re.I | re.S
)
_XML_START = re.compile(rb"^\s*<(?:\?xml|rss|feed|rdf:RDF)", re.I)


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    feed_id: str | None = None,
    max_bytes: int | None = None,
) -> ParsedFeed:
    """Parse a feed document. Never raises: whatever is wrong becomes a line in `problems`.

    `url` is where the document came from (a URL or a file path): it resolves relative links.
    `feed_id` (default: `url`) qualifies bare GUIDs; pass the configured address, which stays
    the same when the server redirects elsewhere, so item ids do too. `headers` are the HTTP
    response headers (lower-case names), used for the declared content type and encoding.
    `max_bytes` caps a raw gzip document once unzipped (default `MAX_UNZIPPED`).
    """
    try:
        return _parse(body, url, headers, feed_id or url, max_bytes or MAX_UNZIPPED)
    except RecursionError:
        return ParsedFeed("", problems=("the document is nested too deeply to read",))


def _parse(
    body: bytes, url: str, headers: Mapping[str, str] | None, feed_id: str, cap: int
) -> ParsedFeed:
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    problems: list[str] = []
    if body[:2] == b"\x1f\x8b":
        try:
            body = _gunzip(body, cap)
        except (OSError, EOFError, zlib.error) as exc:
            return ParsedFeed("", problems=(f"the gzip-compressed document is broken ({exc})",))
        except _TooBig:
            return ParsedFeed("", problems=(f"unzipped, it is over {human_size(cap)}; not read",))
    if not body.strip():
        return ParsedFeed("", problems=("the document is empty",))
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if "json" in ctype or head.startswith((b"{", b"[")):
        return parse_json_feed(body, url, feed_id)
    if _HTML_START.match(head) or ("html" in ctype and not _XML_START.match(head)):
        links = find_feed_links(body, url)
        if not links:
            return ParsedFeed("html", problems=("an HTML page with no feed link in it",))
        return ParsedFeed("html", feed_links=links)
    return _parse_xml_feed(body, url, headers, problems, feed_id)


class _TooBig(Exception):
    pass


def _gunzip(body: bytes, cap: int) -> bytes:
    """Feeds saved or served as raw gzip without a Content-Encoding header; capped in size."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = d.decompress(body, cap + 1)
    if len(out) > cap:
        raise _TooBig
    if not d.eof:
        raise EOFError("it ends early")
    return out


def _parse_xml_feed(
    body: bytes, url: str, headers: dict[str, str], problems: list[str], feed_id: str
) -> ParsedFeed:
    # A file, or a server that names no type: let the XML declaration name the encoding.
    if not headers.get("content-type"):
        headers["content-type"] = "application/xml"
    body, declared = _without_entity_declarations(body)
    if declared == "refused":
        return ParsedFeed("", problems=(_ENTITIES_REFUSED,))
    if declared:
        problems.append(_ENTITIES_DROPPED)
    d = feedparser.parse(
        body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    entries, entry_problems = collect(
        (_from_feedparser(e, url) for e in d.entries), feed_id, len(d.entries)
    )
    if d.get("bozo"):
        problems.append(_describe_bozo(d.get("bozo_exception"), len(entries)))
    if not d.get("version") and not d.entries:
        problems.append("no RSS or Atom feed found in the document")
    return ParsedFeed(
        d.get("version") or "",
        title=clean_title(d.feed.get("title")),
        entries=entries,
        problems=tuple(problems + entry_problems),
        every=feed_hint(d.feed),
    )


_ROOT = re.compile(rb"<[A-Za-z_]")
_ENTITY = re.compile(rb"<!ENTITY", re.I)
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>", re.I)
_ENTITIES_DROPPED = (
    "the feed declares its own XML entities; read without them (digest expands none: a "
    "declared entity can turn a small feed into gigabytes of text)"
)
_ENTITIES_REFUSED = "a UTF-16 or UTF-32 feed that declares its own XML entities; not read"


def _without_entity_declarations(body: bytes) -> tuple[bytes, str]:
    """The document without what comes before its root element (DOCTYPE, entity declarations,
    comments), its XML declaration apart, when that part declares entities; and whether it did
    (`"dropped"`, or `"refused"` for a wide encoding this cannot edit safely).

    feedparser keeps every declared entity whose value holds no `&`, inside a DOCTYPE or not,
    and expat expands them up to 8 MiB of output per document (and feedparser's lenient
    parser, when expat stops, with no limit at all): one 10 KB entity referenced a thousand
    times is 10 MB of text. Feeds do not need their own entities, so none are read. External
    entities are never fetched either way.
    """
    head = body[:4]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head:
        for codec in ("utf-32", "utf-16"):
            try:
                text = body.decode(codec)
            except UnicodeDecodeError:
                continue
            return (body, "refused") if "<!ENTITY" in text.upper() else (body, "")
        return body, ""
    root = _ROOT.search(body)
    start = root.start() if root else len(body)
    if not _ENTITY.search(body, 0, start):
        return body, ""
    decl = _XML_DECL.match(body)
    return (decl.group(0) if decl else b"") + b"\n" + body[start:], "dropped"


def _describe_bozo(exc: BaseException | None, kept: int) -> str:
    name = type(exc).__name__ if exc else "unknown problem"
    what = {
        "SAXParseException": "not well-formed XML",
        "CharacterEncodingOverride": "wrong encoding declared",
        "CharacterEncodingUnknown": "unknown encoding",
        "NonXMLContentType": "not served as XML",
        "UndeclaredNamespace": "undeclared XML namespace",
    }.get(name, name)
    detail = str(exc) if exc else ""
    line = getattr(exc, "getLineNumber", None)
    where = f" at line {line()}" if callable(line) and line() else ""
    if detail == "no element found" and kept == 0:
        return "the document is empty or not XML (no element found)"
    return f"{what}{where}: {detail}; kept the {kept} entries read"


def _struct_to_datetime(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (ValueError, TypeError):
        return None


def _text_to_datetime(value: Any) -> datetime | None:
    """A date feedparser could not read: it gives up on an RFC 822 date without a zone
    ("Mon, 23 Nov 2026 10:00:00"). Such a date is taken as UTC, as feedparser does for ISO ones;
    else the item would count as undated, and old items as new."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return as_utc(parsedate_to_datetime(value.strip()))
    except (TypeError, ValueError, IndexError):
        return None


def _entry_date(e: Any) -> datetime | None:
    for key in ("published", "updated", "created"):
        dt = _struct_to_datetime(e.get(f"{key}_parsed")) or _text_to_datetime(e.get(key))
        if dt:
            return dt
    return None


def _from_feedparser(e: Any, feed_url: str) -> RawItem:
    link = http_url(e.get("link"), feed_url)
    base = link or feed_url
    best_html, best_type = "", "text/html"
    for detail in [*e.get("content", []), e.get("summary_detail") or {}]:
        value = detail.get("value") or ""
        if len(value) > len(best_html):
            best_html, best_type = value, detail.get("type") or "text/html"
            if detail.get("base") and detail["base"] != feed_url:  # a real xml:base
                base = detail["base"]
    if best_type == "text/plain":
        text = FeedText(plain_paragraphs(best_html))
    else:
        text = feed_text(best_html, base)
    image = _entry_image(e, text, base)
    published = _entry_date(e)
    return RawItem(
        guid=e.get("id") or None,
        title=clean_title(e.get("title")),
        url=link,
        published=published,
        author=_author_name(e),
        text=text,
        image=image.image,
        image_alt=image.image_alt,
        image_width=image.image_width,
        image_height=image.image_height,
        categories=clean_categories(
            t.get("term") or t.get("label") for t in e.get("tags") or () if isinstance(t, dict)
        ),
    )


def _entry_image(e: Any, text: FeedText, base: str) -> FeedText:
    """The entry's image with what is known of it: the first `<img>` of its HTML, else its
    `media:content` or `media:thumbnail`, else an image enclosure (RSS `<enclosure>`, Atom
    `rel="enclosure"`). A size the chosen tag leaves out is taken from another place that
    names the same image (an `<img>` without sizes, repeated as a sized `media:content`)."""
    media, pixels = [], set()
    for m in [*e.get("media_content", []), *e.get("media_thumbnail", [])]:
        url = http_url(m.get("url"), base)
        if is_tracking_image(m.get("url"), m.get("width"), m.get("height")):
            pixels.add(url)  # the same URL in the HTML is that pixel too
        elif _is_image(m.get("medium"), m.get("type")):
            width, height = pixel_size(m.get("width")), pixel_size(m.get("height"))
            media.append(FeedText((), url, image_width=width, image_height=height))
    enclosures = [
        FeedText((), http_url(m.get("href"), base))
        for m in e.get("enclosures", [])
        if str(m.get("type") or "").lower().startswith("image/")
        and not is_tracking_image(m.get("href"))
    ]
    found = [c for c in [text, *media, *enclosures] if c.image and c.image not in pixels]
    if not found:
        return FeedText(())
    best = found[0]
    if not (best.image_width and best.image_height):
        same = (c for c in found if c.image == best.image and c.image_width and c.image_height)
        sized = next(same, best)
        best = replace(best, image_width=sized.image_width, image_height=sized.image_height)
    return best


def _is_image(medium: object, mime: object) -> bool:
    """A media element that is a picture: `medium="image"`, or no medium and an image type
    (or none); a video's `media:content` is not one."""
    if medium:
        return str(medium).lower() == "image"
    return not mime or str(mime).lower().startswith("image/")


def _author_name(e: Mapping[str, Any]) -> str | None:
    """A reader wants a name: RSS's `email (Name)` gives its name, a bare address nothing."""
    detail = e.get("author_detail") or {}
    name = clean_title(detail.get("name"))
    if name:
        return name
    author = clean_title(e.get("author"))
    return None if not author or "@" in author else author


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag == "base" and a.get("href") and self.base is None:
            self.base = a["href"]
        if tag != "link":
            return
        rels = a.get("rel", "").lower().split()
        ctype = a.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rels and ctype in FEED_TYPES and a.get("href", "").strip():
            self.links.append((ctype, a["href"].strip()))


def find_feed_links(html: bytes, page_url: str) -> tuple[str, ...]:
    """The feeds an HTML page announces with `<link rel="alternate" type="…">`, in page order."""
    finder = _LinkFinder()
    text = html.decode("utf-8", errors="replace")
    try:
        finder.feed(text[:2_000_000])
        finder.close()
    except AssertionError:  # HTMLParser on hopeless markup; keep what was found
        pass
    base = http_url(finder.base, page_url) or page_url
    seen: dict[str, None] = {}
    for _type, href in finder.links:
        url = http_url(href, base)
        if url:
            seen.setdefault(url, None)
    return tuple(seen)
