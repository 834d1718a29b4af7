"""Hostile servers and hostile XML, met by a whole gathering run (`digest.pipeline.gather`).

Real local servers (pytest-httpserver, and a raw socket server for one that never finishes)
serve gzip bombs, XML bombs, external entities, redirect loops and dripping answers beside a
healthy feed. Each attack must cost one problem line at most: the healthy feed's story is still
in the issue, memory stays bounded, nothing is fetched or read that the feed asked for, and the
run ends.
"""

from __future__ import annotations

import functools
import gzip
import json
import socket
import socketserver
import subprocess
import sys
import threading
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from digest.config import Config, parse_config
from digest.models import Gathered
from digest.pipeline import gather
from digest.sources.fetch import FetchLimits

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
LONG = (
    "The council voted on Tuesday evening to keep the swimming pool open through the winter, "
    "after a petition signed by more than two thousand residents asked it to reconsider."
)
GOOD = (
    "The ferry company said on Friday that the new timetable would add a late sailing on "
    "weekdays, after islanders asked for a way home from evening classes on the mainland."
)
SECRET = "TOP-SECRET-7f3a9c-do-not-mail"


def rss_item(title: str, n: int, html: str = f"<p>{LONG}</p>", link: str | None = None) -> str:
    when = format_datetime(NOW - timedelta(hours=n))
    link = link or f"https://news.example.org/story-{n}"
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        f'<guid isPermaLink="false">story-{n}</guid><pubDate>{when}</pubDate>'
        f"<description><![CDATA[{html}]]></description></item>"
    )


def rss(*items: str, prolog: str = '<?xml version="1.0" encoding="utf-8"?>\n') -> str:
    return (
        f'{prolog}<rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://news.example.org/</link>{''.join(items)}</channel></rss>"
    )


@pytest.fixture
def good_feed(tmp_path: Path) -> dict[str, Any]:
    """A healthy source beside the hostile one (a local file: no server can hold it up)."""
    # Its own text: with the hostile items' text it would be one story in two feeds.
    good = rss_item("Good story", 2, html=f"<p>{GOOD}</p>")
    (tmp_path / "good.xml").write_text(rss(good), encoding="utf-8")
    return {"feed": "good.xml", "name": "Good", "full_text": "never"}


def make_config(tmp_path: Path, *sources: dict[str, Any]) -> Config:
    data = {
        "newsletter": {"state": ".digest"},
        "sources": list(sources),
        "lists": {"daily": {"sender": "Daily <d@example.com>"}},
    }
    return parse_config(data, tmp_path / "digest.toml")


def run(config: Config, limits: FetchLimits | None = None) -> Gathered:
    return gather(config, config.get_list("daily"), now=NOW, limits=limits)


def titles(result: Gathered) -> list[str]:
    return [a.title for a in result.articles]


def all_text(result: Gathered) -> str:
    parts = [" ".join(result.problems)]
    for a in result.articles:
        parts += [a.title, a.author or "", *a.paragraphs, *a.lead, a.url or "", a.image or ""]
    return "\n".join(parts)


def hits(server: HTTPServer, path: str) -> int:
    return sum(1 for request, _ in server.log if request.path == path)


# Gzip bombs.


