"""Gathering end to end: a local HTTP server serves feeds and article pages, state is real SQLite.

What a reader of the digest would notice: which items are in the next issue, in what order, that
nothing sent before comes back, that one item linked from two feeds appears once, and that a
broken feed costs one line in `problems` and nothing else.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from digest.config import Config, parse_config
from digest.errors import SourceError
from digest.pipeline import gather
from digest.sources.fetch import FetchLimits
from digest.state import State

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
CORPUS = Path(__file__).parent / "data" / "feeds" / "kurtmckee-feedparser"
LONG = (
    "The council voted on Tuesday evening to keep the swimming pool open through the winter, "
    "after a petition signed by more than two thousand residents asked it to reconsider."
)
LONG2 = (
    "Officials said the extra heating costs would be met from the leisure budget, and that the "
    "opening hours would stay the same until the end of March next year at the earliest."
)

OTHER = (
    "<p>The library will open on Sunday afternoons from January, the town's librarian said, "
    "after volunteers offered to staff the reading room and the children's corner.</p><p>The "
    "mobile library van keeps its Tuesday rounds to the villages, and the café in the foyer "
    "will stay closed on Sundays until a new tenant is found for it.</p>"
)


def rss(items: list[dict[str, Any]], title: str = "Test feed") -> str:
    """An RSS 2.0 document; each item may have title, link, guid, date, html."""
    parts = []
    for it in items:
        p = ["<item>"]
        if "title" in it:
            p.append(f"<title>{it['title']}</title>")
        if "link" in it:
            p.append(f"<link>{it['link']}</link>")
        if "guid" in it:
            p.append(f'<guid isPermaLink="false">{it["guid"]}</guid>')
        if "date" in it:
            p.append(f"<pubDate>{format_datetime(it['date'])}</pubDate>")
        html = it.get("html", f"<p>{LONG}</p><p>{LONG2}</p>")
        p.append(f"<description><![CDATA[{html}]]></description></item>")
        parts.append("".join(p))
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.org/</link>{''.join(parts)}</channel></rss>"
    )


def item(n: int, hours_ago: float, **extra: Any) -> dict[str, Any]:
    return {
        "title": f"Story {n}",
        "link": f"https://news.example.org/story-{n}",
        "guid": f"story-{n}",
        "date": NOW - timedelta(hours=hours_ago),
        **extra,
    }


def make_config(tmp_path: Path, sources: list[dict[str, Any]], **list_opts: Any) -> Config:
    data = {
        "newsletter": {"state": ".digest"},
        "sources": sources,
        "lists": {"daily": {"sender": "Daily <d@example.com>", **list_opts}},
    }
    return parse_config(data, tmp_path / "digest.toml")


def serve_feed(server: HTTPServer, path: str, body: str | bytes, **kw: Any) -> str:
    ctype = kw.pop("content_type", "application/rss+xml; charset=utf-8")
    server.expect_request(path).respond_with_data(body, content_type=ctype, **kw)
    return server.url_for(path)


def run(config: Config, **kw: Any) -> Any:
    kw.setdefault("now", NOW)
    return gather(config, config.get_list("daily"), **kw)


def titles(result: Any) -> list[str]:
    return [a.title for a in result.articles]


# The window and order.


def test_recent_items_newest_first_with_leads(tmp_path: Path, httpserver: HTTPServer) -> None:
    url = serve_feed(
        httpserver, "/feed.xml", rss([item(1, 30), item(2, 2), item(3, 5), item(4, 1)])
    )
    result = run(make_config(tmp_path, [{"feed": url}]))
    assert titles(result) == ["Story 4", "Story 2", "Story 3"]  # Story 1 is older than 24 h
    assert result.problems == ()
    assert all(a.lead == (LONG, LONG2) for a in result.articles)
    assert result.articles[0].published == NOW - timedelta(hours=1)
    assert result.since == NOW - timedelta(hours=24)


def test_since_overrides_the_window(tmp_path: Path, httpserver: HTTPServer) -> None:
    url = serve_feed(httpserver, "/feed.xml", rss([item(1, 30), item(2, 2)]))
    result = run(make_config(tmp_path, [{"feed": url}]), since=NOW - timedelta(days=2))
    assert titles(result) == ["Story 2", "Story 1"]


def test_lookback_hours_setting(tmp_path: Path, httpserver: HTTPServer) -> None:
    url = serve_feed(httpserver, "/feed.xml", rss([item(1, 30), item(2, 50)]))
    result = run(make_config(tmp_path, [{"feed": url}], lookback_hours=36))
    assert titles(result) == ["Story 1"]


def test_undated_items_are_new_when_first_seen_only(tmp_path: Path, httpserver: HTTPServer) -> None:
    undated = {"title": "Undated", "link": "https://news.example.org/undated", "guid": "u1"}
    url = serve_feed(httpserver, "/feed.xml", rss([undated, item(2, 3)]))
    config = make_config(tmp_path, [{"feed": url}])
    first = run(config)
    assert "Undated" in titles(first)
    assert first.articles[titles(first).index("Undated")].published is None
    # Two days later, nothing was sent: the undated item was first seen long ago, so it is old.
    later = run(config, now=NOW + timedelta(days=2))
    assert titles(later) == []


def test_max_articles_and_max_items(tmp_path: Path, httpserver: HTTPServer) -> None:
    a = serve_feed(httpserver, "/a.xml", rss([item(n, n) for n in range(1, 8)]))
    b = serve_feed(httpserver, "/b.xml", rss([item(n, n - 9.5) for n in range(11, 15)]))
    config = make_config(tmp_path, [{"feed": a, "max_items": 2}, {"feed": b}], max_articles=4)
    result = run(config)
    assert titles(result) == ["Story 1", "Story 11", "Story 2", "Story 12"]


# No repeats, no duplicates, and gathering marks nothing sent.


def test_no_repeat_over_two_issues(tmp_path: Path, httpserver: HTTPServer) -> None:
    url = serve_feed(httpserver, "/feed.xml", rss([item(1, 3), item(2, 2)]))
    config = make_config(tmp_path, [{"feed": url}])
    first = run(config)
    assert titles(first) == ["Story 2", "Story 1"]
    assert titles(run(config)) == ["Story 2", "Story 1"], "gathering must not mark items sent"

    with State.open(config.state_dir) as state:
        state.sent.record_issue("daily", "daily-2026-11-24", [a.id for a in first.articles], NOW)

    httpserver.clear()
    serve_feed(httpserver, "/feed.xml", rss([item(1, 3), item(2, 2), item(3, -1)]))
    second = run(config, now=NOW + timedelta(hours=2))
    assert titles(second) == ["Story 3"]


def test_sent_item_stays_out_when_another_feed_links_it(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    a = serve_feed(httpserver, "/a.xml", rss([item(1, 3)]))
    config = make_config(tmp_path, [{"feed": a, "name": "A"}])
    first = run(config)
    with State.open(config.state_dir) as state:
        state.sent.record_issue("daily", "daily-1", [x.id for x in first.articles], NOW)
    # Same page, another GUID, with tracking parameters and a fragment, in a second feed.
    copy = item(9, 1, link="https://news.example.org/story-1?utm_source=x&amp;fbclid=1#top")
    copy["title"] = "Story 1 again"
    b = serve_feed(httpserver, "/b.xml", rss([copy, item(5, 1)]))
    config2 = make_config(tmp_path, [{"feed": a, "name": "A"}, {"feed": b, "name": "B"}])
    assert titles(run(config2, now=NOW + timedelta(hours=1))) == ["Story 5"]


def test_cross_feed_duplicates_appear_once(tmp_path: Path, httpserver: HTTPServer) -> None:
    short = {"html": "<p>Just a teaser.</p>"}
    a = serve_feed(httpserver, "/a.xml", rss([item(1, 2, guid="a-1", **short)]))
    dup = item(1, 2, guid="b-1", link="https://news.example.org/story-1?utm_medium=rss")
    b = serve_feed(httpserver, "/b.xml", rss([dup, item(2, 1)]))
    config = make_config(
        tmp_path,
        [
            {"feed": a, "name": "A", "full_text": "never"},
            {"feed": b, "name": "B", "full_text": "never"},
        ],
    )
    result = run(config)
    assert titles(result) == ["Story 2", "Story 1"]
    # The copy with the most text wins.
    assert result.articles[1].source == "B"
    assert result.articles[1].lead == (LONG, LONG2)


def test_lists_are_separate(tmp_path: Path, httpserver: HTTPServer) -> None:
    url = serve_feed(httpserver, "/feed.xml", rss([item(1, 3)]))
    data = {
        "sources": [{"feed": url}],
        "lists": {
            "daily": {"sender": "d@example.com"},
            "weekly": {"sender": "w@example.com"},
        },
    }
    config = parse_config(data, tmp_path / "digest.toml")
    first = gather(config, config.get_list("daily"), now=NOW)
    with State.open(config.state_dir) as state:
        state.sent.record_issue("daily", "daily-1", [a.id for a in first.articles], NOW)
    assert titles(gather(config, config.get_list("daily"), now=NOW)) == []
    assert titles(gather(config, config.get_list("weekly"), now=NOW)) == ["Story 1"]


def test_window_after_a_send_still_takes_late_items(tmp_path: Path, httpserver: HTTPServer) -> None:
    """An item published just before the last send but fetched after it is not lost."""
    url = serve_feed(httpserver, "/feed.xml", rss([item(1, 3)]))
    config = make_config(tmp_path, [{"feed": url}])
    with State.open(config.state_dir) as state:
        state.sent.record_issue("daily", "daily-1", [], NOW - timedelta(hours=1))
        assert state.sent.last_sent("daily") == NOW - timedelta(hours=1)
    assert titles(run(config)) == ["Story 1"]


# Folder sources: the user's own articles are new until sent.


def test_folder_articles_are_new_until_sent(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "old.md").write_text(
        f"---\ntitle: An old piece\ndate: 2020-01-01\n---\n\n{LONG}\n\n{LONG2}\n", encoding="utf-8"
    )
    config = make_config(tmp_path, [{"folder": "articles"}])
    first = run(config)
    assert titles(first) == ["An old piece"]
    with State.open(config.state_dir) as state:
        state.sent.record_issue("daily", "daily-1", [a.id for a in first.articles], NOW)
    assert titles(run(config)) == []


def test_no_sources_is_a_config_problem(tmp_path: Path) -> None:
    config = make_config(tmp_path, [])
    with pytest.raises(SourceError, match="no sources"):
        run(config)


# Conditional GET and the HTTP cache.


def test_conditional_get_answers_304_and_keeps_items(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    body = rss([item(1, 3), item(2, 2)]).encode()
    seen: list[dict[str, str | None]] = []

    def handler(request: Request) -> Response:
        seen.append(
            {
                "if-none-match": request.headers.get("If-None-Match"),
                "if-modified-since": request.headers.get("If-Modified-Since"),
                "user-agent": request.headers.get("User-Agent"),
            }
        )
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(
            body,
            content_type="application/rss+xml",
            headers={"ETag": '"v1"', "Last-Modified": "Mon, 23 Nov 2026 10:00:00 GMT"},
        )

    httpserver.expect_request("/feed.xml").respond_with_handler(handler)
    config = make_config(tmp_path, [{"feed": httpserver.url_for("/feed.xml")}])
    first = run(config)
    second = run(config)
    assert seen[0]["if-none-match"] is None
    assert seen[1]["if-none-match"] == '"v1"'
    assert seen[1]["if-modified-since"] == "Mon, 23 Nov 2026 10:00:00 GMT"
    assert (seen[0]["user-agent"] or "").startswith("digest/")
    assert titles(second) == titles(first) == ["Story 2", "Story 1"]
    assert second.sources[0].status == "304"
    assert second.problems == ()


def test_failed_feed_falls_back_to_its_last_entries(tmp_path: Path, httpserver: HTTPServer) -> None:
    url = serve_feed(httpserver, "/feed.xml", rss([item(1, 3)]))
    config = make_config(tmp_path, [{"feed": url}])
    assert titles(run(config)) == ["Story 1"]
    httpserver.clear()
    httpserver.expect_request("/feed.xml").respond_with_data("down", status=503)
    result = run(config)
    assert titles(result) == ["Story 1"]
    assert len(result.problems) == 1
    assert "HTTP 503" in result.problems[0]
    assert "using the 1 entries fetched" in result.problems[0]


# Full text when the feed gives only a teaser.


PAGE = f"""<!doctype html><html><head><title>Pool stays open</title>
<meta property="og:image" content="https://news.example.org/pool.jpg"></head>
<body><nav>Home | News | Sport</nav><article><h1>Pool stays open</h1>
<p>{LONG}</p><p>{LONG2}</p><p>Swimmers welcomed the decision on Wednesday morning and
said they would hold a celebration gala at the pool before the end of the month.</p></article>
<footer>Copyright the Example News</footer></body></html>"""


def test_teaser_gets_full_text_from_the_page(tmp_path: Path, httpserver: HTTPServer) -> None:
    page_url = httpserver.url_for("/story-1.html")
    httpserver.expect_request("/story-1.html").respond_with_data(PAGE, content_type="text/html")
    teaser = item(1, 2, link=page_url, html="<p>The pool stays open this winter.</p>")
    url = serve_feed(httpserver, "/feed.xml", rss([teaser]))
    config = make_config(tmp_path, [{"feed": url}])
    result = run(config)
    assert result.problems == ()
    assert result.articles[0].lead[0] == LONG
    # The page text is cached: a second run does not fetch the page again.
    run(config)
    page_hits = [r for r, _ in httpserver.log if r.path == "/story-1.html"]
    assert len(page_hits) == 1


def test_full_text_never_keeps_the_feed_text(tmp_path: Path, httpserver: HTTPServer) -> None:
    page_url = httpserver.url_for("/story-1.html")
    httpserver.expect_request("/story-1.html").respond_with_data(PAGE, content_type="text/html")
    teaser = item(1, 2, link=page_url, html=f"<p>{LONG}</p>")
    url = serve_feed(httpserver, "/feed.xml", rss([teaser]))
    result = run(make_config(tmp_path, [{"feed": url, "full_text": "never"}]))
    assert result.articles[0].lead == (LONG,)
    assert not [r for r, _ in httpserver.log if r.path == "/story-1.html"]


def test_full_text_always_fetches_even_long_entries(tmp_path: Path, httpserver: HTTPServer) -> None:
    page_url = httpserver.url_for("/story-1.html")
    httpserver.expect_request("/story-1.html").respond_with_data(PAGE, content_type="text/html")
    entry = item(1, 2, link=page_url, html=f"<p>{LONG2}</p><p>{LONG}</p>")
    url = serve_feed(httpserver, "/feed.xml", rss([entry]))
    result = run(make_config(tmp_path, [{"feed": url, "full_text": "always"}]))
    assert result.articles[0].lead[0] == LONG
    assert [r for r, _ in httpserver.log if r.path == "/story-1.html"]


def test_page_that_fails_keeps_the_teaser(tmp_path: Path, httpserver: HTTPServer) -> None:
    page_url = httpserver.url_for("/gone.html")
    httpserver.expect_request("/gone.html").respond_with_data("no", status=404)
    teaser = item(1, 2, link=page_url, html=f"<p>{LONG}</p>")
    url = serve_feed(httpserver, "/feed.xml", rss([teaser]))
    result = run(make_config(tmp_path, [{"feed": url}]))
    assert result.articles[0].lead == (LONG,)
    assert len(result.problems) == 1
    assert "full text of" in result.problems[0] and "HTTP 404" in result.problems[0]


# Feed HTML never reaches an article unsanitised.


def test_scripts_styles_and_pixels_do_not_reach_articles(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    html = (
        f'<p onclick="steal()">{LONG}<script>alert("x")</script></p>'
        "<style>p { color: red }</style><iframe src='https://evil.example/'>frame text</iframe>"
        "<form><input name='q'>form text</form>"
        '<img src="https://t.example/open.gif" width="1" height="1">'
        f'<img src="/pool.jpg" alt="The pool"><p>{LONG2}</p>'
    )
    url = serve_feed(httpserver, "/feed.xml", rss([item(1, 2, html=html)]))
    result = run(make_config(tmp_path, [{"feed": url}]))
    a = result.articles[0]
    text = " ".join(a.paragraphs)
    for bad in ("alert", "color: red", "frame text", "form text", "steal", "<"):
        assert bad not in text
    assert a.paragraphs == (LONG, LONG2)
    assert a.image == "https://news.example.org/pool.jpg"
    assert a.image_alt == "The pool"


# Bad input: one line each, and the issue goes on.


@pytest.fixture
def good_feed(tmp_path: Path) -> dict[str, Any]:
    """A healthy source beside the bad one (a local file, so a stalled server cannot hold it)."""
    (tmp_path / "good.xml").write_text(rss([item(1, 2)]), encoding="utf-8")
    return {"feed": "good.xml", "name": "Good"}


def problems_with(
    tmp_path: Path, good: dict[str, Any], bad: dict[str, Any], **kw: Any
) -> tuple[list[str], list[str]]:
    result = run(make_config(tmp_path, [good, {"name": "Bad", **bad}]), **kw)
    return titles(result), list(result.problems)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(403, "HTTP 403"), (404, "HTTP 404"), (500, "HTTP 500")],
)
def test_http_errors(
    tmp_path: Path,
    httpserver: HTTPServer,
    good_feed: dict[str, Any],
    status: int,
    expected: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = serve_feed(httpserver, "/bad.xml", "nope", status=status, content_type="text/plain")
    with caplog.at_level(logging.WARNING, logger="digest"):
        got, problems = problems_with(tmp_path, good_feed, {"feed": url})
    assert got == ["Story 1"]
    assert len(problems) == 1
    assert problems[0].startswith(f"Bad ({url}): {expected}")
    assert any(expected in r.getMessage() and url in r.getMessage() for r in caplog.records)


def test_unreachable_host(tmp_path: Path, good_feed: dict[str, Any]) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got, problems = problems_with(tmp_path, good_feed, {"feed": f"http://127.0.0.1:{port}/f"})
    assert got == ["Story 1"]
    assert len(problems) == 1 and "cannot connect" in problems[0]


def test_timeout(tmp_path: Path, httpserver: HTTPServer, good_feed: dict[str, Any]) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response(rss([item(7, 1)]), content_type="application/rss+xml")

    httpserver.expect_request("/slow.xml").respond_with_handler(slow)
    limits = FetchLimits(read_timeout=0.3, connect_timeout=2)
    got, problems = problems_with(
        tmp_path, good_feed, {"feed": httpserver.url_for("/slow.xml")}, limits=limits
    )
    assert got == ["Story 1"]
    assert len(problems) == 1 and "no answer within 0.3 s" in problems[0]


def test_html_page_without_feed(
    tmp_path: Path, httpserver: HTTPServer, good_feed: dict[str, Any]
) -> None:
    url = serve_feed(
        httpserver,
        "/page",
        "<!doctype html><html><body><p>Hi</p></body></html>",
        content_type="text/html",
    )
    got, problems = problems_with(tmp_path, good_feed, {"feed": url})
    assert got == ["Story 1"]
    assert problems == [
        f"Bad ({url}): an HTML page, not a feed, and it links to no feed; "
        "put the feed's own URL in digest.toml"
    ]


def test_html_page_with_feed_link_is_followed(
    tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    feed = serve_feed(httpserver, "/blog/feed.xml", rss([item(3, 1)]))
    page = (
        '<!doctype html><html><head><link rel="alternate" type="application/rss+xml" '
        'href="feed.xml"></head><body>Blog</body></html>'
    )
    url = serve_feed(httpserver, "/blog/", page, content_type="text/html")
    with caplog.at_level(logging.WARNING, logger="digest"):
        result = run(make_config(tmp_path, [{"feed": url}]))
    assert titles(result) == ["Story 3"]
    assert result.problems == ()
    assert result.sources[0].feed_url == feed
    assert any(feed in r.getMessage() and "web page" in r.getMessage() for r in caplog.records)


def test_oversized_response_is_cut_off(
    tmp_path: Path, httpserver: HTTPServer, good_feed: dict[str, Any]
) -> None:
    """A 50 MB answer without Content-Length: reading stops at the cap."""
    chunk = b"<!-- " + b"x" * (1024 * 1024 - 10) + b" -->\n"
    sent = []

    def stream() -> Any:
        for _ in range(50):
            sent.append(1)
            yield chunk

    httpserver.expect_request("/huge.xml").respond_with_response(
        Response(stream(), content_type="application/rss+xml")
    )
    got, problems = problems_with(tmp_path, good_feed, {"feed": httpserver.url_for("/huge.xml")})
    assert got == ["Story 1"]
    assert len(problems) == 1 and "passed the 10.0 MB cap; cut off" in problems[0]


def test_declared_oversized_response_is_not_read(
    tmp_path: Path, httpserver: HTTPServer, good_feed: dict[str, Any]
) -> None:
    url = serve_feed(httpserver, "/big.xml", b"<rss>" + b" " * 300_000 + b"</rss>")
    limits = FetchLimits(max_bytes=100_000)
    got, problems = problems_with(tmp_path, good_feed, {"feed": url}, limits=limits)
    assert got == ["Story 1"]
    assert len(problems) == 1 and "over the 98 KB cap; not read" in problems[0]


def test_entries_without_link_or_title(tmp_path: Path, httpserver: HTTPServer) -> None:
    no_link = {"title": "No link", "guid": "nl", "date": NOW - timedelta(hours=1)}
    no_title = {"link": "https://news.example.org/untitled", "date": NOW - timedelta(hours=2)}
    url = serve_feed(httpserver, "/feed.xml", rss([no_link, no_title, item(3, 3)]))
    result = run(make_config(tmp_path, [{"feed": url, "name": "F"}]))
    assert titles(result) == [
        "No link",
        "The council voted on Tuesday evening to keep the swimming…",
        "Story 3",
    ]
    assert result.articles[0].url is None
    assert sorted(result.problems) == sorted(
        [
            f"F ({url}): 1 of 3 entries have no title (titled from their text)",
            f"F ({url}): 1 of 3 entries have no link (kept without one)",
        ]
    )


def test_ill_formed_xml_keeps_what_was_read(tmp_path: Path, httpserver: HTTPServer) -> None:
    body = rss([item(1, 2), item(2, 1)]).replace("</channel></rss>", "<item><title>broken &")
    url = serve_feed(httpserver, "/feed.xml", body)
    result = run(make_config(tmp_path, [{"feed": url, "name": "F"}]))
    assert set(titles(result)) >= {"Story 1", "Story 2"}
    assert f"F ({url}): not well-formed XML at line 1" in result.problems[0]
    assert "unclosed token; kept the 2 entries read" in result.problems[0]
    # feedparser saw the start of a third entry; it had nothing in it and is left out.
    assert result.problems[1:] == (
        f"F ({url}): 1 of 3 entries have neither title nor text (left out)",
    )


def test_gzip_encoded_and_raw_gzip_feeds(tmp_path: Path, httpserver: HTTPServer) -> None:
    raw = gzip.compress(rss([item(1, 2)]).encode())
    httpserver.expect_request("/enc.xml").respond_with_data(
        raw, content_type="application/rss+xml", headers={"Content-Encoding": "gzip"}
    )
    # Its own text: two items with the same text are one story (see test_group.py).
    plain = gzip.compress(rss([item(2, 1, html=OTHER)]).encode())
    url2 = serve_feed(httpserver, "/raw.xml", plain)  # gzip without Content-Encoding
    config = make_config(tmp_path, [{"feed": httpserver.url_for("/enc.xml")}, {"feed": url2}])
    result = run(config)
    assert titles(result) == ["Story 2", "Story 1"]
    assert result.problems == ()


def test_every_corpus_feed_served_over_http(tmp_path: Path, httpserver: HTTPServer) -> None:
    """All of feedparser's test feeds at once: nothing raises, each problem is one line."""
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "LICENSE")
    assert len(files) > 40
    sources = []
    for i, path in enumerate(files):
        ctype = "application/json" if path.suffix == ".json" else "application/xml"
        url = serve_feed(httpserver, f"/c/{i}", path.read_bytes(), content_type=ctype)
        sources.append({"feed": url, "name": path.name + f"#{i}", "full_text": "never"})
    result = run(make_config(tmp_path, sources), since=datetime(1990, 1, 1, tzinfo=UTC))
    assert all("\n" not in p for p in result.problems)
    assert any("not well-formed XML" in p for p in result.problems)
    assert any("wrong encoding declared" in p for p in result.problems)
    assert len(result.sources) == len(files)
    assert {s.status for s in result.sources} == {"200"}
    read = {s.name.split("#")[0]: s.items for s in result.sources}
    assert read["example.json"] == 2  # JSON Feed, which feedparser 6 cannot read
    assert read["rss20.xml"] == 1
    assert sum(read.values()) >= 25


