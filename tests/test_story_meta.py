"""What a story carries into the email besides its text: its image with width, height and alt
text, and its site's own name, from every place a story comes from (feeds, JSON Feed, article
pages, HTML and Markdown files), through the feed and page caches, to the chosen `Article`.

Feeds and pages are real documents, served by a local HTTP server where a run fetches them;
the state is real SQLite."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from digest.config import Config, parse_config
from digest.models import Article, Entry
from digest.pipeline import gather
from digest.sources.extract import extract_html
from digest.sources.feeds import parse_feed
from digest.sources.folder import read_article
from digest.sources.pages import article_from_html
from digest.sources.sanitise import feed_text, pixel_size
from digest.state import STATE_FILE, State

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
LONG = (
    "The council voted on Tuesday evening to keep the swimming pool open through the winter, "
    "after a petition signed by more than two thousand residents asked it to reconsider."
)
LONG2 = (
    "Officials said the extra heating costs would be met from the leisure budget, and that the "
    "opening hours would stay the same until the end of March next year at the earliest."
)
MEDIA = 'xmlns:media="http://search.yahoo.com/mrss/"'


def rss(items: str, title: str | None = "Harbour Gazette") -> bytes:
    head = f"<title>{title}</title>" if title is not None else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {MEDIA}><channel>{head}'
        f"<link>https://h.example.org/</link>{items}</channel></rss>"
    ).encode()


def rss_item(n: int, extra: str = "", html: str = f"<p>{LONG}</p>", hours: float = 2) -> str:
    date = format_datetime(NOW - timedelta(hours=hours))
    return (
        f"<item><title>Story {n}</title><link>https://h.example.org/{n}</link>"
        f"<guid>https://h.example.org/{n}</guid><pubDate>{date}</pubDate>"
        f"<description><![CDATA[{html}]]></description>{extra}</item>"
    )


def one(body: bytes) -> Entry:
    parsed = parse_feed(body, url="https://h.example.org/feed")
    assert len(parsed.entries) == 1, parsed.problems
    return parsed.entries[0]


def image_of(e: Entry | Article) -> tuple[Any, ...]:
    return (e.image, e.image_width, e.image_height, e.image_alt)


# -- sizes as sources write them ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("600", 600),
        (" 600px ", 600),
        ("450.0", 450),
        (800, 800),
        ("1", 1),
        ("10000", 10000),
        ("10001", None),
        ("0", None),
        ("-5", None),
        ("100%", None),
        ("auto", None),
        ("", None),
        (None, None),
        (True, None),
        ("6e2", None),
        ("１２０", None),  # full-width digits are no size a template can print
    ],
)
def test_pixel_sizes_are_whole_numbers_within_bounds(value: object, size: int | None) -> None:
    assert pixel_size(value) == size


# -- feeds -----------------------------------------------------------------------------------


def test_media_content_gives_the_image_and_its_size() -> None:
    media = (
        '<media:content url="https://h.example.org/pool.jpg" medium="image" width="800" '
        'height="450" type="image/jpeg"/>'
    )
    assert image_of(one(rss(rss_item(1, media)))) == (
        "https://h.example.org/pool.jpg",
        800,
        450,
        None,
    )


def test_media_thumbnail_gives_the_image_and_its_size() -> None:
    thumb = '<media:thumbnail url="https://h.example.org/t.jpg" width="320" height="180"/>'
    assert image_of(one(rss(rss_item(1, thumb))))[:3] == ("https://h.example.org/t.jpg", 320, 180)


def test_a_video_in_media_content_is_no_image() -> None:
    video = '<media:content url="https://h.example.org/clip.mp4" type="video/mp4"/>'
    assert one(rss(rss_item(1, video))).image is None


def test_img_in_the_feed_html_gives_size_and_alt() -> None:
    html = (
        '<p><img src="/img/barn.jpg" width="640" height="480px" alt="A red\n barn &amp; '
        f'a\u200b field"></p><p>{LONG}</p>'
    )
    e = one(rss(rss_item(1, html=html)))
    assert image_of(e) == ("https://h.example.org/img/barn.jpg", 640, 480, "A red barn & a field")


def test_an_img_without_size_takes_it_from_media_naming_the_same_image() -> None:
    html = f'<img src="https://h.example.org/a.jpg"><p>{LONG}</p>'
    media = '<media:content url="https://h.example.org/a.jpg" width="1200" height="675"/>'
    e = one(rss(rss_item(1, media, html=html)))
    assert image_of(e)[:3] == ("https://h.example.org/a.jpg", 1200, 675)


def test_sizes_of_another_image_are_not_borrowed() -> None:
    html = f'<img src="https://h.example.org/a.jpg"><p>{LONG}</p>'
    media = '<media:content url="https://h.example.org/other.jpg" width="1200" height="675"/>'
    assert image_of(one(rss(rss_item(1, media, html=html))))[:3] == (
        "https://h.example.org/a.jpg",
        None,
        None,
    )


@pytest.mark.parametrize(("width", "height"), [("100%", "auto"), ("0", "20"), ("20000", "300")])
def test_sizes_out_of_bounds_are_none(width: str, height: str) -> None:
    thumb = (
        f'<media:thumbnail url="https://h.example.org/t.jpg" width="{width}" height="{height}"/>'
    )
    e = one(rss(rss_item(1, thumb)))
    if width == "0":  # zero pixels wide: a counter, not a picture
        assert e.image is None
    else:
        assert e.image == "https://h.example.org/t.jpg"
        assert (e.image_width, e.image_height) == (None, pixel_size(height))


def test_a_one_pixel_image_is_never_the_image() -> None:
    pixel = '<media:thumbnail url="https://h.example.org/p.gif" width="1" height="1"/>'
    assert one(rss(rss_item(1, pixel))).image is None
    # The same pixel in the HTML, without sizes, is known by its media entry's 1x1.
    html = f'<img src="https://h.example.org/p.gif"><p>{LONG}</p>'
    assert one(rss(rss_item(1, pixel, html=html))).image is None
    tag = f'<img src="https://h.example.org/q.gif" width="1" height="1"><p>{LONG}</p>'
    assert feed_text(tag).image is None


def test_an_rss_image_enclosure_is_the_image_when_nothing_better_is_there() -> None:
    enclosure = '<enclosure url="https://h.example.org/e.png" type="image/png" length="1000"/>'
    assert one(rss(rss_item(1, enclosure))).image == "https://h.example.org/e.png"
    audio = '<enclosure url="https://h.example.org/e.mp3" type="audio/mpeg" length="1000"/>'
    assert one(rss(rss_item(1, audio))).image is None
    media = '<media:thumbnail url="https://h.example.org/m.jpg" width="300" height="200"/>'
    both = one(rss(rss_item(1, enclosure + media)))
    assert image_of(both)[:3] == ("https://h.example.org/m.jpg", 300, 200)


def test_an_atom_enclosure_link_is_the_image() -> None:
    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Site'
        b"</title><id>urn:x</id><entry><title>E</title><id>urn:e</id>"
        b'<link href="https://a.example.org/e"/><updated>2026-11-24T05:00:00Z</updated>'
        b'<link rel="enclosure" type="image/jpeg" href="https://a.example.org/e.jpg"/>'
        b"<summary>A short summary of the story.</summary></entry></feed>"
    )
    assert one(atom).image == "https://a.example.org/e.jpg"


def test_json_feed_image_takes_size_and_alt_only_from_the_same_img() -> None:
    def doc(image: str) -> bytes:
        item = {
            "id": "1",
            "url": "https://j.example.org/1",
            "title": "One",
            "image": image,
            "content_html": '<img src="https://j.example.org/a.jpg" width="400" height="300" '
            f'alt="The pool"><p>{LONG}</p>',
        }
        feed = {"version": "https://jsonfeed.org/version/1.1", "title": "J Site", "items": [item]}
        return json.dumps(feed).encode()

    same = one(doc("https://j.example.org/a.jpg"))
    assert image_of(same) == ("https://j.example.org/a.jpg", 400, 300, "The pool")
    other = one(doc("https://j.example.org/b.jpg"))
    assert image_of(other) == ("https://j.example.org/b.jpg", None, None, None)


def test_an_entry_cached_before_image_sizes_still_loads() -> None:
    old = {
        "id": "x",
        "key": "guid:x",
        "title": "Old",
        "url": "https://h.example.org/1",
        "canonical_url": "https://h.example.org/1",
        "published": NOW.isoformat(),
        "author": None,
        "paragraphs": [LONG],
        "image": "https://h.example.org/1.jpg",
        "image_alt": "Old alt",
    }
    e = Entry.from_json(old)
    assert image_of(e) == ("https://h.example.org/1.jpg", None, None, "Old alt")
    e2 = Entry.from_json(json.loads(json.dumps(one(rss(rss_item(1, THUMB))).to_json())))
    assert (e2.image_width, e2.image_height) == (320, 180)


THUMB = '<media:thumbnail url="https://h.example.org/t.jpg" width="320" height="180"/>'


# -- article pages -----------------------------------------------------------------------------


def page(head: str) -> str:
    return (
        f"<!doctype html><html><head><title>Pool stays open</title>{head}</head><body>"
        f"<article><h1>Pool stays open</h1><p>{LONG}</p><p>{LONG2}</p></article></body></html>"
    )


OG = (
    '<meta property="og:site_name" content=" The\u200b Harbour\n Gazette ">'
    '<meta property="og:image" content="https://h.example.org/pool.jpg">'
    '<meta property="og:image:width" content="1200">'
    '<meta property="og:image:height" content="630">'
    '<meta property="og:image:alt" content="Swimmers in the\n pool">'
)


def test_a_page_gives_its_og_image_with_size_and_alt_and_its_site_name() -> None:
    got = extract_html(page(OG), "https://h.example.org/1")
    assert (got.image, got.image_width, got.image_height, got.image_alt, got.site) == (
        "https://h.example.org/pool.jpg",
        1200,
        630,
        "Swimmers in the pool",
        "The Harbour Gazette",
    )
    article = article_from_html(page(OG), "https://h.example.org/1", "web")
    assert image_of(article) == (
        "https://h.example.org/pool.jpg",
        1200,
        630,
        "Swimmers in the pool",
    )
    assert article.site == "The Harbour Gazette"


def test_sizes_belong_to_the_og_image_they_follow() -> None:
    head = (
        '<meta property="og:image" content="https://h.example.org/a.jpg">'
        '<meta property="og:image:width" content="800">'
        '<meta property="og:image:height" content="600">'
        '<meta property="og:image" content="https://h.example.org/b.jpg">'
        '<meta property="og:image:alt" content="The second">'
    )
    got = extract_html(page(head), "https://h.example.org/1")
    sizes = {
        "https://h.example.org/a.jpg": (800, 600, None),
        "https://h.example.org/b.jpg": (None, None, "The second"),
    }
    assert got.image in sizes
    assert (got.image_width, got.image_height, got.image_alt) == sizes[got.image]


def test_a_page_without_og_tags_has_no_size_and_no_site() -> None:
    got = extract_html(page(""), "https://h.example.org/1")
    assert (got.image_width, got.image_height, got.image_alt, got.site) == (None,) * 4


def test_an_og_image_of_one_pixel_is_no_image() -> None:
    head = (
        '<meta property="og:image" content="https://h.example.org/px.gif">'
        '<meta property="og:image:width" content="1"><meta property="og:image:height" content="1">'
    )
    assert extract_html(page(head), "https://h.example.org/1").image is None


def test_a_long_site_name_is_cut_to_one_line_of_100() -> None:
    head = f'<meta property="og:site_name" content="{"Gazette " * 30}">'
    site = extract_html(page(head), "https://h.example.org/1").site
    assert site is not None and len(site) <= 100 and site.endswith("…") and "\n" not in site


# -- files in folders ------------------------------------------------------------------------


def test_markdown_front_matter_gives_image_size_alt_and_site(tmp_path: Path) -> None:
    f = tmp_path / "pool.md"
    f.write_text(
        "---\ntitle: Pool\nimage: https://h.example.org/pool.jpg\nimage_width: 1024\n"
        'image_height: "768"\nimage_alt: "The pool, at night"\nsite: "Harbour\\u200b Gazette"\n'
        f"---\n\n{LONG}\n",
        encoding="utf-8",
    )
    a = read_article(f, "Own")
    assert image_of(a) == ("https://h.example.org/pool.jpg", 1024, 768, "The pool, at night")
    assert a.site == "Harbour Gazette"


def test_a_bad_front_matter_size_is_left_out_with_a_warning_naming_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    f = tmp_path / "pool.md"
    f.write_text(
        "---\ntitle: Pool\nimage: https://h.example.org/pool.jpg\nimage_width: wide\n"
        f"image_height: 0\n---\n\n{LONG}\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING):
        a = read_article(f, "Own")
    assert (a.image, a.image_width, a.image_height) == (
        "https://h.example.org/pool.jpg",
        None,
        None,
    )
    said = caplog.text
    assert str(f) in said and "image_width = 'wide'" in said and "image_height = 0" in said


def test_a_front_matter_image_of_one_pixel_is_no_image(tmp_path: Path) -> None:
    f = tmp_path / "pool.md"
    f.write_text(
        "---\ntitle: Pool\nimage: https://h.example.org/p.gif\nimage_width: 1\n"
        f"image_height: 1\nimage_alt: Pixel\n---\n\n{LONG}\n",
        encoding="utf-8",
    )
    assert image_of(read_article(f, "Own")) == (None, None, None, None)


def test_an_html_file_gives_its_og_image_and_site(tmp_path: Path) -> None:
    f = tmp_path / "saved.html"
    f.write_text(page(OG), encoding="utf-8")
    a = read_article(f, "Own")
    assert image_of(a) == ("https://h.example.org/pool.jpg", 1200, 630, "Swimmers in the pool")
    assert a.site == "The Harbour Gazette"


def test_a_text_file_has_no_site(tmp_path: Path) -> None:
    f = tmp_path / "note.txt"
    f.write_text(f"A note\n\n{LONG}\n", encoding="utf-8")
    assert read_article(f, "Own").site is None


# -- through a whole gathering --------------------------------------------------------------


def make_config(tmp_path: Path, sources: list[dict[str, Any]]) -> Config:
    data = {
        "newsletter": {"state": ".digest"},
        "sources": sources,
        "lists": {"daily": {"sender": "Daily <d@example.com>"}},
    }
    return parse_config(data, tmp_path / "digest.toml")


def run(config: Config) -> list[Article]:
    return list(gather(config, config.get_list("daily"), now=NOW).articles)


def test_feed_items_carry_the_feed_title_as_site_and_their_section(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss(rss_item(1, THUMB) + rss_item(2), title="Harbour\n  Gazette &amp; Co"))
    folder = tmp_path / "own"
    folder.mkdir()
    (folder / "a.md").write_text(f"---\ntitle: Own story\n---\n\n{LONG}\n", encoding="utf-8")
    config = make_config(
        tmp_path,
        [
            {"name": "Harbour", "feed": str(feed), "section": "Local  news"},
            {"name": "Own", "folder": "own", "section": "From us"},
        ],
    )
    got = {a.title: a for a in run(config)}
    assert {t: (a.site, a.section) for t, a in got.items()} == {
        "Story 1": ("Harbour Gazette & Co", "Local news"),
        "Story 2": ("Harbour Gazette & Co", "Local news"),
        "Own story": (None, "From us"),
    }
    assert image_of(got["Story 1"])[:3] == ("https://h.example.org/t.jpg", 320, 180)


def test_json_feed_items_carry_the_feeds_title_as_site(tmp_path: Path) -> None:
    item = {
        "id": "1",
        "url": "https://j.example.org/1",
        "title": "One",
        "content_text": LONG,
        "date_published": (NOW - timedelta(hours=1)).isoformat(),
    }
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "J\u2028Site", "items": [item]}
    (tmp_path / "feed.json").write_text(json.dumps(feed), encoding="utf-8")
    [article] = run(make_config(tmp_path, [{"name": "J", "feed": str(tmp_path / "feed.json")}]))
    assert article.site == "J Site"


def test_a_feed_without_a_title_gives_no_site(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss(rss_item(1), title=None))
    [article] = run(make_config(tmp_path, [{"name": "Harbour", "feed": str(feed)}]))
    assert (article.site, article.section) == (None, None)


def test_a_folder_image_that_is_not_http_takes_its_size_and_alt_with_it(tmp_path: Path) -> None:
    folder = tmp_path / "own"
    folder.mkdir()
    (folder / "a.md").write_text(
        "---\ntitle: Own story\nimage: file:///etc/passwd\nimage_width: 100\nimage_height: 50\n"
        f"image_alt: Secret\n---\n\n{LONG}\n",
        encoding="utf-8",
    )
    [article] = run(make_config(tmp_path, [{"name": "Own", "folder": "own"}]))
    assert image_of(article) == (None, None, None, None)


def serve(httpserver: HTTPServer, feed: bytes, head: str) -> str:
    httpserver.expect_request("/story-1.html").respond_with_data(
        page(head), content_type="text/html"
    )
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed.replace(
            b"https://h.example.org/1<", httpserver.url_for("/story-1.html").encode() + b"<"
        ),
        content_type="application/rss+xml",
    )
    return httpserver.url_for("/feed.xml")


def test_a_teasers_page_gives_the_story_its_image_size_alt_and_site(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    teaser = rss_item(1, html="<p>The pool stays open this winter.</p>")
    url = serve(httpserver, rss(teaser, title=None), OG)
    config = make_config(tmp_path, [{"name": "Harbour", "feed": url}])
    [first] = run(config)
    assert first.lead[0] == LONG
    expected = ("https://h.example.org/pool.jpg", 1200, 630, "Swimmers in the pool")
    assert image_of(first) == expected
    assert first.site == "The Harbour Gazette"  # the feed has no title: the page's name
    # The second run reads the page from the page cache: the same image, size and site.
    [again] = run(config)
    assert [r.path for r, _ in httpserver.log].count("/story-1.html") == 1
    assert (image_of(again), again.site) == (expected, "The Harbour Gazette")
    with sqlite3.connect(tmp_path / ".digest" / STATE_FILE) as db:
        row = db.execute("SELECT image_width, image_height, image_alt, site FROM pages").fetchone()
    assert row == (1200, 630, "Swimmers in the pool", "The Harbour Gazette")


def test_the_feeds_own_image_and_title_come_before_the_pages(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    teaser = rss_item(1, THUMB, html="<p>The pool stays open this winter.</p>")
    url = serve(httpserver, rss(teaser), OG)
    [first] = run(make_config(tmp_path, [{"name": "Harbour", "feed": url}]))
    assert first.lead[0] == LONG  # the page was read
    assert image_of(first) == ("https://h.example.org/t.jpg", 320, 180, None)
    assert first.site == "Harbour Gazette"


def test_the_pages_image_is_kept_even_when_the_feeds_text_gives_the_lead(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """A page with less text than the feed still shows what the story looks like."""
    head = OG
    teaser = rss_item(1, html=f"<p>{LONG2}</p>")
    body = page(head).replace(f"<p>{LONG}</p><p>{LONG2}</p>", "<p>Short.</p>")
    httpserver.expect_request("/story-1.html").respond_with_data(body, content_type="text/html")
    feed = rss(teaser).replace(
        b"https://h.example.org/1<", httpserver.url_for("/story-1.html").encode() + b"<"
    )
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed, content_type="application/rss+xml"
    )
    config = make_config(tmp_path, [{"name": "H", "feed": httpserver.url_for("/feed.xml")}])
    [first] = run(config)
    assert first.lead == (LONG2,)
    assert [r.path for r, _ in httpserver.log].count("/story-1.html") == 1
    assert image_of(first) == ("https://h.example.org/pool.jpg", 1200, 630, "Swimmers in the pool")


def test_a_remote_feeds_title_survives_a_304(tmp_path: Path, httpserver: HTTPServer) -> None:
    body = rss(rss_item(1))
    httpserver.expect_ordered_request("/feed.xml").respond_with_data(
        body, content_type="application/rss+xml", headers={"ETag": '"v1"'}
    )
    httpserver.expect_ordered_request("/feed.xml").respond_with_data("", status=304)
    config = make_config(tmp_path, [{"name": "H", "feed": httpserver.url_for("/feed.xml")}])
    assert [a.site for a in run(config)] == ["Harbour Gazette"]
    with State.open(tmp_path / ".digest") as state:
        assert state.feeds.get(httpserver.url_for("/feed.xml")) is not None
    assert [a.site for a in run(config)] == ["Harbour Gazette"]
    assert len(httpserver.log) == 2 and httpserver.log[1][1].status_code == 304


def test_a_text_export_s_site_prefix_names_the_site(tmp_path: Path) -> None:
    """ "Hebrew News – Headline" then the bare headline: the title is the headline and the
    prefix the site, so the email does not show the folder's name as the story's source."""
    f = tmp_path / "export.txt"
    f.write_text(
        "Hebrew News – NATO plans a permanent presence in the east\n\nby time news\n\n"
        "NATO plans a permanent presence in the east\n\n" + LONG + "\n",
        encoding="utf-8",
    )
    a = read_article(f, "My folder")
    assert (a.title, a.site) == ("NATO plans a permanent presence in the east", "Hebrew News")
    plain = tmp_path / "plain.txt"
    plain.write_text("A headline of our own making here\n\n" + LONG + "\n", encoding="utf-8")
    assert read_article(plain, "My folder").site is None