@functools.cache
def gzip_bomb(megabytes: int = 256) -> bytes:
    """`megabytes` MB of zeros as gzip (about 1/1000 of that), made without holding it all."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * (1 << 20)
    return b"".join([*(z.compress(zeros) for _ in range(megabytes)), z.flush()])


def test_gzip_bombs_cost_one_line_each_and_little_memory(
    tmp_path: Path, httpserver: HTTPServer, good_feed: dict[str, Any]
) -> None:
    """256 MB behind a 250 KB answer, three ways: as Content-Encoding, as a raw .gz body
    (which the parser unzips), and both at once (590 bytes on the wire)."""
    bomb = gzip_bomb()
    httpserver.expect_request("/encoded.xml").respond_with_data(
        bomb, content_type="application/rss+xml", headers={"Content-Encoding": "gzip"}
    )
    httpserver.expect_request("/raw.xml.gz").respond_with_data(
        bomb, content_type="application/gzip"
    )
    httpserver.expect_request("/double.xml").respond_with_data(
        gzip.compress(bomb),
        content_type="application/rss+xml",
        headers={"Content-Encoding": "gzip"},
    )
    sources = [
        {"feed": httpserver.url_for(p), "name": name, "full_text": "never"}
        for name, p in (("Enc", "/encoded.xml"), ("Raw", "/raw.xml.gz"), ("Both", "/double.xml"))
    ]
    config = make_config(tmp_path, good_feed, *sources)
    tracemalloc.start()
    try:
        result = run(config, FetchLimits(max_bytes=2_000_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert titles(result) == ["Good story"]
    by_source = sorted(result.problems)
    assert len(by_source) == 3
    assert by_source[0].startswith(f"Both ({sources[2]['feed']}): unzipped, it is over 1.9 MB")
    assert by_source[1].startswith(f"Enc ({sources[0]['feed']}): the response passed the 1.9 MB")
    assert by_source[2].startswith(f"Raw ({sources[1]['feed']}): unzipped, it is over 1.9 MB")
    assert peak < 40_000_000, peak  # one bomb inflated whole would be 256 MB


# XML bombs.


def billion_laughs(levels: int = 9) -> str:
    """The classic: ten `lol`s per level, nine levels deep, 10**9 of them in one reference."""
    names = ["lol", *(f"lol{i}" for i in range(1, levels + 1))]
    ents = ['<!ENTITY lol "lol">']
    ents += [f'<!ENTITY {name} "{f"&{below};" * 10}">' for below, name in pairwise(names)]
    prolog = '<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + "\n".join(ents) + "\n]>\n"
    bomb = rss_item(f"Pool stays open &lol{levels};", 1, html=f"<p>{LONG}</p><p>&lol{levels};</p>")
    return rss(bomb, prolog=prolog)


@pytest.mark.parametrize("one_line", [False, True], ids=["declarations-on-lines", "one-line"])
def test_billion_laughs_is_not_expanded(
    tmp_path: Path, httpserver: HTTPServer, good_feed: dict[str, Any], one_line: bool
) -> None:
    body = billion_laughs()
    if one_line:
        body = body.replace("\n", "")
    httpserver.expect_request("/bomb.xml").respond_with_data(
        body, content_type="application/rss+xml"
    )
    url = httpserver.url_for("/bomb.xml")
    result = run(make_config(tmp_path, good_feed, {"feed": url, "name": "Bomb"}))
    assert "Good story" in titles(result)
    assert "lollol" not in all_text(result)
    assert len(all_text(result)) < len(body) + 1000
    assert all(p.startswith(f"Bomb ({url}): ") and "\n" not in p for p in result.problems)


QUADRATIC_CHILD = """
import json, sys
from digest.sources.feeds import parse_feed
body = open(sys.argv[1], "rb").read()
p = parse_feed(body, url="https://news.example.org/feed.xml")
size = sum(len(e.title) + sum(len(x) for x in e.paragraphs) for e in p.entries)
print(json.dumps({"entries": len(p.entries), "text": size, "problems": list(p.problems)}))
"""


@pytest.mark.parametrize(
    "references",
    [700, 900],
    ids=["within-expats-own-limit", "past-expats-limit-read-leniently"],
)
def test_an_entity_repeated_many_times_is_not_expanded_past_the_document(
    tmp_path: Path, references: int
) -> None:
    """The quadratic blowup: one 10 KB entity, referenced hundreds of times. Under expat's
    amplification limit (8 MiB of output) it expands silently; past the limit expat stops, and
    feedparser's lenient parser reads the document again and expands it without any limit. A
    10 MB feed (the fetch cap) can so become gigabytes of text. The text read from a feed must
    never be larger than the feed. Parsed in a child process so a failure costs its memory."""
    entity = "lol " * 2500
    prolog = f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "{entity}">\n]>\n'
    html = f"<p>{LONG}</p><p>{'&a;' * references}</p>"
    body = rss(rss_item("Pool stays open", 1, html="").replace("<![CDATA[]]>", html), prolog=prolog)
    feed = tmp_path / "feed.xml"
    feed.write_text(body, encoding="utf-8")
    child = subprocess.run(
        [sys.executable, "-c", QUADRATIC_CHILD, str(feed)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    parsed = json.loads(child.stdout)
    assert parsed["entries"] == 1
    feed_bytes, text_chars = len(body.encode()), parsed["text"]
    assert text_chars <= feed_bytes, f"{feed_bytes} bytes of feed gave {text_chars} of text"


# External entities (XXE).


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


def xxe_prolog(kind: str, secret: Path, server: HTTPServer) -> str:
    file_url = secret.as_uri()
    http_url = server.url_for("/secret.txt")
    return {
        "file-entity": f'<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "{file_url}">\n]>\n',
        "file-entity-one-line": f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{file_url}">]>\n',
        "http-entity": f'<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "{http_url}">\n]>\n',
        "parameter-entity": (
            f'<!DOCTYPE rss [\n<!ENTITY % p SYSTEM "{file_url}">\n%p;\n'
            f'<!ENTITY % q SYSTEM "{server.url_for("/evil.dtd")}">\n%q;\n]>\n'
        ),
        "external-dtd": f'<!DOCTYPE rss SYSTEM "{server.url_for("/evil.dtd")}">\n',
        "public-dtd": (
            f'<!DOCTYPE rss PUBLIC "-//Evil//DTD RSS//EN" "{server.url_for("/evil.dtd")}">\n'
        ),
    }[kind]


XXE_KINDS = [
    "file-entity",
    "file-entity-one-line",
    "http-entity",
    "parameter-entity",
    "external-dtd",
    "public-dtd",
]


def serve_bait(server: HTTPServer, secret: Path) -> None:
    """What an entity or DTD would fetch: the secret, and a DTD that reads the local file."""
    server.expect_request("/secret.txt").respond_with_data(SECRET, content_type="text/plain")
    server.expect_request("/evil.dtd").respond_with_data(
        f'<!ENTITY xxe SYSTEM "{secret.as_uri()}">', content_type="application/xml-dtd"
    )


@pytest.mark.parametrize("kind", XXE_KINDS)
def test_external_entities_in_a_feed_read_nothing_and_fetch_nothing(
    tmp_path: Path,
    httpserver: HTTPServer,
    good_feed: dict[str, Any],
    secret_file: Path,
    kind: str,
) -> None:
    serve_bait(httpserver, secret_file)
    prolog = '<?xml version="1.0" encoding="utf-8"?>\n' + xxe_prolog(kind, secret_file, httpserver)
    body = rss(rss_item("Pool stays open &xxe;", 1, html=f"<p>{LONG} &xxe;</p>"), prolog=prolog)
    httpserver.expect_request("/feed.xml").respond_with_data(
        body, content_type="application/rss+xml"
    )
    url = httpserver.url_for("/feed.xml")
    result = run(make_config(tmp_path, good_feed, {"feed": url, "full_text": "never"}))
    assert SECRET not in all_text(result)
    assert hits(httpserver, "/secret.txt") == 0 and hits(httpserver, "/evil.dtd") == 0
    assert "Good story" in titles(result)
    assert any(t.startswith("Pool stays open") for t in titles(result))  # the item is still read


def test_external_entities_in_a_local_feed_file_read_nothing(
    tmp_path: Path, httpserver: HTTPServer, secret_file: Path
) -> None:
    serve_bait(httpserver, secret_file)
    prolog = '<?xml version="1.0" encoding="utf-8"?>\n' + xxe_prolog(
        "file-entity", secret_file, httpserver
    )
    body = rss(rss_item("Pool stays open &xxe;", 1, html=f"<p>{LONG} &xxe;</p>"), prolog=prolog)
    (tmp_path / "feed.xml").write_text(body, encoding="utf-8")
    result = run(make_config(tmp_path, {"feed": "feed.xml", "full_text": "never"}))
    assert SECRET not in all_text(result)
    assert any(t.startswith("Pool stays open") for t in titles(result))


def test_external_entities_in_an_article_page_read_nothing(
    tmp_path: Path, httpserver: HTTPServer, secret_file: Path
) -> None:
    """A teaser's page is fetched for its text; an XHTML page may declare entities too."""
    serve_bait(httpserver, secret_file)
    page = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE html [\n<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">\n'
        f'<!ENTITY web SYSTEM "{httpserver.url_for("/secret.txt")}">\n]>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Pool &xxe;</title></head>'
        f"<body><article><h1>Pool stays open</h1><p>{LONG} &xxe; &web;</p>"
        f"<p>{LONG} Swimmers said so again &xxe;.</p></article></body></html>"
    )
    httpserver.expect_request("/story.html").respond_with_data(page, content_type="text/html")
    teaser = rss_item(
        "Pool stays open",
        1,
        html="<p>The pool stays open this winter.</p>",
        link=httpserver.url_for("/story.html"),
    )
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(teaser), content_type="application/rss+xml"
    )
    result = run(make_config(tmp_path, {"feed": httpserver.url_for("/feed.xml")}))
    assert hits(httpserver, "/story.html") == 1  # the page was read for the lead
    assert result.articles[0].lead[0].startswith(LONG)
    assert SECRET not in all_text(result)
    assert hits(httpserver, "/secret.txt") == 0


