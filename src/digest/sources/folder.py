"""Articles from a folder of files: `.txt`, `.md` (optional front matter) and `.html`.

A file that cannot be read, or holds no text, is skipped with a warning naming it; the rest of
the folder goes on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from ..config.topics import TOPIC_HINT, is_topic, topic_name
from ..errors import SourceError
from ..models import Article
from ..text import as_utc, line, paragraphs, parse_iso, site_line, title_line, word_count
from .extract import extract_html
from .fetch import human_size
from .identity import item_id, item_key
from .sanitise import MAX_IMAGE_PIXELS, pixel_size

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
MAX_FILE_BYTES = 5 * 1024 * 1024
"""An article is a few KB of text and a saved page a few hundred; 5 MB is neither."""


def read_folder(folder: Path, source: str) -> list[Article]:
    """Every readable article file in `folder` (not recursive, hidden files ignored)."""
    if not folder.is_dir():
        raise SourceError(
            f"source {source!r}: {folder} is not a folder",
            "Create it, or fix the `folder` setting of this source in digest.toml.",
        )
    articles = []
    for path in _article_files(folder):
        try:
            articles.append(read_article(path, source))
        except SourceError as exc:
            log.warning("skipped %s", exc)
    return articles


def _article_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() in SUFFIXES:
            yield path


def read_article(path: Path, source: str | None = None) -> Article:
    """One article file. Raises SourceError naming the file if it is unreadable, empty, or over
    `MAX_FILE_BYTES` (a file that grows, or a device, cannot fill the memory either)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SourceError(f"{path}: cannot read it ({exc.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SourceError(
            f"{path}: over the {human_size(MAX_FILE_BYTES)} cap for an article file; not read",
            "Keep just the article in the file (a saved page's images and scripts can go).",
        )
    suffix = path.suffix.lower()
    source = source or path.parent.name
    if suffix in (".html", ".htm"):
        article = _from_html(raw, path, source)
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SourceError(
                f"{path}: not UTF-8 text (byte {exc.start})", "Save the file as UTF-8."
            ) from None
        if suffix == ".txt":
            article = _from_txt(text, path, source)
        else:
            article = _from_markdown(text, path, source)
    if not article.paragraphs:
        raise SourceError(f"{path}: no article text in it", "Add the article's text, or remove it.")
    return article


def _from_txt(text: str, path: Path, source: str) -> Article:
    paras = paragraphs(text)
    if not paras:
        raise SourceError(f"{path}: the file is empty", "Add the article's text, or remove it.")
    title, site = _own_title(paras)
    meta = {"site": site} if site else {}
    return _article(path, source, title=title, paragraphs=paras[1:], meta=meta)


_SITE_SEPARATORS = " \t–—-|:·•"


def _own_title(paras: tuple[str, ...]) -> tuple[str, str | None]:
    """Site exports prefix the headline ("Site News – Headline") and repeat it bare below;
    when an early paragraph is the first line's tail, that bare headline is the title and
    the prefix, without its separator, the site's name."""
    first = paras[0]
    for p in paras[1:4]:
        if len(p) < len(first) and first.endswith(p) and word_count(p) >= 3:
            site = first[: -len(p)].strip(_SITE_SEPARATORS)
            return p, site if 0 < word_count(site) <= 6 else None
    return first, None


def _from_markdown(text: str, path: Path, source: str) -> Article:
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise SourceError(
            f"{path}: the front matter is not valid YAML{where}",
            "Fix it, or remove the block between the --- lines.",
        ) from None
    meta = dict(post.metadata)
    body = list(paragraphs(post.content))
    title = meta.get("title")
    if not title and body and body[0].startswith("#"):
        title = body.pop(0).lstrip("#").strip()
    paras = tuple(_strip_markdown(p) for p in body if not p.startswith(("#", "![", "---")))
    if not title:
        title = path.stem.replace("-", " ").replace("_", " ").capitalize()
    return _article(path, source, title=str(title), paragraphs=paras, meta=meta)


def _strip_markdown(p: str) -> str:
    """Leave the words of a Markdown paragraph: links keep their text, emphasis marks go."""
    p = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", p)
    p = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", p)
    p = re.sub(r"(\*\*|__|\*|_|`)(\S(?:.*?\S)?)\1", r"\2", p)
    return p.strip()


def _from_html(raw: bytes, path: Path, source: str) -> Article:
    page = extract_html(raw)
    meta: dict[str, Any] = {
        "url": page.url,
        "date": page.published,
        "author": page.author,
        "image": page.image,
        "image_alt": page.image_alt,
        "image_width": page.image_width,
        "image_height": page.image_height,
        "site": page.site,
    }
    title = page.title or path.stem.replace("-", " ").capitalize()
    return _article(path, source, title=title, paragraphs=page.paragraphs, meta=meta)


def _article(
    path: Path, source: str, *, title: str, paragraphs: tuple[str, ...], meta: dict[str, Any]
) -> Article:
    url = meta.get("url") or None
    published = _as_datetime(meta.get("date"), path)
    width, height = _size(meta, "image_width", path), _size(meta, "image_height", path)
    image = str(meta["image"]) if meta.get("image") else None
    alt = line(str(meta["image_alt"])) if meta.get("image_alt") else None
    if image is None or 1 in (width, height):  # none, or a counter's pixel: no image at all
        image = width = height = alt = None
    return Article(
        # Keyed by the URL the file names, else by its folder and name (`identity`).
        id=item_id(item_key(url=str(url) if url else None, file=f"{path.parent.name}/{path.name}")),
        title=title_line(title),
        source=source,
        url=str(url) if url else None,
        published=published,
        author=str(meta["author"]) if meta.get("author") else None,
        paragraphs=paragraphs,
        image=image,
        image_alt=alt or None,
        image_width=width,
        image_height=height,
        site=site_line(str(meta["site"])) if meta.get("site") else None,
        topics=_topics(meta, path),
    )


def _topics(meta: dict[str, Any], path: Path) -> tuple[str, ...]:
    """A Markdown file's own `topics` (a list, or "science; space"), added to its source's.
    A value that is no topic name is left out with a warning; the article stays."""
    value = meta.get("topics")
    if value is None:
        return ()
    items = value.split(";") if isinstance(value, str) else value
    if not isinstance(items, list):
        items = [value]
    kept = set()
    for item in items:
        name = topic_name(item) if isinstance(item, str) else ""
        if is_topic(name):
            kept.add(name)
        elif not (isinstance(item, str) and not item.strip()):
            log.warning("%s: topics: %r is not a topic name; left out (%s)", path, item, TOPIC_HINT)
    return tuple(sorted(kept))


def _size(meta: dict[str, Any], key: str, path: Path) -> int | None:
    """An image size from the front matter: whole pixels from 1 to 10000. Another value is
    left out with a warning (the article stays; the email then sizes the image itself)."""
    value = meta.get(key)
    size = pixel_size(value)
    if value is not None and size is None:
        log.warning(
            "%s: %s = %r is not a size in pixels; left out (a whole number from 1 to %d)",
            path,
            key,
            value,
            MAX_IMAGE_PIXELS,
        )
    return size


def _as_datetime(value: Any, path: Path) -> datetime:
    """The front matter's or page's date, else the file's modification time, always in UTC."""
    if isinstance(value, date):  # a datetime is a date too
        try:
            return as_utc(value)
        except ValueError as exc:
            log.warning("%s: date %s; using the file's time", path, exc)
    elif isinstance(value, str) and value.strip():
        parsed = parse_iso(value)
        if parsed is not None:
            return parsed
        log.warning("%s: date %r is not ISO 8601; using the file's time", path, value)
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
