"""Polite to hosts (issue 17): the per-host limit, `Retry-After`, permanent redirects, 410 Gone,
a page source's remembered feed and the back-off of a failing source, seen from a real local
server's side (what it was asked, and how many at once) and through real state."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from webserver import DIGEST

from digest.config import Config, parse_config
from digest.config.edit import move_sources, with_moved
from digest.errors import ConfigError
from digest.models import Gathered
from digest.pipeline import check_sources, gather
from digest.sources.fetch import Fetched, Fetcher, FetchLimits
from digest.state import State

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Server:
    """A threaded HTTP server on 127.0.0.1: `routes[path]` answers (a function of how many
    times that path was asked, from 1); it counts requests per path and the most requests in
    flight at once per Host header."""

    routes: dict[str, Callable[[int], Answer]] = field(default_factory=dict)
    delay: float = 0.0
    asked: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)
    port: int = 0
    _now: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def answer(self, path: str, host: str) -> Answer:
        with self._lock:
            self.asked[path] += 1
            n = self.asked[path]
            self._now[host] += 1
            self.peak[host] = max(self.peak[host], self._now[host])
        try:
            if self.delay:
                time.sleep(self.delay)
            route = self.routes.get(path)
            return route(n) if route else (404, {}, b"not here")
        finally:
            with self._lock:
                self._now[host] -= 1


@contextmanager
def serving(server: Server) -> Iterator[Server]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = self.headers.get("Host", "").rsplit(":", 1)[0]
            status, headers, body = server.answer(self.path, host)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.port = httpd.server_port
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()


def ok(body: bytes = b"ok", **headers: str) -> Callable[[int], Answer]:
    return lambda n: (200, dict(headers), body)


def get_all(urls: list[str], limits: FetchLimits | None = None) -> list[Fetched]:
    async def go() -> list[Fetched]:
        async with Fetcher(limits) as f:
            return await asyncio.gather(*(f.get(u, source_url=u) for u in urls))

    return asyncio.run(go())


# The per-host limit.


def test_per_host_limit_is_observed_by_the_server() -> None:
    """Six feeds on one host are asked two at a time, while another host's feeds go ahead."""
    server = Server(delay=0.2)
    for i in range(8):
        server.routes[f"/f{i}"] = ok()
    with serving(server):
        urls = [server.url(f"/f{i}") for i in range(6)]
        urls += [server.url(f"/f{i}", host="localhost") for i in (6, 7)]
        results = get_all(urls)
    assert all(r.ok for r in results)
    assert server.peak["127.0.0.1"] == 2
    assert server.peak["localhost"] == 2  # not held behind the first host's queue


def test_per_host_limit_is_a_setting() -> None:
    server = Server(delay=0.1)
    for i in range(4):
        server.routes[f"/f{i}"] = ok()
    with serving(server):
        results = get_all([server.url(f"/f{i}") for i in range(4)], FetchLimits(per_host=1))
    assert all(r.ok for r in results)
    assert server.peak["127.0.0.1"] == 1


# Retry-After.


def busy_then_ok(status: int, retry_after: str) -> Callable[[int], Answer]:
    return lambda n: (status, {"Retry-After": retry_after}, b"busy") if n == 1 else (200, {}, b"ok")


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_within_the_cap_is_waited_out(status: int) -> None:
    server = Server(routes={"/f": busy_then_ok(status, "1")})
    with serving(server):
        (r,) = get_all([server.url("/f")], FetchLimits(retry_after_cap=2))
    assert r.ok and r.body == b"ok"
    assert server.asked["/f"] == 2


def test_retry_after_as_an_http_date() -> None:
    server = Server(routes={"/f": busy_then_ok(503, "Thu, 01 Jan 1970 00:00:00 GMT")})
    with serving(server):
        (r,) = get_all([server.url("/f")], FetchLimits(retry_after_cap=2))
    assert r.ok and server.asked["/f"] == 2