# Redirect loops.


def test_a_feed_that_redirects_in_a_loop_is_one_problem(
    tmp_path: Path, httpserver: HTTPServer, good_feed: dict[str, Any]
) -> None:
    httpserver.expect_request("/a.xml").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/b.xml")}
    )
    httpserver.expect_request("/b.xml").respond_with_data(
        "", status=301, headers={"Location": "/a.xml"}
    )
    url = httpserver.url_for("/a.xml")
    result = run(make_config(tmp_path, good_feed, {"feed": url, "name": "Loop"}))
    assert titles(result) == ["Good story"]
    assert result.problems == (
        f"Loop ({url}): more than 5 redirects; check the feed's URL in digest.toml and the network",
    )
    requests = hits(httpserver, "/a.xml") + hits(httpserver, "/b.xml")
    assert requests <= FetchLimits().max_redirects + 1


def test_a_page_that_redirects_to_itself_keeps_the_teaser(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    page = httpserver.url_for("/story.html")
    httpserver.expect_request("/story.html").respond_with_data(
        "", status=307, headers={"Location": page}
    )
    teaser = rss_item("Pool stays open", 1, html=f"<p>{LONG}</p>", link=page)
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(teaser), content_type="application/rss+xml"
    )
    url = httpserver.url_for("/feed.xml")
    result = run(make_config(tmp_path, {"feed": url, "name": "F", "full_text": "always"}))
    assert titles(result) == ["Pool stays open"]
    assert result.articles[0].lead == (LONG,)
    (problem,) = result.problems
    assert problem.startswith(f"F ({url}): full text of {page}: more than 5 redirects")
    assert hits(httpserver, "/story.html") <= FetchLimits().max_redirects + 1


