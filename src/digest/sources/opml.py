"""OPML, the file every feed reader exports and imports (rss2email's `opmlexport` too): the
feeds in one, and one made of a newsletter's feeds.

An OPML file comes from elsewhere, so it is read the way `feeds` reads a feed: no XML entity is
ever declared or expanded (a declared entity can turn a small file into gigabytes of text, the
"billion laughs"), and none is fetched from outside. The stdlib's expat parser is driven
directly, with handlers that refuse any entity declaration and any external entity, so this
holds whatever the file's encoding (defusedxml does the same, and is not installed).

Feeds are the `<outline>` elements with an `xmlUrl`, however deeply nested in folders; their
name is the outline's `title`, else its `text`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.parsers import expat

from ..errors import SourceError
from ..text import title_line
from ..urls import http_url

__all__ = ["OpmlFeed", "read_opml", "write_opml"]


@dataclass(frozen=True)
class OpmlFeed:
    """One feed of an OPML file, as the file gives it."""

    url: str
    """The `xmlUrl`; `feed://` written as the http(s) URL it stands for. May be no http(s) URL
    at all: the caller decides what to do with those."""
    title: str | None
    """`title`, else `text`, as one visible line; None when the outline has neither."""
    folders: tuple[str, ...] = ()
    """The titles of the outlines it sits in, outermost first."""


class _Refused(Exception):
    pass


_ENTITIES = (
    "it declares XML entities, which digest never reads (a declared entity can turn a small "
    "file into gigabytes of text)"
)
_OUTSIDE = "it uses XML entities defined outside it, which digest never fetches"


def read_opml(body: bytes, name: str) -> tuple[OpmlFeed, ...]:
    """The feeds of an OPML document, in file order. `name` (the file) starts every error.

    Raises SourceError for a document that is not well-formed XML, not OPML, or that declares
    or refers to entities of its own."""
    feeds: list[OpmlFeed] = []
    folders: list[str | None] = []
    root: list[str] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = tag.rsplit(":", 1)[-1].lower()
        if not root:
            root.append(local)
            if local in ("rss", "feed", "rdf"):
                raise _Refused("a feed, not an OPML file; add it with `digest sources add`")
            if local != "opml":
                raise _Refused(f"not an OPML file (it is <{tag}>, not <opml>)")
        if local != "outline":
            return
        a = {k.lower(): v for k, v in attrs.items()}
        title = title_line(a.get("title") or a.get("text") or "") or None
        url = (a.get("xmlurl") or "").strip()
        if url:
            feeds.append(OpmlFeed(_feed_scheme(url), title, tuple(f for f in folders if f)))
        folders.append(title)

    def end(tag: str) -> None:
        if tag.rsplit(":", 1)[-1].lower() == "outline" and folders:
            folders.pop()

    def refuse(*_args: object) -> None:
        raise _Refused(_ENTITIES)

    def refuse_outside(*_args: object) -> None:
        raise _Refused(_OUTSIDE)

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    # An entity an outside DTD would define: that DTD is never fetched. (Expat reports such
    # an entity in text; in an attribute it is left out silently, which is as safe.)
    parser.ExternalEntityRefHandler = refuse_outside  # type: ignore[assignment]
    parser.SkippedEntityHandler = refuse_outside

    def doctype(_name: str, system_id: str | None, public_id: str | None, _subset: int) -> None:
        if system_id or public_id:  # a DTD kept elsewhere: its entities would vanish silently
            raise _Refused(_OUTSIDE)

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(body, True)
    except _Refused as exc:
        raise SourceError(f"{name}: {exc}; not read") from None
    except expat.ExpatError as exc:
        what = expat.ErrorString(exc.code) if exc.code else str(exc)
        raise SourceError(
            f"{name}: not well-formed XML at line {exc.lineno}: {what}",
            "export the OPML file from the feed reader again",
        ) from None
    except RecursionError:
        raise SourceError(f"{name}: nested too deeply to read") from None
    if not root:
        raise SourceError(f"{name}: the file is empty")
    return tuple(feeds)


def _feed_scheme(url: str) -> str:
    """`feed://host/x` and `feed:https://host/x`, which some readers wrote, as http(s)."""
    if url.lower().startswith("feed:"):
        rest = url[5:]
        if http_url(rest):
            return rest
        if rest.startswith("//"):
            return "http:" + rest
    return url


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def write_opml(feeds: Sequence[tuple[str, str]], title: str, now: datetime) -> bytes:
    """An OPML 2.0 document of `(name, url)` feeds, flat, as feed readers import them."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _xml_text(title)
    ET.SubElement(head, "dateCreated").text = format_datetime(now, usegmt=True)
    ET.SubElement(head, "docs").text = "https://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    for name, url in feeds:
        ET.SubElement(
            body,
            "outline",
            type="rss",
            text=_xml_text(name),
            title=_xml_text(name),
            xmlUrl=_xml_text(url),
        )
    ET.indent(root)
    xml = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{xml}\n'.encode()


def _xml_text(text: str) -> str:
    """What XML 1.0 can hold (it has no way to write most control characters)."""
    return _NOT_XML.sub("", text)