def test_retry_after_over_the_cap_skips_the_host_for_the_run() -> None:
    server = Server(
        routes={
            "/a": busy_then_ok(429, "3600"),
            "/b": ok(),
            "/elsewhere": ok(),
        }
    )
    with serving(server):
        urls = [server.url("/a"), server.url("/b"), server.url("/elsewhere", host="localhost")]
        a, b, elsewhere = get_all(urls, FetchLimits(retry_after_cap=2, per_host=1))
    assert a.error == (
        "HTTP 429 Too Many Requests; 127.0.0.1 asks digest to wait 1 h, more than the 2 s cap"
    )
    assert a.retry_after == 3600
    # /b, on the same host, is not asked after that; another host is.
    assert b.error is not None and "not asked again this run" in b.error
    assert server.asked == Counter({"/a": 1, "/elsewhere": 1})
    assert elsewhere.ok


def test_a_second_busy_answer_is_not_waited_for_again() -> None:
    server = Server(routes={"/f": lambda n: (503, {"Retry-After": "1"}, b"busy")})
    with serving(server):
        (r,) = get_all([server.url("/f")], FetchLimits(retry_after_cap=2))
    assert r.status == 503 and r.error == "HTTP 503 Service Unavailable"
    assert server.asked["/f"] == 2


# Redirects, as the fetcher reports them.


def redirect(status: int, to: str) -> Callable[[int], Answer]:
    return lambda n: (status, {"Location": to}, b"")


@pytest.mark.parametrize(
    ("status", "moved"), [(301, True), (308, True), (302, False), (307, False)]
)
def test_permanent_redirects_are_reported(status: int, moved: bool) -> None:
    server = Server(routes={"/old": redirect(status, "/new"), "/new": ok()})
    with serving(server):
        (r,) = get_all([server.url("/old")])
    assert r.ok
    assert r.moved_to == (server.url("/new") if moved else None)


def test_a_temporary_hop_ends_the_move() -> None:
    """301 to /b, then 302 to /c: the feed moved to /b (its /c is for now only)."""
    server = Server(routes={"/a": redirect(301, "/b"), "/b": redirect(302, "/c"), "/c": ok()})
    with serving(server):
        (r,) = get_all([server.url("/a")])
    assert r.ok and r.moved_to == server.url("/b")


def test_a_move_to_nowhere_is_not_a_move() -> None:
    server = Server(routes={"/old": redirect(301, "/new")})
    with serving(server):
        (r,) = get_all([server.url("/old")])
    assert r.status == 404 and r.moved_to is None


# Whole gathering runs, with real state.

NOW = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
TEXT = (
    "The council voted on Tuesday evening to keep the swimming pool open through the winter, "
    "after a petition signed by more than two thousand residents asked it to reconsider."
)


def feed(n: int = 1) -> bytes:
    items = "".join(
        f"<item><title>Story {i}</title><link>https://news.example.org/{i}</link>"
        f"<guid>story-{i}</guid><pubDate>{format_datetime(NOW - timedelta(hours=i))}</pubDate>"
        f"<description><![CDATA[<p>{TEXT}</p>]]></description></item>"
        for i in range(1, n + 1)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://news.example.org/</link>{items}</channel></rss>"
    ).encode()


def page(feed_path: str) -> bytes:
    return (
        f'<html><head><link rel="alternate" type="application/rss+xml" href="{feed_path}">'
        "</head><body><p>Our news</p></body></html>"
    ).encode()


def newsletter(tmp_path: Path, url: str) -> Config:
    data = {
        "newsletter": {"state": ".digest"},
        "sources": [{"feed": url, "name": "Wire", "full_text": "never"}],
        "lists": {"daily": {"sender": "Daily <d@example.com>"}},
    }
    return parse_config(data, tmp_path / "digest.toml")


def run(config: Config, when: datetime = NOW, **limits: Any) -> Gathered:
    return gather(config, config.get_list("daily"), now=when, limits=FetchLimits(**limits))


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    caplog.clear()
    return lines


@pytest.mark.parametrize("status", [301, 308])
def test_a_permanent_move_is_remembered_and_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    server = Server(routes={"/old.xml": redirect(status, "/new.xml"), "/new.xml": ok(feed())})
    with serving(server):
        config = newsletter(tmp_path, server.url("/old.xml"))
        first = run(config)
        moved = said(caplog)
        second = run(config, NOW + timedelta(hours=1))
        again = said(caplog)
    assert [a.title for a in first.articles] == ["Story 1"]
    assert second.articles == first.articles
    assert moved == [
        f"Wire: {server.url('/old.xml')} moved permanently to {server.url('/new.xml')}; digest "
        "asks there from now on (`digest sources update-moved` writes the new address into "
        "digest.toml)"
    ]
    assert again == []
    assert server.asked == Counter({"/old.xml": 1, "/new.xml": 2})
    with State.open(config.state_dir) as state:
        assert state.places.get(server.url("/old.xml")).moved_to == server.url("/new.xml")