# Slow responses: a server that drips bytes and never finishes, and one that never answers.


class _Stalling(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, drip: bool) -> None:
        self.drip = drip
        self.stop = threading.Event()
        self.hung_up = threading.Event()  # the client closed the connection on us
        self.requests: list[bytes] = []
        super().__init__(("127.0.0.1", 0), _StallingHandler)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _StallingHandler(socketserver.BaseRequestHandler):
    """Answers 200 and then one byte at a time (drip), or never answers (silent), until the
    client hangs up. Long past any limit a test sets (about 30 s) it gives up and closes, so a
    run without its limits fails the test instead of hanging it."""

    def handle(self) -> None:
        server = self.server
        assert isinstance(server, _Stalling)
        conn: socket.socket = self.request
        server.requests.append(conn.recv(65536).split(b"\r\n", 1)[0])
        conn.settimeout(0.02)
        try:
            if server.drip:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n")
                conn.sendall(b'<?xml version="1.0"?><rss version="2.0"><channel>')
            for _ in range(1500):
                if server.stop.is_set():
                    return
                if server.drip:
                    conn.sendall(b" ")
                    server.stop.wait(0.02)
                    continue
                try:
                    if conn.recv(1) == b"":
                        break
                except TimeoutError:
                    continue
            else:
                return  # gave up: the client never hung up
        except OSError:
            pass
        if not server.stop.is_set():
            server.hung_up.set()


@pytest.fixture(params=[True, False], ids=["drips-forever", "never-answers"])
def stalling(request: pytest.FixtureRequest) -> Iterator[_Stalling]:
    server = _Stalling(drip=request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()


LIMITS = FetchLimits(connect_timeout=5, read_timeout=0.5, deadline=1.5)


def _stall_reason(server: _Stalling) -> str:
    return (
        f"no complete answer within {LIMITS.deadline:g} s"
        if server.drip
        else f"no answer within {LIMITS.read_timeout:g} s"
    )


def test_a_feed_that_never_finishes_is_given_up_and_the_rest_goes_on(
    tmp_path: Path, good_feed: dict[str, Any], stalling: _Stalling
) -> None:
    url = stalling.url("/feed.xml")
    result = run(make_config(tmp_path, good_feed, {"feed": url, "name": "Slow"}), LIMITS)
    assert titles(result) == ["Good story"]
    assert result.problems == (
        f"Slow ({url}): {_stall_reason(stalling)}; the site is slow or down; digest tries again "
        "next run",
    )
    assert stalling.hung_up.wait(10), "digest left the connection open"
    assert stalling.requests == [b"GET /feed.xml HTTP/1.1"]


def test_a_page_that_never_finishes_keeps_the_teaser(
    tmp_path: Path, httpserver: HTTPServer, stalling: _Stalling
) -> None:
    page = stalling.url("/story.html")
    teaser = rss_item("Pool stays open", 1, html=f"<p>{LONG}</p>", link=page)
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(teaser), content_type="application/rss+xml"
    )
    url = httpserver.url_for("/feed.xml")
    config = make_config(tmp_path, {"feed": url, "name": "F", "full_text": "always"})
    result = run(config, LIMITS)
    assert titles(result) == ["Pool stays open"]
    assert result.articles[0].lead == (LONG,)
    (problem,) = result.problems
    assert problem.startswith(f"F ({url}): full text of {page}: {_stall_reason(stalling)}")
    assert stalling.hung_up.wait(10), "digest left the connection open"