def test_local_feed_file(tmp_path: Path) -> None:
    (tmp_path / "feed.xml").write_text(rss([item(1, 2)]), encoding="utf-8")
    config = make_config(tmp_path, [{"feed": "feed.xml", "name": "Local"}])
    result = run(config)
    assert titles(result) == ["Story 1"]
    assert result.sources[0].status == "file"
    (tmp_path / "feed.xml").unlink()
    gone = run(config)
    assert gone.articles == ()
    assert len(gone.problems) == 1 and "cannot read the feed file" in gone.problems[0]


def test_missing_folder_is_one_problem(tmp_path: Path, good_feed: dict[str, Any]) -> None:
    got, problems = problems_with(tmp_path, good_feed, {"folder": "no-such-folder"})
    assert got == ["Story 1"]
    assert problems == [f"source 'Bad': {tmp_path / 'no-such-folder'} is not a folder"]


# Found in review: each of these failed before its fix.


def test_links_and_images_are_only_ever_http(tmp_path: Path, httpserver: HTTPServer) -> None:
    """A feed's `javascript:` link or `data:` image would reach the email's href and src."""
    bad = item(1, 2, link="javascript:alert(document.cookie)")
    bad["html"] = (
        f'<p>{LONG}</p><img src="javascript:alert(2)"><img src="data:image/png;base64,AAAA">'
    )
    body = rss([bad]).replace(
        "<item>",
        '<item><media:content xmlns:media="http://search.yahoo.com/mrss/" '
        'url="javascript:alert(3)" medium="image"/>',
    )
    url = serve_feed(httpserver, "/feed.xml", body)
    result = run(make_config(tmp_path, [{"feed": url}]))
    (a,) = result.articles
    assert a.url is None and a.image is None