def test_a_temporary_redirect_changes_nothing(tmp_path: Path) -> None:
    server = Server(routes={"/f.xml": redirect(302, "/today.xml"), "/today.xml": ok(feed())})
    with serving(server):
        config = newsletter(tmp_path, server.url("/f.xml"))
        run(config)
        run(config, NOW + timedelta(hours=1))
    assert server.asked == Counter({"/f.xml": 2, "/today.xml": 2})


def test_410_gone_is_not_asked_again_and_said_every_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = Server(routes={"/f.xml": lambda n: (200, {}, feed()) if n == 1 else (410, {}, b"")})
    with serving(server):
        config = newsletter(tmp_path, server.url("/f.xml"))
        run(config)
        caplog.clear()
        for hours in (1, 2, 3):
            result = run(config, NOW + timedelta(hours=hours))
            line = (
                f"Wire ({server.url('/f.xml')}): gone: {server.url('/f.xml')} answered 410 Gone, "
                'so digest no longer asks it; remove it with `digest sources remove "Wire"` '
                f"(using the 1 entries fetched {NOW:%Y-%m-%d %H:%M} UTC)"
            )
            assert result.problems == (line,)
            assert line in said(caplog)
            assert [a.title for a in result.articles] == ["Story 1"]  # the cached entries
    assert server.asked["/f.xml"] == 2


def test_sources_check_asks_a_gone_source_and_a_good_answer_clears_it(tmp_path: Path) -> None:
    answers = {2: (410, {}, b"")}
    server = Server(routes={"/f.xml": lambda n: answers.get(n, (200, {}, feed()))})
    with serving(server):
        config = newsletter(tmp_path, server.url("/f.xml"))
        run(config)
        run(config, NOW + timedelta(hours=1))
        (health,) = check_sources(config, now=NOW + timedelta(hours=2))
        run(config, NOW + timedelta(hours=3))
    assert health.status == "200"
    assert server.asked["/f.xml"] == 4


def test_a_page_source_costs_one_request_once_its_feed_is_known(tmp_path: Path) -> None:
    feed_answers = {3: (404, {}, b""), 6: (404, {}, b"")}
    page_answers = {3: (500, {}, b"")}
    html = {"Content-Type": "text/html"}
    server = Server(
        routes={
            "/": lambda n: page_answers.get(n, (200, html, page("/feed.xml"))),
            "/feed.xml": lambda n: feed_answers.get(n, (200, {}, feed())),
        }
    )
    with serving(server):
        config = newsletter(tmp_path, server.url("/"))
        run(config)
        assert server.asked == Counter({"/": 1, "/feed.xml": 1})
        second = run(config, NOW + timedelta(hours=1))
        assert server.asked == Counter({"/": 1, "/feed.xml": 2})
        assert [a.title for a in second.articles] == ["Story 1"] and second.problems == ()
        # The feed fails: the page is asked again, and the feed it names.
        third = run(config, NOW + timedelta(hours=2))
        assert server.asked == Counter({"/": 2, "/feed.xml": 4})
        assert third.problems == ()
        run(config, NOW + timedelta(hours=3))
        assert server.asked == Counter({"/": 2, "/feed.xml": 5})
        # Both down: the feed's last good entries, as for any feed that fails.
        down = run(config, NOW + timedelta(hours=4))
        assert server.asked == Counter({"/": 3, "/feed.xml": 6})
        assert [a.title for a in down.articles] == ["Story 1"]
        assert len(down.problems) == 1 and "HTTP 404" in down.problems[0], down.problems


