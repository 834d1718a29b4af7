"""Parsing feed documents (RSS, Atom, JSON Feed, HTML pages), sanitising and item identity."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.sources.feeds import find_feed_links, parse_feed
from digest.sources.identity import item_id, item_key
from digest.sources.sanitise import feed_text, sanitise_html
from digest.urls import canonical_url

CORPUS = Path(__file__).parent / "data" / "feeds" / "kurtmckee-feedparser"
CORPUS_FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "LICENSE")


def test_the_corpus_copy_is_complete() -> None:
    assert (CORPUS / "LICENSE").is_file()
    assert len(CORPUS_FILES) == 44


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_every_corpus_file_parses_without_raising(path: Path) -> None:
    parsed = parse_feed(path.read_bytes(), url=f"https://example.org/{path.name}")
    for line in parsed.problems:
        assert line and "\n" not in line and "Traceback" not in line
    for e in parsed.entries:
        assert e.title and e.id and len(e.id) == 16
        assert all("<script" not in p.lower() for p in e.paragraphs)


def corpus(rel: str) -> bytes:
    return (CORPUS / rel).read_bytes()


def test_rss20_entry_fields() -> None:
    p = parse_feed(corpus("docs/examples/examples/rss20.xml"), url="https://example.org/feed")
    assert p.format == "rss20"
    assert p.problems == ()
    (e,) = p.entries
    assert e.title == "First item title"
    assert e.url == "http://example.org/item/1"
    assert e.published == datetime(2002, 9, 5, 0, 0, 1, tzinfo=UTC)
    assert e.paragraphs == ("Watch out for nasty tricks",)


def test_atom10_and_rss10() -> None:
    atom = parse_feed(corpus("docs/examples/examples/atom10.xml"), url="https://example.org/a")
    assert atom.format == "atom10" and atom.entries[0].url == "http://example.org/entry/3"
    rdf = parse_feed(corpus("docs/examples/examples/rss10.rdf"), url="https://example.org/r")
    assert rdf.format == "rss10" and rdf.entries[0].title == "First of all"


def test_json_feed_10_from_the_corpus() -> None:
    p = parse_feed(corpus("tests/json/example.json"), url="https://example.org/feed.json")
    assert p.format == "json1.0"
    assert p.title == "My Example Feed"
    first, second = p.entries
    assert first.title == "post 2" and first.url == "https://example.org/second-item"
    assert first.paragraphs == ("This is a second item.",)
    assert second.author == "you"
    assert second.paragraphs == ("Hello, world!",)  # the <script> is gone
    assert p.problems == ("1 of 2 entries have no title (titled from their text)",)


def test_json_feed_11() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Eleven",
        "authors": [{"name": "Ana"}],
        "items": [
            {
                "id": "https://example.org/p/1",
                "url": "/p/1",
                "title": "One",
                "content_html": "<p>First <em>para</em>.</p><p>Second.</p>",
                "date_published": "2026-11-24T06:00:00+01:00",
                "image": "/img/1.jpg",
            },
            {
                "id": 2,
                "title": "Two",
                "summary": "Just a summary.",
                "external_url": "https://x.org/2",
            },
        ],
    }
    p = parse_feed(json.dumps(doc).encode(), url="https://example.org/feed.json")
    assert p.format == "json1.1" and p.problems == ()
    one, two = p.entries
    assert one.url == "https://example.org/p/1"
    assert one.published == datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
    assert one.paragraphs == ("First para.", "Second.")
    assert one.image == "https://example.org/img/1.jpg"
    assert one.author == "Ana"
    assert two.url == "https://x.org/2" and two.paragraphs == ("Just a summary.",)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "not valid JSON at line 1, column 2"),
        (b'{"title": "x"}', "JSON, but not a JSON Feed (no `items` list)"),
        (b"", "the document is empty"),
        (b"   \n", "the document is empty"),
    ],
)
def test_bad_json_and_empty_documents(body: bytes, problem: str) -> None:
    p = parse_feed(body, url="https://example.org/f")
    assert p.entries == ()
    assert p.problems[0].startswith(problem)


def test_ill_formed_xml_keeps_entries_and_says_why() -> None:
    p = parse_feed(
        corpus("tests/illformed/rdf_channel_empty_textinput.xml"), url="https://example.org/f"
    )
    assert len(p.entries) == 1
    assert p.problems[0].startswith("not well-formed XML at line 6")
    assert p.problems[0].endswith("kept the 1 entries read")


def test_empty_corpus_document() -> None:
    p = parse_feed(corpus("tests/illformed/rss_empty_document.xml"), url="https://example.org/f")
    assert p.entries == ()
    assert "no element found" in p.problems[0]


def test_misdeclared_encoding_is_reported() -> None:
    p = parse_feed(corpus("tests/encoding/bozo_linenoise.xml"), url="https://example.org/f")
    assert p.problems[0].startswith("wrong encoding declared: document declared as utf-8")


def test_declared_encoding_is_used() -> None:
    p = parse_feed(corpus("tests/encoding/euc-kr-item.xml"), url="https://example.org/f")
    assert p.problems[0] == "1 of 1 entries have no title (titled from their text)"
    assert p.entries[0].paragraphs == ("\ub144",)


def test_charset_from_http_header_wins() -> None:
    body = '<?xml version="1.0"?><rss version="2.0"><channel><item><title>Caf\xe9</title>'
    body += "<link>https://e.org/1</link></item></channel></rss>"
    p = parse_feed(
        body.encode("latin-1"),
        url="https://e.org/f",
        headers={"Content-Type": "application/rss+xml; charset=iso-8859-1"},
    )
    assert p.entries[0].title == "Café"


def test_raw_gzip_body() -> None:
    body = gzip.compress(corpus("docs/examples/examples/atom10.xml"))
    p = parse_feed(body, url="https://example.org/f")
    assert p.format == "atom10" and len(p.entries) == 1


def test_broken_gzip_body() -> None:
    body = gzip.compress(b"<rss></rss>" * 100)[:30]
    p = parse_feed(body, url="https://example.org/f")
    assert p.entries == () and p.problems[0].startswith("the gzip-compressed document is broken")


def test_scripts_in_entry_content_are_removed() -> None:
    crazy = parse_feed(
        corpus("tests/wellformed/sanitize/entry_content_crazy.xml"), url="https://example.org/f"
    )
    text = " ".join(crazy.entries[0].paragraphs)
    assert "executeMe" not in text and "Did The Javascript Execute?" in text
    cdata = parse_feed(
        corpus("tests/wellformed/sanitize/entry_content_script_cdata.xml"),
        url="https://example.org/f",
    )
    assert cdata.entries[0].paragraphs == ("safe description",)


def test_html_page_with_feed_links() -> None:
    page = b"""<!DOCTYPE html><html><head><base href="https://blog.example.org/">
    <link rel="stylesheet" href="s.css">
    <link rel="alternate" type="application/atom+xml" href="/atom.xml">
    <link rel="alternate" type="application/feed+json" href="feed.json">
    <link rel="alternate" type="application/atom+xml" href="/atom.xml"></head></html>"""
    p = parse_feed(page, url="https://www.example.org/", headers={"content-type": "text/html"})
    assert p.is_html
    assert p.feed_links == (
        "https://blog.example.org/atom.xml",
        "https://blog.example.org/feed.json",
    )


def test_html_page_without_feed_links() -> None:
    p = parse_feed(b"<html><body>Hello</body></html>", url="https://example.org/")
    assert p.is_html and p.feed_links == ()
    assert p.problems == ("an HTML page with no feed link in it",)


def test_feed_served_as_html_is_still_a_feed() -> None:
    p = parse_feed(
        corpus("docs/examples/examples/rss20.xml"),
        url="https://example.org/f",
        headers={"content-type": "text/html"},
    )
    assert not p.is_html and len(p.entries) == 1


def test_find_feed_links_ignores_other_rels() -> None:
    html = (
        b'<link rel="alternate" hreflang="de" href="/de/">'
        b'<link rel="alternate" type="application/rss+xml" href="r">'
    )
    assert find_feed_links(html, "https://e.org/a/b") == ("https://e.org/a/r",)


# Sanitising.


def test_sanitise_removes_dangerous_markup() -> None:
    html = (
        '<p onmouseover="x()" style="color:red">Hi <a href="javascript:alert(1)">there</a></p>'
        "<script>bad()</script><style>.a{}</style><iframe src=https://e.org></iframe>"
        '<form action="/p"><input name=a><button>Go</button></form>'
        '<img src="https://feeds.feedburner.com/~r/x/~4/abc" alt="">'
        '<img src="https://e.org/pic.jpg" width="600" alt="A picture">'
    )
    out = sanitise_html(html)
    for bad in (
        "onmouseover",
        "style=",
        "javascript:",
        "script",
        "iframe",
        "form",
        "input",
        "button",
        "feedburner",
    ):
        assert bad not in out
    assert '<img src="https://e.org/pic.jpg" width="600" alt="A picture">' in out


def test_feed_text_paragraphs_and_breaks() -> None:
    t = feed_text("Line one<br>still one<br/><br/>two<div>three</div><ul><li>four</li></ul>")
    assert t.paragraphs == ("Line one still one", "two", "three", "four")


def test_feed_text_skips_tracking_pixel_for_image() -> None:
    t = feed_text(
        '<img src="https://t.e.org/o.gif" height="1" width="1"><img src="a.png">',
        "https://e.org/x/",
    )
    assert t.image == "https://e.org/x/a.png"


# Identity.


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "https://Example.ORG/a?utm_source=rss&utm_medium=x&id=3#frag",
            "https://example.org/a?id=3",
        ),
        ("https://example.org:443/a?fbclid=1&gclid=2", "https://example.org/a"),
        ("http://example.org:8080/a?b=1&mc_cid=9", "http://example.org:8080/a?b=1"),
        ("https://example.org", "https://example.org/"),
        ("mailto:x@example.org", None),
        ("/relative/path", None),
        ("", None),
        (None, None),
        ("https://[::1]:99/x", "https://[::1]:99/x"),
    ],
)
def test_canonical_url(url: str | None, canonical: str | None) -> None:
    assert canonical_url(url) == canonical


def test_item_key_order_guid_url_hash() -> None:
    assert (
        item_key(guid="tag:e.org,2026:1", url="https://e.org/1", title="t", text="", feed="F")
        == "guid:tag:e.org,2026:1"
    )
    assert item_key(guid="42", url=None, title="t", text="", feed="F") == "guid:F#42"
    assert (
        item_key(guid=None, url="https://e.org/1?utm_x=1", title="t", text="", feed="F")
        == "url:https://e.org/1"
    )
    a = item_key(guid=None, url=None, title="t", text="body", feed="F")
    b = item_key(guid=None, url=None, title="t", text="other body", feed="F")
    assert a.startswith("hash:") and a != b
    assert len(item_id(a)) == 16 and item_id(a) != item_id(b)
    # Stable across runs (the sent ledger stores it): another process computes the same id.
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from digest.sources.identity import item_id; print(item_id({a!r}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.stdout.strip() == item_id(a)


def test_author_is_a_name_never_a_bare_address() -> None:
    from digest.sources.feeds import parse_feed

    items = "".join(
        f"<item><title>T{i}</title><link>https://e.example/{i}</link>{a}</item>"
        for i, a in enumerate(
            [
                "<author>council@example.com (Town Council)</author>",
                "<author>editor@example.com</author>",
                "<dc:creator>Ann Writer</dc:creator>",
            ]
        )
    )
    body = (
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>F</title>'
        f"{items}</channel></rss>"
    ).encode()
    parsed = parse_feed(body, url="https://e.example/feed")
    assert [e.author for e in parsed.entries] == ["Town Council", None, "Ann Writer"]


# Found in review: each of these failed before its fix.


def test_json_feed_links_and_images_are_http_only() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {"id": "1", "title": "A", "url": "javascript:alert(1)", "image": "data:,x"},
            {"id": "2", "title": "B", "url": "/b", "banner_image": "vbscript:x", "summary": "b"},
        ],
    }
    a, b = parse_feed(json.dumps(doc).encode(), url="https://e.org/feed.json").entries
    assert (a.url, a.image, a.canonical_url) == (None, None, None)
    assert (b.url, b.image) == ("https://e.org/b", None)


def test_relative_links_in_a_feed_file_are_not_urls() -> None:
    body = b"""<rss version="2.0"><channel><title>F</title><item><title>T</title>
    <link>story.html</link><description>&lt;img src="pic.jpg"&gt;Text.</description>
    </item></channel></rss>"""
    (e,) = parse_feed(body, url="/home/ann/news/feed.xml").entries
    assert e.url is None and e.image is None


def test_a_malformed_link_costs_only_that_link() -> None:
    """urljoin raises ValueError on `http://[::1`: parse_feed raised, and the whole feed was
    lost as an "unexpected error"."""
    body = b"""<rss version="2.0"><channel><title>F</title>
    <item><title>Bad</title><link>http://[::1/x</link><description>One.</description></item>
    <item><title>Bad image</title><link>https://e.org/2</link>
    <description>&lt;img src="http://[::1/p.jpg"&gt;Two.</description></item>
    </channel></rss>"""
    p = parse_feed(body, url="https://e.org/feed")
    assert [(e.title, e.url, e.image) for e in p.entries] == [
        ("Bad", None, None),
        ("Bad image", "https://e.org/2", None),
    ]
    assert p.problems == ("1 of 2 entries have no link (kept without one)",)


def test_plain_text_fields_holding_html_are_sanitised() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {
                "id": "1",
                "title": "T",
                "content_text": '<p onclick="x()">Hello <script>alert(1)</script>there.</p>'
                "<p>Two</p>",
            },
            {"id": "2", "title": "U", "content_text": "1 < 2, and 3 > 2.\n\nSecond."},
        ],
    }
    one, two = parse_feed(json.dumps(doc).encode(), url="https://e.org/f.json").entries
    assert one.paragraphs == ("Hello there.", "Two")
    assert two.paragraphs == ("1 < 2, and 3 > 2.", "Second.")


def test_feed_id_keeps_bare_guids_stable_when_the_url_changes() -> None:
    body = corpus("docs/examples/examples/rss20.xml").replace(b"http://example.org/guid/1", b"42")
    old = parse_feed(body, url="https://e.org/feed", feed_id="https://e.org/feed")
    moved = parse_feed(body, url="https://cdn.e.org/f?sig=1", feed_id="https://e.org/feed")
    assert old.entries[0].key == "guid:https://e.org/feed#42"
    assert moved.entries[0].id == old.entries[0].id


def test_raw_gzip_is_capped_at_max_bytes() -> None:
    body = gzip.compress(b"<rss>" + b" " * 200_000 + b"</rss>")
    p = parse_feed(body, url="https://e.org/f", max_bytes=100_000)
    assert p.entries == () and p.problems == ("unzipped, it is over 98 KB; not read",)


def test_find_feed_links_keeps_only_http_links() -> None:
    html = (
        b'<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
        b'<link rel="alternate" type="application/rss+xml" href="http://[::1/x">'
        b'<link rel="alternate" type="application/atom+xml" href="/atom">'
    )
    assert find_feed_links(html, "https://e.org/") == ("https://e.org/atom",)