def test_titles_hold_no_markup(tmp_path: Path, httpserver: HTTPServer) -> None:
    title = (
        "AT&amp;amp;T &lt;b&gt;wins&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt; the bid "
        "&lt;img src=x onerror=alert(2)"
    )
    url = serve_feed(httpserver, "/feed.xml", rss([item(1, 2, title=title)]))
    result = run(make_config(tmp_path, [{"feed": url}]))
    assert titles(result) == ["AT&T wins the bid"]


def test_a_link_digest_cannot_fetch_does_not_stop_the_issue(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """A teaser whose link has an invalid host name: its page cannot be fetched, so the feed's
    text is used; before, the fetcher's InvalidURL escaped `gather` and the issue was lost."""
    teaser = item(1, 2, link="http://\u2603.example/story", html=f"<p>{LONG}</p>")
    url = serve_feed(httpserver, "/feed.xml", rss([teaser, item(2, 1)]))
    result = run(make_config(tmp_path, [{"feed": url, "name": "F"}]))
    assert titles(result) == ["Story 2", "Story 1"]
    assert result.articles[1].lead == (LONG,)
    assert len(result.problems) == 1
    assert result.problems[0].startswith(f"F ({url}): full text of http://\u2603.example/story: ")
    assert "not a valid URL" in result.problems[0]


def test_an_etag_that_cannot_be_sent_back_does_not_break_the_feed(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """A server's ETag with a non-ASCII character: sending it back raised, and the feed failed
    on every later run (without even its cached entries)."""
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss([item(1, 2)]), content_type="application/rss+xml", headers={"ETag": '"caf\xe9"'}
    )
    config = make_config(tmp_path, [{"feed": httpserver.url_for("/feed.xml")}])
    assert titles(run(config)) == ["Story 1"]
    again = run(config)
    assert titles(again) == ["Story 1"]
    assert again.problems == ()
    assert "If-None-Match" not in httpserver.log[-1][0].headers


@pytest.mark.parametrize(
    ("body", "ctype", "reason"),
    [
        ("", "application/rss+xml", "the document is empty"),
        ("<html><body>Down for maintenance</body></html>", "text/html", "an HTML page"),
        ("<rss version='2.0'><chan", "application/rss+xml", "not well-formed XML"),
    ],
)
def test_a_broken_answer_keeps_the_last_good_entries(
    tmp_path: Path, httpserver: HTTPServer, body: str, ctype: str, reason: str
) -> None:
    """A 200 with an empty, truncated or HTML body is a failed fetch: it must not replace the
    entries of the last good answer, or items not yet sent are lost."""
    url = serve_feed(httpserver, "/feed.xml", rss([item(1, 3)]))
    config = make_config(tmp_path, [{"feed": url, "name": "F"}])
    assert titles(run(config)) == ["Story 1"]
    httpserver.clear()
    serve_feed(httpserver, "/feed.xml", body, content_type=ctype)
    broken = run(config)
    assert titles(broken) == ["Story 1"]
    assert len(broken.problems) == 1
    assert broken.problems[0].startswith(f"F ({url}): {reason}")
    assert "(using the 1 entries fetched" in broken.problems[0]
    assert broken.sources[0].status == "error"
    # The broken answer did not replace the cache: the next failure still has the entries.
    assert titles(run(config)) == ["Story 1"]


def test_item_published_while_its_feed_was_down_is_not_lost(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Day 1's issue took the feed's items. At day 2's issue the feed was down, so it used the
    cached copy, which lacks an item published after day 1. On day 3 the feed is back: that
    item was never in an issue and must be in this one, though it is older than the window."""
    url = serve_feed(httpserver, "/feed.xml", rss([item(1, 2)]))
    config = make_config(tmp_path, [{"feed": url}])
    day1 = run(config)
    with State.open(config.state_dir) as state:
        state.sent.record_issue("daily", "daily-1", [a.id for a in day1.articles], NOW)

    httpserver.clear()
    httpserver.expect_request("/feed.xml").respond_with_data("down", status=503)
    day2 = run(config, now=NOW + timedelta(days=1))
    assert titles(day2) == []
    with State.open(config.state_dir) as state:
        state.sent.record_issue("daily", "daily-2", [], NOW + timedelta(days=1))

    httpserver.clear()
    missed = item(2, -3)  # published 3 hours after day 1's issue
    serve_feed(httpserver, "/feed.xml", rss([item(1, 2), missed, item(3, -47)]))
    day3 = run(config, now=NOW + timedelta(days=2))
    assert titles(day3) == ["Story 3", "Story 2"]


def test_old_items_of_a_feed_seen_before_stay_out(tmp_path: Path, httpserver: HTTPServer) -> None:
    """The rule above does not bring back items older than the look-back before the last
    issue, nor items seen before that issue (they were left out then for being old)."""
    url = serve_feed(httpserver, "/feed.xml", rss([item(1, 30)]))
    config = make_config(tmp_path, [{"feed": url}])
    assert titles(run(config)) == []
    with State.open(config.state_dir) as state:
        state.sent.record_issue("daily", "daily-1", [], NOW)
    httpserver.clear()
    serve_feed(httpserver, "/feed.xml", rss([item(1, 30), item(2, 50)]))
    assert titles(run(config, now=NOW + timedelta(days=1))) == []


def test_bare_guids_keep_their_ids_when_the_feed_redirects(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Bare GUIDs ("42") are qualified with the feed. They were qualified with the URL the
    feed was finally fetched from, so a feed that moved (and redirects) gave every item a new
    id, and sent items without a link came back."""
    linkless = {"title": "Notice", "guid": "42", "date": NOW - timedelta(hours=2)}
    url = serve_feed(httpserver, "/feed.xml", rss([linkless]))
    config = make_config(tmp_path, [{"feed": url}])
    first = run(config)
    assert titles(first) == ["Notice"]
    with State.open(config.state_dir) as state:
        state.sent.record_issue("daily", "daily-1", [a.id for a in first.articles], NOW)
    httpserver.clear()
    httpserver.expect_request("/feed.xml").respond_with_data(
        "", status=301, headers={"Location": httpserver.url_for("/new/feed.xml")}
    )
    serve_feed(httpserver, "/new/feed.xml", rss([linkless, item(2, -1)]))
    assert titles(run(config, now=NOW + timedelta(hours=2))) == ["Story 2"]


def test_a_password_in_a_feed_url_is_never_shown(
    tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/private.xml").respond_with_data("no", status=404)
    url = httpserver.url_for("/private.xml").replace("http://", "http://reader:s3cret@")
    with caplog.at_level(logging.DEBUG):  # digest's own log and httpx's request lines
        result = run(make_config(tmp_path, [{"feed": url}]))
    assert any(r.name == "httpx" and "***@" in r.getMessage() for r in caplog.records)
    assert len(result.problems) == 1
    assert "http://***@" in result.problems[0]
    assert "s3cret" not in result.problems[0]
    assert not [r for r in caplog.records if "s3cret" in r.getMessage()]


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (404, "check the feed's URL in digest.toml"),
        (403, "the site refuses digest; check the URL, or whether the feed needs a login"),
        (503, "the site has trouble; digest tries again next run"),
    ],
)
def test_fetch_problems_say_what_to_check(
    tmp_path: Path, httpserver: HTTPServer, status: int, hint: str
) -> None:
    url = serve_feed(httpserver, "/f.xml", "no", status=status, content_type="text/plain")
    result = run(make_config(tmp_path, [{"feed": url, "name": "F"}]))
    (line,) = result.problems
    assert line.startswith(f"F ({url}): HTTP {status} ") and line.endswith(f"; {hint}")


def test_a_feed_file_that_never_ends_is_cut_off(tmp_path: Path, good_feed: dict[str, Any]) -> None:
    """A named pipe (or device) has no size to check first: reading stops at the cap."""
    import os
    import threading

    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), open(fifo, "wb") as f:
            f.write(b"<rss>" + b" " * 300_000 + b"</rss>")

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    limits = FetchLimits(max_bytes=100_000)
    got, problems = problems_with(tmp_path, good_feed, {"feed": "pipe.xml"}, limits=limits)
    assert got == ["Story 1"]
    assert problems == [f"Bad ({fifo}): the file is over the 98 KB cap; not read"]


