"""Fetching an article over HTTP, against a real local server (pytest-httpserver)."""

from __future__ import annotations

import gzip
import json
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from digest import __version__
from digest.cli import main
from digest.errors import SourceError
from digest.sources.feeds import parse_feed
from digest.sources.fetch import USER_AGENT
from digest.sources.pages import article_from_html, fetch_article

LEADS = Path(__file__).resolve().parent / "data" / "leads"
TRUTH = json.loads((LEADS / "ground-truth.json").read_text(encoding="utf-8"))
PAGE_ID = next(p for p in TRUTH if p.startswith("51374"))
PAGE = gzip.decompress((LEADS / f"{PAGE_ID}.html.gz").read_bytes())
FIRST = (
    "Dow component Home Depot reported third-quarter earnings that topped estimates as revenue "
    "fell short, sending shares lower ahead of the opening bell. Rival Lowe's was also lower "
    "following the results."
)
HTML = "text/html; charset=utf-8"


def feed_item_id(link: str) -> str:
    """The id a feed item linking to `link` (and with no GUID) gets: one rule for both."""
    rss = (
        "<rss version='2.0'><channel><title>T</title><item><title>Story</title>"
        f"<link>{link}</link><description>Text.</description></item></channel></rss>"
    )
    return parse_feed(rss.encode(), url="https://feeds.example.org/rss").entries[0].id


def test_fetches_and_extracts_a_page(httpserver: HTTPServer) -> None:
    assert USER_AGENT.startswith(f"digest/{__version__} ")  # the same agent as the gatherer
    httpserver.expect_request(
        "/markets/home-depot",
        headers={"User-Agent": USER_AGENT},
    ).respond_with_data(PAGE, content_type=HTML)
    url = httpserver.url_for("/markets/home-depot")
    article = fetch_article(url)
    assert article.title == "Home Depot sales miss, shares plunge"
    assert article.paragraphs[0] == FIRST
    assert article.url == url
    # The same article as a feed item linking to it (tracking parameters aside): never sent twice.
    assert article.id == feed_item_id(url) == feed_item_id(url + "?utm_source=rss")
    assert article.source == "localhost"
    assert article.published is not None


def test_follows_redirects(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": httpserver.url_for("/new")}
    )
    httpserver.expect_request("/new").respond_with_data(PAGE, content_type=HTML)
    article = fetch_article(httpserver.url_for("/old"), source="Fox")
    assert article.url == httpserver.url_for("/new")
    assert article.source == "Fox"
    assert article.paragraphs[0] == FIRST


def test_404_is_a_source_error_naming_the_url(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone").respond_with_data("not here", status=404)
    url = httpserver.url_for("/gone")
    with pytest.raises(SourceError) as err:
        fetch_article(url)
    assert url in err.value.message
    assert "404" in err.value.message
    assert err.value.hint


def test_non_html_answer_is_a_source_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.json").respond_with_json({"items": []})
    with pytest.raises(SourceError, match=r"feed\.json: the answer is application/json"):
        fetch_article(httpserver.url_for("/feed.json"))


def test_oversized_body_is_cut_off_at_max_bytes(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The page, then 100 MB of padding streamed 1 MB at a time: reading it all would exhaust
    # the generator; the fetcher must stop at max_bytes and extract what it has.
    chunk = b"<!-- " + b"x" * 1_000_000 + b" -->"
    sent: list[int] = []

    def stream():
        yield PAGE
        for n in range(100):
            sent.append(n)
            yield chunk

    def handler(_request: Request) -> Response:
        return Response(stream(), content_type=HTML)

    httpserver.expect_request("/big").respond_with_handler(handler)
    url = httpserver.url_for("/big")
    article = fetch_article(url, max_bytes=len(PAGE) + 2_000_000)
    assert article.paragraphs[0] == FIRST
    assert len(sent) < 50
    assert f"{url}: page larger than" in caplog.text


def test_page_without_article_text(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(
        "<html><head><title>Home</title></head><body><nav>Home</nav></body></html>",
        content_type=HTML,
    )
    with pytest.raises(SourceError, match="no article text"):
        fetch_article(httpserver.url_for("/"))


def test_slow_server_times_out(httpserver: HTTPServer) -> None:
    def slow(_request: Request) -> Response:
        time.sleep(1.5)
        return Response(PAGE, content_type=HTML)

    httpserver.expect_request("/slow").respond_with_handler(slow)
    with pytest.raises(SourceError, match=r"no answer within 0\.3 s"):
        fetch_article(httpserver.url_for("/slow"), timeout=0.3)


def test_connection_refused_is_a_source_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/story"
    with pytest.raises(SourceError, match="cannot fetch it") as err:
        fetch_article(url)
    assert url in err.value.message


def test_not_a_web_address() -> None:
    with pytest.raises(SourceError, match="not a web address"):
        fetch_article("ftp://example.com/story.html")


def test_article_from_html_without_url_uses_the_pages_own() -> None:
    html = PAGE.decode().replace(
        "</head>", "<link rel='canonical' href='https://www.example.com/hd-story'></head>", 1
    )
    article = article_from_html(html, None, "Fox")
    assert article.url is not None
    assert article.id == feed_item_id(article.url)


def test_cli_summarise_a_url(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/story").respond_with_data(PAGE, content_type=HTML)
    url = httpserver.url_for("/story")
    result = CliRunner().invoke(main, ["summarise", url, "--paragraphs", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{FIRST}\n"
    result = CliRunner().invoke(main, ["summarise", url, "--json"])
    record = json.loads(result.stdout)
    assert record["title"] == "Home Depot sales miss, shares plunge"
    assert record["lead"][0] == FIRST
    assert record["url"] == url


def test_cli_http_error_is_one_line(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone").respond_with_data("", status=410)
    result = CliRunner().invoke(main, ["summarise", httpserver.url_for("/gone")])
    assert result.exit_code == 1
    assert "410" in result.output
    assert "Traceback" not in result.output
