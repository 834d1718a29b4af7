"""Turn a fetched feed (bytes and headers) into entries: RSS, Atom and JSON Feed, one function.

feedparser reads RSS 0.9x/1.0/2.0 and Atom 0.3/1.0, including ill-formed XML and odd encodings;
its own HTML sanitiser is switched off because nh3 (see `sanitise`) does that job faster.
feedparser 6 reads no JSON Feed, so JSON Feed 1.0/1.1 goes through the small mapping below.
An HTML page is not a feed: its `<link rel="alternate">` feed links are returned instead.

Everything is behind `parse_feed`, so the parser can change without touching the rest.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

import feedparser

from .fetch import human_size
from .identity import canonical_url, http_url, item_id, item_key
from .sanitise import FeedText, feed_text, inline_text, plain_paragraphs

__all__ = ["Entry", "ParsedFeed", "parse_feed"]

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


@dataclass(frozen=True)
class Entry:
    """One item of a feed, with its HTML already sanitised into paragraphs."""

    id: str
    key: str
    title: str
    url: str | None
    canonical_url: str | None
    published: datetime | None
    author: str | None = None
    paragraphs: tuple[str, ...] = ()
    image: str | None = None
    image_alt: str | None = None

    def to_json(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["published"] = self.published.isoformat() if self.published else None
        d["paragraphs"] = list(self.paragraphs)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Entry:
        published = datetime.fromisoformat(d["published"]) if d.get("published") else None
        return cls(**{**d, "published": published, "paragraphs": tuple(d["paragraphs"])})


@dataclass(frozen=True)
class ParsedFeed:
    """What a document held: a feed's entries, or (for an HTML page) the feeds it links to."""

    format: str
    """`rss20`, `atom10`, `json1.1`… as feedparser names them; `html` for a page; "" if unknown."""
    title: str | None = None
    entries: tuple[Entry, ...] = ()
    problems: tuple[str, ...] = ()
    feed_links: tuple[str, ...] = field(default=())

    @property
    def is_html(self) -> bool:
        return self.format == "html"


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
        return _parse_json_feed(body, url, feed_id)
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
    d = feedparser.parse(
        body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    entries, entry_problems = _collect(
        (_from_feedparser(e, url) for e in d.entries), feed_id, len(d.entries)
    )
    if d.get("bozo"):
        problems.append(_describe_bozo(d.get("bozo_exception"), len(entries)))
    if not d.get("version") and not d.entries:
        problems.append("no RSS or Atom feed found in the document")
    return ParsedFeed(
        d.get("version") or "",
        title=_clean_title(d.feed.get("title")),
        entries=entries,
        problems=tuple(problems + entry_problems),
    )


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
        dt = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _entry_date(e: Any) -> datetime | None:
    for key in ("published", "updated", "created"):
        dt = _struct_to_datetime(e.get(f"{key}_parsed")) or _text_to_datetime(e.get(key))
        if dt:
            return dt
    return None


def _from_feedparser(e: Any, feed_url: str) -> _Raw:
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
    image = text.image
    image_alt = text.image_alt
    for m in [*e.get("media_content", []), *e.get("media_thumbnail", [])]:
        if not image and m.get("medium", "image") == "image":
            image = http_url(m.get("url"), base)
    published = _entry_date(e)
    return _Raw(
        guid=e.get("id") or None,
        title=_clean_title(e.get("title")),
        url=link,
        published=published,
        author=_author_name(e),
        text=text,
        image=image,
        image_alt=image_alt,
    )


@dataclass(frozen=True)
class _Raw:
    guid: str | None
    title: str | None
    url: str | None
    published: datetime | None
    author: str | None
    text: FeedText
    image: str | None = None
    image_alt: str | None = None


def _clean_title(title: Any) -> str | None:
    """Plain text: feed titles may hold markup, entities, even scripts."""
    return (inline_text(title) or None) if isinstance(title, str) else None


def _title_from_text(paragraphs: tuple[str, ...], words: int = 10) -> str | None:
    if not paragraphs:
        return None
    first = paragraphs[0].split()
    return " ".join(first[:words]) + ("…" if len(first) > words else "")


def _collect(raws: Iterable[_Raw], feed_id: str, total: int) -> tuple[tuple[Entry, ...], list[str]]:
    """Entries from raw items, and one line per kind of entry problem (not one per entry)."""
    entries: list[Entry] = []
    no_title = no_link = empty = 0
    for raw in raws:
        paragraphs = raw.text.paragraphs
        title = raw.title
        if not title:
            title = _title_from_text(paragraphs)
            if not title:
                empty += 1
                continue
            no_title += 1
        if not raw.url:
            no_link += 1
        key = item_key(
            guid=raw.guid, url=raw.url, title=title, text="\n".join(paragraphs), feed=feed_id
        )
        entries.append(
            Entry(
                id=item_id(key),
                key=key,
                title=title,
                url=raw.url,
                canonical_url=canonical_url(raw.url),
                published=raw.published,
                author=raw.author,
                paragraphs=paragraphs,
                image=raw.image,
                image_alt=raw.image_alt,
            )
        )
    problems = []
    if no_title:
        problems.append(f"{no_title} of {total} entries have no title (titled from their text)")
    if no_link:
        problems.append(f"{no_link} of {total} entries have no link (kept without one)")
    if empty:
        problems.append(f"{empty} of {total} entries have neither title nor text (left out)")
    return tuple(entries), problems


def _parse_json_feed(body: bytes, url: str, feed_id: str) -> ParsedFeed:
    """JSON Feed 1.0 and 1.1 (jsonfeed.org): `items` with `id`, `url`, `title`, content."""
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return ParsedFeed("json", problems=(f"JSON Feed is not UTF-8 (byte {exc.start})",))
    except json.JSONDecodeError as exc:
        return ParsedFeed(
            "json",
            problems=(f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",),
        )
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        return ParsedFeed("json", problems=("JSON, but not a JSON Feed (no `items` list)",))
    problems: list[str] = []
    version = str(doc.get("version") or "")
    fmt = "json1.1" if version.endswith("/1.1") else "json1.0"
    if not version.startswith("https://jsonfeed.org/version/"):
        problems.append(f"JSON Feed with an unknown version {version!r}; read as 1.1")
    feed_author = _json_author(doc)
    items = [i for i in doc["items"] if isinstance(i, dict)]
    raws = (_from_json_item(i, url, feed_author) for i in items)
    entries, entry_problems = _collect(raws, feed_id, len(items))
    title = _clean_title(doc.get("title"))
    return ParsedFeed(fmt, title=title, entries=entries, problems=tuple(problems + entry_problems))


def _author_name(e: Mapping[str, Any]) -> str | None:
    """A reader wants a name: RSS's `email (Name)` gives its name, a bare address nothing."""
    detail = e.get("author_detail") or {}
    name = _clean_title(detail.get("name"))
    if name:
        return name
    author = _clean_title(e.get("author"))
    return None if not author or "@" in author else author


def _json_author(obj: Mapping[str, Any]) -> str | None:
    authors = obj.get("authors")
    if isinstance(authors, list):
        names = [a.get("name") for a in authors if isinstance(a, dict) and a.get("name")]
        if names:
            return _clean_title(", ".join(str(n) for n in names))
    author = obj.get("author")
    if isinstance(author, dict) and author.get("name"):
        return _clean_title(str(author["name"]))
    return None


def _json_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _from_json_item(item: Mapping[str, Any], feed_url: str, feed_author: str | None) -> _Raw:
    link = http_url(item.get("url"), feed_url) or http_url(item.get("external_url"), feed_url)
    html = item.get("content_html")
    if isinstance(html, str) and html.strip():
        text = feed_text(html, link or feed_url)
    elif isinstance(item.get("content_text"), str):
        text = FeedText(plain_paragraphs(item["content_text"]))
    elif isinstance(item.get("summary"), str):
        text = FeedText(plain_paragraphs(item["summary"]))
    else:
        text = FeedText(())
    image = (
        http_url(item.get("image"), feed_url)
        or http_url(item.get("banner_image"), feed_url)
        or text.image
    )
    guid = item.get("id")
    return _Raw(
        guid=str(guid) if guid not in (None, "") else None,
        title=_clean_title(item.get("title")),
        url=link,
        published=_json_date(item.get("date_published")) or _json_date(item.get("date_modified")),
        author=_json_author(item) or feed_author,
        text=text,
        image=image,
        image_alt=text.image_alt if image and image == text.image else None,
    )


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