def test_dates_without_a_zone_are_utc_not_missing(tmp_path: Path, httpserver: HTTPServer) -> None:
    """feedparser cannot read an RFC 822 date without a zone; such items counted as undated,
    so on a first run a month-old item was "new"."""

    def zoneless(n: int, hours_ago: float) -> str:
        when = (NOW - timedelta(hours=hours_ago)).strftime("%a, %d %b %Y %H:%M:%S")
        return (
            f"<item><title>Story {n}</title><link>https://news.example.org/{n}</link>"
            f"<pubDate>{when}</pubDate><description>{LONG}</description></item>"
        )

    body = f'<rss version="2.0"><channel><title>F</title>{zoneless(1, 2)}{zoneless(2, 720)}'
    url = serve_feed(httpserver, "/feed.xml", body + "</channel></rss>")
    result = run(make_config(tmp_path, [{"feed": url}]))
    assert titles(result) == ["Story 1"]
    assert result.articles[0].published == NOW - timedelta(hours=2)
    assert result.sources[0].missing_dates == 0


def test_a_failing_source_reports_its_last_success(tmp_path: Path) -> None:
    """`sources check` shows when a source last worked; a local feed file that went missing
    reported none, though the state had it."""
    (tmp_path / "feed.xml").write_text(rss([item(1, 2)]), encoding="utf-8")
    config = make_config(tmp_path, [{"feed": "feed.xml", "name": "Local"}])
    assert run(config).sources[0].last_success == NOW
    (tmp_path / "feed.xml").unlink()
    (health,) = run(config, now=NOW + timedelta(hours=1)).sources
    assert health.status == "error" and health.last_success == NOW