def test_retry_after_over_the_cap_skips_the_source_with_one_line(tmp_path: Path) -> None:
    answers = {2: (429, {"Retry-After": "3600"}, b"")}
    server = Server(routes={"/f.xml": lambda n: answers.get(n, (200, {}, feed()))})
    with serving(server):
        config = newsletter(tmp_path, server.url("/f.xml"))
        run(config)
        result = run(config, NOW + timedelta(hours=1), retry_after_cap=2)
        assert result.problems == (
            f"Wire ({server.url('/f.xml')}): HTTP 429 Too Many Requests; 127.0.0.1 asks digest "
            "to wait 1 h, more than the 2 s cap; skipped; digest asks again once that wait is "
            f"over (using the 1 entries fetched {NOW:%Y-%m-%d %H:%M} UTC); not asked again "
            f"before {NOW + timedelta(hours=2):%Y-%m-%d %H:%M} UTC",
        )
        assert [a.title for a in result.articles] == ["Story 1"]
        assert server.asked["/f.xml"] == 2
        # The next runs (a poll round every minute, the issue's own) keep to the wait.
        later = run(config, NOW + timedelta(hours=1, minutes=30), retry_after_cap=2)
        assert server.asked["/f.xml"] == 2
        assert later.problems == (
            f"Wire ({server.url('/f.xml')}): its host asked digest to wait (Retry-After); next "
            f"try {NOW + timedelta(hours=2):%Y-%m-%d %H:%M} UTC (using the 1 entries fetched "
            f"{NOW:%Y-%m-%d %H:%M} UTC)",
        )
        after = run(config, NOW + timedelta(hours=2, minutes=1), retry_after_cap=2)
    assert server.asked["/f.xml"] == 3 and after.problems == ()


def test_retry_after_within_the_cap_in_a_run(tmp_path: Path) -> None:
    answers = {1: (503, {"Retry-After": "1"}, b"")}
    server = Server(routes={"/f.xml": lambda n: answers.get(n, (200, {}, feed()))})
    with serving(server):
        result = run(newsletter(tmp_path, server.url("/f.xml")), retry_after_cap=2)
    assert result.problems == () and [a.title for a in result.articles] == ["Story 1"]
    assert server.asked["/f.xml"] == 2


def test_a_source_failing_run_after_run_is_asked_less_often(tmp_path: Path) -> None:
    server = Server(routes={"/f.xml": lambda n: (200, {}, feed()) if n == 1 else (500, {}, b"")})
    with serving(server):
        config = newsletter(tmp_path, server.url("/f.xml"))
        run(config)
        start = NOW + timedelta(hours=1)  # the first failure
        for hours in (0, 1, 2):  # three failures in a row, but within a day: asked each run
            run(config, start + timedelta(hours=hours))
        assert server.asked["/f.xml"] == 4
        late = run(config, start + timedelta(hours=24))  # failing for a day: left 12 h alone
        assert server.asked["/f.xml"] == 5
        assert late.problems[0].endswith(
            f"failing since {start:%Y-%m-%d %H:%M} UTC (4 times in a row), so asked less "
            f"often; next try {start + timedelta(hours=36):%Y-%m-%d %H:%M} UTC"
        ), late.problems
        next_try = start + timedelta(hours=36)
        resting = run(config, start + timedelta(hours=30))
        assert server.asked["/f.xml"] == 5  # not asked
        assert resting.problems == (
            f"Wire ({server.url('/f.xml')}): failing since {start:%Y-%m-%d %H:%M} UTC (4 times "
            f"in a row), so asked less often; next try {next_try:%Y-%m-%d %H:%M} UTC (using "
            f"the 1 entries fetched {NOW:%Y-%m-%d %H:%M} UTC)",
        )
        run(config, start + timedelta(hours=36))
        assert server.asked["/f.xml"] == 6
        # `digest sources check` asks all the same.
        check_sources(config, now=start + timedelta(hours=37))
        assert server.asked["/f.xml"] == 7


# `digest sources update-moved`.

TOML = """\
# The town's newsletter.
[newsletter]
state = ".digest"

# Feeds, in the order we like them.
[[sources]]
name = "Wire"
feed = "{old}"  # the wire service
full_text = "never"

[[sources]]
folder = "articles"  # our own

[lists.daily]
sender = "Daily <d@example.com>"
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DIGEST), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_update_moved_writes_the_new_url_into_digest_toml(tmp_path: Path) -> None:
    server = Server(routes={"/old.xml": redirect(301, "/new.xml"), "/new.xml": ok(feed())})
    (tmp_path / "articles").mkdir()
    toml = tmp_path / "digest.toml"
    with serving(server):
        old, new = server.url("/old.xml"), server.url("/new.xml")
        toml.write_text(TOML.format(old=old), encoding="utf-8")
        first = cli("gather", cwd=tmp_path)
        assert f"moved permanently to {new}" in first.stderr, first.stderr
        check = cli("sources", "check", "--wide", cwd=tmp_path)
        assert "moved permanently to" in " ".join(check.stdout.split()), check.stdout

        dry = cli("sources", "update-moved", "--dry-run", cwd=tmp_path)
        assert dry.returncode == 0, dry.stderr
        assert dry.stdout == f"Wire: {old} -> {new}\n1 to update; nothing changed (--dry-run).\n"
        assert toml.read_text(encoding="utf-8") == TOML.format(old=old)

        done = cli("sources", "update-moved", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.endswith(f"Updated 1 in {toml}.\n")
        assert toml.read_text(encoding="utf-8") == TOML.format(old=new)  # comments kept
        with State.open(tmp_path / ".digest") as state:  # what polls kept moves along
            located = {r[0] for r in state.db.conn.execute("SELECT location FROM polled")}
        assert located == {new}

        after = cli("gather", cwd=tmp_path)
        assert "moved" not in after.stderr, after.stderr
        assert cli("sources", "update-moved", cwd=tmp_path).stdout == (
            "No feed has moved: digest.toml is up to date.\n"
        )
    assert server.asked == Counter({"/old.xml": 1, "/new.xml": 3})


def test_with_moved_keeps_an_inline_layout_and_its_comment() -> None:
    text = (
        'sources = [\n  { name = "A", feed = "https://a.example.org/old" },  # ours\n'
        '  { name = "B", feed = "https://b.example.org/" },\n]\n'
    )
    assert with_moved(text, {0: "https://a.example.org/new"}) == text.replace("/old", "/new")


def test_update_moved_refuses_what_would_break_a_list(tmp_path: Path) -> None:
    """A source without a name is named by its URL; a list naming it would lose it."""
    toml = tmp_path / "digest.toml"
    text = (
        '[newsletter]\nstate = ".digest"\n\n[[sources]]\nfeed = "https://a.example.org/old"\n\n'
        '[lists.daily]\nsender = "D <d@example.com>"\nsources = ["a.example.org/old"]\n'
    )
    toml.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="would not load"):
        move_sources(toml, {"a.example.org/old": "https://a.example.org/new"})
    with pytest.raises(ConfigError, match="no source is named 'Nope'"):
        move_sources(toml, {"Nope": "https://a.example.org/new"})
    assert toml.read_text(encoding="utf-8") == text


def test_a_removed_source_added_again_starts_afresh_not_gone(tmp_path: Path) -> None:
    server = Server(routes={"/f.xml": lambda n: (410, {}, b"") if n == 2 else (200, {}, feed())})
    with serving(server):
        url = server.url("/f.xml")
        toml = tmp_path / "digest.toml"
        toml.write_text(
            '[newsletter]\nstate = ".digest"\n\n[[sources]]\nname = "Wire"\n'
            f'feed = "{url}"\nfull_text = "never"\n\n[lists.daily]\n'
            'sender = "Daily <d@example.com>"\n',
            encoding="utf-8",
        )
        config = parse_config_file(toml)
        run(config)
        run(config, NOW + timedelta(hours=1))  # 410: gone
        with State.open(tmp_path / ".digest") as state:
            assert state.places.get(url).gone_at is not None
        out = subprocess.run(
            [str(DIGEST), "sources", "remove", "Wire"], cwd=tmp_path, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        with State.open(tmp_path / ".digest") as state:
            assert state.places.get(url).gone_at is None
        out = subprocess.run(
            [str(DIGEST), "sources", "add", url, "--name", "Wire"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        result = run(parse_config_file(toml), NOW + timedelta(hours=2))
    assert not [p for p in result.problems if "gone" in p]
    assert server.asked["/f.xml"] == 4  # `add` checks it and the run asks it: not gone


def parse_config_file(path: Path) -> Config:
    from digest.config import load_config

    return load_config(path)
