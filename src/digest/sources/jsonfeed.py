"""JSON Feed 1.0 and 1.1 (jsonfeed.org), which feedparser 6 does not read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..text import parse_iso
from ..urls import http_url
from .entries import ParsedFeed, RawItem, clean_categories, clean_title, collect
from .sanitise import FeedText, feed_text, is_tracking_image, plain_paragraphs

__all__ = ["parse_json_feed"]


def parse_json_feed(body: bytes, url: str, feed_id: str) -> ParsedFeed:
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
    entries, entry_problems = collect(raws, feed_id, len(items))
    title = clean_title(doc.get("title"))
    return ParsedFeed(fmt, title=title, entries=entries, problems=tuple(problems + entry_problems))


def _json_author(obj: Mapping[str, Any]) -> str | None:
    authors = obj.get("authors")
    if isinstance(authors, list):
        names = [a.get("name") for a in authors if isinstance(a, dict) and a.get("name")]
        if names:
            return clean_title(", ".join(str(n) for n in names))
    author = obj.get("author")
    if isinstance(author, dict) and author.get("name"):
        return clean_title(str(author["name"]))
    return None


def _from_json_item(item: Mapping[str, Any], feed_url: str, feed_author: str | None) -> RawItem:
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
    named = [item.get("image"), item.get("banner_image")]
    image = next(
        (
            http_url(u, feed_url)
            for u in named
            if http_url(u, feed_url) and not is_tracking_image(u)
        ),
        text.image,
    )
    guid = item.get("id")
    tags = item.get("tags")
    # JSON Feed gives no sizes or alt text; the content's own `<img>` of the same image does.
    same = image is not None and image == text.image
    return RawItem(
        guid=str(guid) if guid not in (None, "") else None,
        title=clean_title(item.get("title")),
        url=link,
        published=parse_iso(item.get("date_published")) or parse_iso(item.get("date_modified")),
        author=_json_author(item) or feed_author,
        text=text,
        image=image,
        image_alt=text.image_alt if same else None,
        image_width=text.image_width if same else None,
        image_height=text.image_height if same else None,
        categories=clean_categories(tags) if isinstance(tags, list) else (),
    )