def test_a_damaged_state_database_is_a_clear_error(tmp_path: Path) -> None:
    """A state file that opens but lacks its tables raised sqlite3.OperationalError, which the
    CLI shows as a traceback."""
    import sqlite3

    (tmp_path / "feed.xml").write_text(rss([item(1, 2)]), encoding="utf-8")
    config = make_config(tmp_path, [{"feed": "feed.xml"}])
    config.state_dir.mkdir()
    conn = sqlite3.connect(config.state_dir / "state.sqlite3")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with pytest.raises(SourceError, match=r"state\.sqlite3: the state database failed \(no such"):
        run(config)


def test_folder_articles_only_carry_http_links(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.md").write_text(
        f"---\ntitle: Ours\nurl: javascript:alert(1)\nimage: javascript:alert(2)\n---\n\n{LONG}\n",
        encoding="utf-8",
    )
    (folder / "b.md").write_text(
        f"---\ntitle: Linked\nurl: https://example.org/b\nimage: pics/b.jpg\n---\n\n{LONG2}\n",
        encoding="utf-8",
    )
    result = run(make_config(tmp_path, [{"folder": "articles"}]))
    by_title = {a.title: a for a in result.articles}
    assert (by_title["Ours"].url, by_title["Ours"].image) == (None, None)
    assert (by_title["Linked"].url, by_title["Linked"].image) == ("https://example.org/b", None)
