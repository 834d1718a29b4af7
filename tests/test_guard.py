"""A stranger's feed cannot make digest read private addresses and mail the answer out: links and
redirects to loopback, private and link-local hosts are refused, unless the source itself was
configured on such a host (server-side request forgery)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from digest.sources.guard import Guard, NotPublic

DIGEST = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "digest"
SECRET = "The admin console lists every account and its recovery codes for the whole office."
TEASER = "A short teaser."


class _Server:
    """A real HTTP server on 127.0.0.1 that records each request line. As a proxy (HTTP_PROXY)
    it answers requests for other hosts with a redirect to its own `/admin.html`."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.feed: str | None = None
        """Served at /feed.xml when set."""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.paths.append(self.path)
                if self.path == "/feed.xml" and outer.feed is not None:
                    self._send(outer.feed.encode(), "application/rss+xml")
                    return
                if self.path.startswith("http://") and "127.0.0.1" not in self.path:
                    self.send_response(302)
                    self.send_header("Location", f"{outer.url}/admin.html")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = f"<html><body><article><h1>Admin</h1><p>{SECRET}</p></article>"
                self._send((body + "</body></html>").encode(), "text/html; charset=utf-8")

            def _send(self, data: bytes, ctype: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.httpd.shutdown()


def _newsletter(tmp_path: Path, link: str) -> Path:
    """A newsletter whose only source is a local feed file with one teaser item."""
    when = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    (tmp_path / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Stranger</title>'
        f"<item><title>Look here</title><link>{link}</link><guid>x-1</guid>"
        f"<pubDate>{when}</pubDate><description>{TEASER}</description></item>"
        "</channel></rss>",
        encoding="utf-8",
    )
    (tmp_path / "digest.toml").write_text(
        '[[sources]]\nname = "Stranger"\nfeed = "feed.xml"\n\n'
        '[lists.daily]\nsender = "d@example.org"\nparagraphs = 1\nlead_words = 10\n',
        encoding="utf-8",
    )
    return tmp_path


def _gather(cwd: Path, proxy: str | None = None) -> tuple[dict[str, object], str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    if proxy:
        env["HTTP_PROXY"] = proxy
    r = subprocess.run(
        [str(DIGEST), "gather", "--json"], cwd=cwd, capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout), r.stderr


def test_a_teaser_linking_to_a_loopback_page_is_not_fetched(
    tmp_path: Path, server: _Server
) -> None:
    data, _stderr = _gather(_newsletter(tmp_path, f"{server.url}/admin.html"))
    assert server.paths == []  # not even asked
    articles = data["articles"]
    assert isinstance(articles, list) and SECRET not in json.dumps(articles)
    problems = data["problems"]
    assert isinstance(problems, list)
    assert any(
        "full text of" in p and "refused: 127.0.0.1 is a loopback address" in p for p in problems
    ), problems


def test_a_redirect_to_a_loopback_page_is_not_followed(tmp_path: Path, server: _Server) -> None:
    # The link names a public address; the proxy (standing in for the public site) answers
    # with a redirect to 127.0.0.1, which digest must not follow.
    data, _stderr = _gather(_newsletter(tmp_path, "http://93.184.216.34/story"), server.url)
    assert server.paths == ["http://93.184.216.34/story"]  # the redirect target was never asked
    assert SECRET not in json.dumps(data["articles"])
    assert any("refused: 127.0.0.1 is a loopback address" in p for p in data["problems"])  # type: ignore[union-attr]


def test_a_source_configured_on_a_private_host_may_reach_it(
    tmp_path: Path, server: _Server
) -> None:
    """An intranet feed's own pages are the owner's choice: still fetched."""
    when = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    server.feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Intranet</title>'
        f"<item><title>Look here</title><link>{server.url}/admin.html</link><guid>x-1</guid>"
        f"<pubDate>{when}</pubDate><description>{TEASER}</description></item></channel></rss>"
    )
    (tmp_path / "digest.toml").write_text(
        f'[[sources]]\nname = "Intranet"\nfeed = "{server.url}/feed.xml"\n\n'
        '[lists.daily]\nsender = "d@example.org"\nparagraphs = 1\nlead_words = 10\n',
        encoding="utf-8",
    )
    data, _stderr = _gather(tmp_path)
    assert "/admin.html" in server.paths
    assert SECRET in json.dumps(data["articles"])


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8080/x", "a loopback address"),
        ("http://[::1]/x", "a loopback address"),
        ("http://[::ffff:127.0.0.1]/x", "a loopback address"),
        ("http://10.1.2.3/x", "a private address"),
        ("http://192.168.0.10/x", "a private address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://100.64.0.1/x", "not a public address"),
        ("http://0.0.0.0/x", "a private address"),
        ("http://localhost/x", "a loopback address"),
        ("http://[64:ff9b::a9fe:a9fe]/x", "a link-local address"),
        ("http://[2002:a9fe:a9fe::1]/x", "a link-local address"),
        ("http://[::7f00:1]/x", "a loopback address"),
    ],
)
def test_non_public_addresses_are_refused(url: str, kind: str) -> None:
    with pytest.raises(NotPublic, match=kind):
        asyncio.run(Guard().check(url))


def test_public_addresses_pass() -> None:
    asyncio.run(Guard().check("http://93.184.216.34/story"))
    asyncio.run(Guard().check("https://[2606:2800:220:1:248:1893:25c8:1946]/"))


def test_a_host_name_no_resolver_takes_is_a_problem_line_not_a_crash(tmp_path: Path) -> None:
    """A label over 63 characters makes getaddrinfo raise UnicodeError, not OSError."""
    url = f"http://{'a' * 64}.example/story"
    asyncio.run(Guard().check(url))  # nothing to refuse: the request itself then fails
    r = subprocess.run([str(DIGEST), "summarise", url], capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr
